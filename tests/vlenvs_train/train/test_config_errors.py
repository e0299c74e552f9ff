"""Config errors found before any model loads: nested sections, env id/preset/kwargs, model path and device,
out_dir, value types. Each is an InvalidConfigError naming the dotted key and the valid choices, from
``load_recipe`` and from the CLI (exit code 2), within seconds and without importing torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.train.config import (
    SECTIONS,
    EnvConfig,
    ModelConfig,
    TrainConfig,
    check_env,
    config_from_dict,
    load_recipe,
    parse_override,
)
from vlenvs_train.train.config.fields import field_types

ROOT = Path(__file__).resolve().parents[3]
RECIPE = "maze2d_tiny_cpu"

#: override -> what the error must say (the dotted key, the valid choices or the expected type)
BAD = {
    "sampler.server.bogus=1": "unknown key 'sampler.server.bogus'; valid sampler.server keys: 'base_urls', 'model'",
    "sampler.vllm.bogus=1": "unknown key 'sampler.vllm.bogus'; valid sampler.vllm keys: 'dtype', 'max_model_len'",
    "model.tiny.bogus=1": "unknown key 'model.tiny.bogus'; valid model.tiny keys: 'vocab_size', 'hidden_size'",
    "env.id=vlenvs/Nope-v0": "invalid env.id 'vlenvs/Nope-v0'.*'vlenvs/Maze2D-v0', 'vlenvs/GridWorld3D-v0', "
                             "'vlenvs/Geometry3k-v0'",
    "env.preset=huge": "invalid env.preset 'huge' for vlenvs/Maze2D-v0; valid choices: 'easy', 'medium', 'hard'",
    "env.kwargs.bogus=1": "unknown key 'env.kwargs.bogus'; valid env.kwargs keys: 'size', 'image_size'",
    "env.kwargs.size=4": r"env.kwargs: invalid size 4.*\(env vlenvs/Maze2D-v0, preset 'easy'\)",
    "env.kwargs.step_penalty='0.5'": "invalid env.kwargs.step_penalty '0.5'; expected a number",
    "env.kwargs.autoreset_mode=Later": "invalid env.kwargs.autoreset_mode 'Later'; expected one of 'NextStep'",
    "env.kwargs.num_envs=4": "'env.kwargs.num_envs': the trainer sets it",
    "model.path=/nonexistent": "invalid model.path '/nonexistent'; expected 'tiny', a model folder containing "
                               "config.json, or a Hugging Face hub id 'org/name'; no such folder",
    "model.path=./no/such/dir": "invalid model.path './no/such/dir'.*no such folder",
    "model.device=tpu": "invalid model.device 'tpu'; expected one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'",
    "model.device=cuda:x": "invalid model.device 'cuda:x'",
    "out_dir=/proc/nope": "invalid out_dir '/proc/nope'; expected a writable folder path; cannot write in",
    "grpo.iterations=abc": "invalid grpo.iterations 'abc'; expected an integer",
    "grpo.lr='1e-4'": "invalid grpo.lr '1e-4'; expected a number",
    "agent.invalid_penalty='0.5'": "invalid agent.invalid_penalty '0.5'; expected a number",
    "progress=maybe": "invalid progress 'maybe'; expected true or false",
    "sampler.vllm.max_model_len=8": r"sampler.vllm: invalid max_model_len 8; expected an integer in \[16, ",
    "sampler.vllm.mm_cache_gib=-1": r"sampler.vllm: invalid mm_cache_gib -1",
    "sampler.server.base_urls=[ftp://host]": "sampler.server: invalid base URL 'ftp://host'",
    "sampler.server.timeout_s='5'": "invalid sampler.server.timeout_s '5'; expected a number",
    "model.tiny.architecture=llama": "invalid model.tiny.architecture 'llama'; valid choices: 'qwen2_5_vl', 'qwen3_vl'",
    "model.tiny.hidden_size=0": "model.tiny: invalid hidden_size 0",
    "eval.viewer_episodes=-1": r"invalid eval.viewer_episodes -1; expected an integer in \[0, 1024\]",
    "eval.viewer_episodes=all": "invalid eval.viewer_episodes 'all'; expected an integer",
}


@pytest.mark.parametrize("override", sorted(BAD))
def test_each_bad_override_is_a_typed_error_naming_the_key(override):
    start = time.perf_counter()
    with pytest.raises(InvalidConfigError, match=BAD[override]):
        load_recipe(RECIPE, [override])
    assert time.perf_counter() - start < 5.0


def test_valid_forms_are_accepted(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    for path in ("tiny", "Qwen/Qwen2.5-VL-3B-Instruct", str(folder)):
        assert ModelConfig(path=path).path == path
    for device in ("auto", "cpu", "cuda", "cuda:3", "mps"):  # CUDA need not exist to validate
        assert ModelConfig(device=device).device == device
    cfg = load_recipe(RECIPE, ["grpo.lr=1e-4", "sft.lr=5E-3", "env.kwargs.step_penalty=0.05",
                               "env.kwargs.autoreset_mode=Disabled", "env.kwargs.image_size=[40, 48]",
                               f"out_dir={tmp_path}/new/nested/run", "sampler.server.base_urls=[http://a:1/v1]"])
    assert cfg.grpo.lr == pytest.approx(1e-4) and isinstance(cfg.grpo.lr, float) and cfg.sft.lr == 5e-3
    assert not (tmp_path / "new").exists()  # validating out_dir creates nothing
    assert EnvConfig("vlenvs/Geometry3k-v0", "medium", {"format_reward": 0.1, "topics": ["circles", "areas"]})
    assert EnvConfig("vlenvs/GridWorld3D-v0", None, {"textures": False}).preset is None


def test_invalid_model_folders(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidConfigError, match="this folder has no config.json"):
        ModelConfig(path=str(tmp_path))
    with pytest.raises(InvalidConfigError, match="this is a file, not a folder"):
        ModelConfig(path=str(tmp_path / "file"))


def test_out_dir_must_be_a_writable_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidConfigError, match="this is an existing file"):
        TrainConfig(out_dir=str(tmp_path / "file"))
    with pytest.raises(InvalidConfigError, match=f"expected a folder path; '{tmp_path / 'file'}' is a file"):
        load_recipe(RECIPE, [f"out_dir={tmp_path / 'file' / 'run'}"])
    with pytest.raises(InvalidConfigError, match="non-empty string"):
        TrainConfig(out_dir="")
    assert TrainConfig(out_dir=str(tmp_path)).out_dir == str(tmp_path)  # an existing folder
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(InvalidConfigError, match="cannot write in its nearest existing folder"):
            TrainConfig(out_dir=str(locked / "run"))


def test_yaml_exponents_are_numbers_and_quoted_numbers_strings():
    assert parse_override("grpo.lr=1e-4") == (["grpo", "lr"], 1e-4)
    assert parse_override("grpo.lr=-2E+3") == (["grpo", "lr"], -2000.0)
    assert parse_override("x='1e-4'") == (["x"], "1e-4")
    assert parse_override("x=1e") == (["x"], "1e") and parse_override("x=12") == (["x"], 12)


def test_cli_exits_2_naming_the_key(monkeypatch, capsys):
    import vlenvs_train.train.trainer as trainer
    from vlenvs_train.cli import main

    def no_training(*args, **kwargs):
        raise AssertionError("the config was accepted and training started")

    monkeypatch.setattr(trainer, "Trainer", no_training)
    for override, match in [("sampler.server.bogus=1", "'sampler.server.bogus'"),
                            ("model.device=tpu", "'cuda:N'"), ("env.id=vlenvs/Nope-v0", "'vlenvs/Maze2D-v0'")]:
        assert main(["run", override]) == 2
        err = capsys.readouterr().err
        assert err.startswith("vlenvs-train: error: ") and match in err


def test_cli_rejects_the_issues_overrides_fast_without_torch():
    """A fresh interpreter: every bad override exits 2 within seconds of start, and torch is never imported
    (so no model was loaded)."""
    overrides = ["sampler.server.bogus=1", "model.tiny.bogus=1", "env.id=vlenvs/Nope-v0", "model.path=/nonexistent",
                 "model.device=tpu", "out_dir=/proc/nope"]
    code = ("import json, sys, time\nt0 = time.perf_counter()\nfrom vlenvs_train.cli import main\nrows = []\n"
            f"for o in {overrides!r}:\n    t = time.perf_counter()\n    rc = main(['run', o])\n"
            "    rows.append((o, rc, time.perf_counter() - t))\n"
            "heavy = [m for m in ('torch', 'transformers', 'vllm') if m in sys.modules]\n"
            "print(json.dumps({'rows': rows, 'heavy': heavy, 'total': time.perf_counter() - t0}))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    for (override, rc, seconds), key in zip(result["rows"], ["sampler.server.bogus", "model.tiny.bogus", "env.id",
                                                              "model.path", "model.device", "out_dir"]):
        assert rc == 2 and seconds < 5.0, (override, rc, seconds)
        assert f"error: invalid {key}" in out.stderr or f"unknown key '{key}'" in out.stderr
    assert result["total"] < 10.0


# ---------------------------------------------------------------------------------------------------- fuzzing
def _nested_classes() -> dict[str, type]:
    from vlenvs_train.models.tiny import TinyVLMConfig
    from vlenvs_train.policies.openai_server import ServerConfig
    from vlenvs_train.policies.vllm_engine import VLLMEngineConfig
    from vlenvs.envs.maze2d.config import Maze2DConfig

    return {"sampler.vllm": VLLMEngineConfig, "sampler.server": ServerConfig, "model.tiny": TinyVLMConfig,
            "env.kwargs": Maze2DConfig}


WHERE = ["", *SECTIONS, *_nested_classes()]
KNOWN = {"": set(field_types(TrainConfig)), **{s: set(field_types(c)) for s, c in SECTIONS.items()},
         **{s: set(field_types(c)) for s, c in _nested_classes().items()},
         "env.kwargs": set(field_types(_nested_classes()["env.kwargs"])) | {"autoreset_mode", "render_mode", "copy",
                                                                          "max_episode_steps", "preset", "num_envs"}}
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(keys, inner, max_size=3)), max_leaves=6)


def _nest(where: str, key: str, value: object) -> dict:
    data: dict = {key: value}
    for part in reversed(where.split(".") if where else []):
        data = {part: data}
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(WHERE), key=keys, value=values)
def test_unknown_keys_anywhere_are_typed_errors_naming_the_dotted_key(where, key, value):
    if key in KNOWN[where] or (not where and key in SECTIONS):
        return
    dotted = f"{where}.{key}" if where else key
    with pytest.raises(InvalidConfigError, match=f"'{dotted}'"):
        config_from_dict(_nest(where, key, value))


FIELDS = [(where, key) for where in WHERE for key in sorted(KNOWN[where]) if (where or key not in SECTIONS)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=values)
def test_any_value_of_any_key_gives_a_config_or_a_typed_error(field, value, tmp_path_factory):
    where, key = field
    if key == "out_dir" and isinstance(value, str):
        value = str(tmp_path_factory.getbasetemp() / "fuzz" / value.replace("\x00", ""))
    try:
        cfg = config_from_dict(_nest(where, key, value))
    except InvalidConfigError:
        return  # a typed error; any other exception fails the test
    assert isinstance(cfg, TrainConfig)


def _of_type(hint: object) -> st.SearchStrategy:
    """Values of type ``hint`` (wrong ranges included), so the classes' own range checks are reached."""
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[_of_type(a) for a in args])
    if origin is tuple:
        inner = _of_type(args[0]) if args else scalars
        return st.lists(inner, max_size=3)
    simple = {type(None): st.none(), bool: st.booleans(), int: st.integers(-10**6, 10**6),
              float: st.floats(allow_nan=True), str: st.text(max_size=12)}
    return simple.get(hint, values)


ENV_IDS = ["vlenvs/Maze2D-v0", "vlenvs/GridWorld3D-v0", "vlenvs/Geometry3k-v0"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), env_id=st.sampled_from(ENV_IDS))
def test_well_typed_env_kwargs_give_an_env_config_or_a_typed_error(data, env_id):
    import gymnasium
    from gymnasium.envs.registration import load_env_creator

    core = load_env_creator(gymnasium.spec(env_id).vector_entry_point).core_cls
    hints = field_types(core.config_cls)
    chosen = data.draw(st.lists(st.sampled_from(sorted(hints)), max_size=3, unique=True))
    kwargs = {k: data.draw(_of_type(hints[k])) for k in chosen}
    preset = data.draw(st.one_of(st.none(), st.sampled_from(sorted(core.presets))))
    try:
        built = check_env(env_id, preset, kwargs)
    except InvalidConfigError:
        return
    assert isinstance(built, core.config_cls) and EnvConfig(env_id, preset, kwargs).kwargs == kwargs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), where=st.sampled_from(["sampler.vllm", "sampler.server", "model.tiny"]))
def test_well_typed_nested_sections_give_a_config_or_a_typed_error(data, where):
    hints = field_types(_nested_classes()[where])
    chosen = data.draw(st.lists(st.sampled_from(sorted(hints)), max_size=3, unique=True))
    section = {k: data.draw(_of_type(hints[k])) for k in chosen}
    try:
        cfg = config_from_dict(_nest(*where.split("."), section))
    except InvalidConfigError:
        return
    assert getattr(getattr(cfg, where.split(".")[0]), where.split(".")[1]) == section
