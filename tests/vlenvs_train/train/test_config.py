"""Configs and recipes: every bundled recipe validates; overrides; typed errors naming the valid choices."""

from __future__ import annotations

import pytest

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.rollout.pipeline import PipelineConfig
from vlenvs_train.train.config import (
    GRPOConfig,
    RolloutConfig,
    SFTConfig,
    TrainConfig,
    config_from_dict,
    load_recipe,
    parse_override,
    recipe_names,
    save_config,
)


def test_every_bundled_recipe_loads_and_validates():
    names = recipe_names()
    assert "maze2d_tiny_cpu" in names and len(names) >= 4
    for name in names:
        cfg = load_recipe(name)
        assert isinstance(cfg, TrainConfig) and cfg.name == name
        assert cfg.env.id.startswith("vlenvs/")


def test_overrides_reach_nested_fields_and_parse_values():
    cfg = load_recipe("maze2d_tiny_cpu", ["grpo.iterations=3", "grpo.lr=1e-4", "env.kwargs.image_size=48",
                                          "tensorboard=false", "out_dir=/tmp/x"])
    assert cfg.grpo.iterations == 3 and cfg.grpo.lr == pytest.approx(1e-4)
    assert cfg.env.kwargs["image_size"] == 48 and cfg.env.kwargs["max_steps"] == 8
    assert cfg.tensorboard is False and cfg.out_dir == "/tmp/x"
    assert parse_override("sampler.vllm.extra={a: 1}") == (["sampler", "vllm", "extra"], {"a": 1})


@pytest.mark.parametrize("overrides, match", [
    (["grpo.itterations=3"], "unknown key 'grpo.itterations'; valid grpo keys: 'iterations'"),
    (["grpo.is_level=word"], "'word'.*token"),
    (["grpo.group_size=1"], "group_size"),
    (["sampler.backend=tgi"], "'tgi'.*vllm_engine"),
    (["sft.source=jsonl"], "sft.dataset"),
    (["nonsense"], "KEY=VALUE"),
    (["trainer.lr=1"], "unknown key 'trainer'; valid recipe keys: 'name', 'out_dir'"),
    (["rollout.backend=threads"], "invalid rollout.backend 'threads'; valid choices: 'sync'"),
    (["rollout.num_workers=0"], r"rollout: invalid num_workers 0; expected an integer in \[1, "),
    (["rollout.num_workers=two"], "invalid rollout.num_workers 'two'; expected an integer"),
    (["rollout.num_shards=1"], "rollout: num_shards=1 < num_workers=2"),
    (["rollout.policy_concurrency=0"], "rollout: invalid policy_concurrency 0"),
    (["rollout.max_worker_restarts=-1"], "rollout: invalid max_worker_restarts -1"),
    (["rollout.worker_timeout_s=fast"], "invalid rollout.worker_timeout_s 'fast'; expected a number"),
    (["rollout.ray_address=6379"], "invalid rollout.ray_address 6379; expected null or a string"),
    (["rollout.ray_address=''"], "invalid rollout.ray_address ''; expected null or a Ray address"),
    (["grpo.loss_agg=seq_mean"], "invalid grpo.loss_agg 'seq_mean'; valid choices: 'token_mean', 'turn_mean'"),
    (["grpo.norm_tokens=0"], "grpo.norm_tokens"),
    (["eval.test_kwargs={bogus: 1}"], "eval.test_kwargs: .*unknown key 'env.kwargs.bogus'"),
    (["eval.test_kwargs=test"], "eval.test_kwargs"),
    (["rollout.workers=2"], "unknown key 'rollout.workers'; valid rollout keys: 'backend', 'num_workers'"),
    (["rollout=process"], "section 'rollout' must be a mapping"),
    (["rollout.backend=process", "rollout.policy_concurrency=4"], "needs sampler.backend='openai_server'"),
    (["rollout.backend=inline", "rollout.num_shards=65"], "num_shards=65 is more than the 64 envs of a rollout call"),
    (["rollout.backend=inline", "rollout.num_shards=8", "eval.episodes=205"],  # the last chunk of 5 envs
     r"num_shards=8 is more than the 5 envs of a rollout call \(eval.episodes=205 in eval.batch=100\)"),
])
def test_bad_overrides_raise_typed_errors(overrides, match):
    with pytest.raises(InvalidConfigError, match=match):
        load_recipe("maze2d_tiny_cpu", overrides)


def test_unknown_recipe_names_the_bundled_ones(tmp_path):
    with pytest.raises(InvalidConfigError, match="maze2d_tiny_cpu"):
        load_recipe("no_such_recipe")
    with pytest.raises(InvalidConfigError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")


def test_component_validation():
    with pytest.raises(InvalidConfigError, match="clip_low"):
        GRPOConfig(clip_low=-0.1)
    with pytest.raises(InvalidConfigError, match="advantage"):
        GRPOConfig(advantage="step")
    with pytest.raises(InvalidConfigError, match="lr"):
        SFTConfig(lr=float("nan"))
    # servers train (weights synced through a shared folder), so GRPO accepts them
    assert config_from_dict({"sampler": {"backend": "openai_server"}, "grpo": {"iterations": 2}})


def test_rollout_section_defaults_to_sync_and_maps_onto_the_pipeline_config(tmp_path):
    assert TrainConfig().rollout == RolloutConfig() and RolloutConfig().pipeline_config() is None
    assert all(load_recipe(name).rollout.backend == "sync" for name in recipe_names())
    cfg = load_recipe("maze2d_tiny_cpu", ["rollout.backend=ray", "rollout.num_workers=3", "rollout.num_shards=6",
                                          "rollout.ray_address=auto", "rollout.max_worker_restarts=0",
                                          "rollout.worker_timeout_s=1e2"])
    want = PipelineConfig(backend="ray", num_workers=3, num_shards=6, ray_address="auto", max_worker_restarts=0,
                          worker_timeout_s=100.0)
    assert cfg.rollout.pipeline_config() == want
    auto = load_recipe("maze2d_tiny_cpu", ["rollout.backend=process", "rollout.num_shards=null"]).rollout
    assert auto.pipeline_config() == PipelineConfig(backend="process")  # None: the pipeline's own default
    # the section round-trips through to_dict (checkpoints) and config.yaml
    assert config_from_dict(cfg.to_dict()) == cfg
    save_config(cfg, tmp_path / "config.yaml")
    assert load_recipe(tmp_path / "config.yaml") == cfg
    # several shards of one server policy: only the server sampler takes concurrent calls
    served = {"sampler": {"backend": "openai_server"}, "grpo": {"iterations": 0},
              "rollout": {"backend": "process", "policy_concurrency": 8}}
    assert config_from_dict(served).rollout.pipeline_config().policy_concurrency == 8


def test_every_section_field_has_a_docstring_and_every_module_is_small():
    import ast
    from pathlib import Path

    import vlenvs_train.train.config as package

    for path in Path(package.__file__).parent.glob("*.py"):
        source = path.read_text()
        assert len(source.splitlines()) < 500, path
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef) and any(getattr(d, "id", getattr(d, "attr", None)) == "dataclass"
                                                      or getattr(getattr(d, "func", None), "id", None) == "dataclass"
                                                      for d in node.decorator_list):
                body = node.body
                for i, stmt in enumerate(body):
                    if isinstance(stmt, ast.AnnAssign):
                        doc = body[i + 1] if i + 1 < len(body) else None
                        assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant), \
                            f"{path.name}: {node.name}.{stmt.target.id} has no docstring"
