"""Command-line parsing and validation of an evaluation run: typed errors before any work."""

from __future__ import annotations

import json

import pytest

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.evaluation.cli import build_parser, config_from_args, main
from vlenvs_train.evaluation.config import (
    EnvEntry,
    EvalRunConfig,
    PolicyConfig,
    ResumeMismatchError,
    check_same_identity,
    load_env_file,
)


def parse(*argv):
    return config_from_args(build_parser().parse_args(list(argv)))


def test_preset_and_kwargs_belong_to_the_env_before_them():
    config = parse("--env", "vlenvs/Maze2D-v0", "--preset", "easy", "--env-kwarg", "size=9",
                   "--env-kwarg", "start_goal=random", "--env", "vlenvs/GridWorld3D-v0", "--policy", "oracle")
    assert config.envs == (EnvEntry("vlenvs/Maze2D-v0", "easy", {"size": 9, "start_goal": "random"}),
                           EnvEntry("vlenvs/GridWorld3D-v0"))
    assert [e.key for e in config.envs] == ["Maze2D-v0[easy,size=9,start_goal=random]", "GridWorld3D-v0"]
    assert config.policy.temperature == 0.0  # greedy by default
    assert config.seeds_of("E") == list(range(10_000_000, 10_000_032))


def test_a_preset_without_an_env_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--preset", "easy"])
    assert "must follow the --env" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_env_file(tmp_path, suffix):
    envs = [{"id": "vlenvs/Maze2D-v0", "preset": "easy", "kwargs": {"size": 7}}, "vlenvs/GridWorld3D-v0"]
    path = tmp_path / f"envs.{suffix}"
    path.write_text(json.dumps({"envs": envs}))
    assert load_env_file(path) == [EnvEntry("vlenvs/Maze2D-v0", "easy", {"size": 7}), EnvEntry("vlenvs/GridWorld3D-v0")]
    path.write_text(json.dumps([{"id": "vlenvs/Maze2D-v0", "presets": "easy"}]))
    with pytest.raises(InvalidConfigError, match="keys are id"):
        load_env_file(path)


def test_policy_is_inferred_and_validated():
    assert parse("--env", "vlenvs/Maze2D-v0", "--base-url", "http://h:1/v1").policy.kind == "openai"
    assert parse("--env", "vlenvs/Maze2D-v0", "--model", "tiny").policy.kind == "hf"
    with pytest.raises(InvalidConfigError, match="--policy"):
        parse("--env", "vlenvs/Maze2D-v0")
    with pytest.raises(InvalidConfigError, match="needs --base-url"):
        PolicyConfig("openai")
    with pytest.raises(InvalidConfigError, match="needs --model"):
        PolicyConfig("hf")
    with pytest.raises(InvalidConfigError, match="'gpt'"):
        PolicyConfig("gpt")
    with pytest.raises(InvalidConfigError, match="concurrency"):
        PolicyConfig("oracle", concurrency=0)


def test_duplicate_envs_and_empty_runs_are_refused():
    with pytest.raises(InvalidConfigError, match="listed twice"):
        EvalRunConfig(envs=(EnvEntry("vlenvs/Maze2D-v0"), EnvEntry("vlenvs/Maze2D-v0")))
    with pytest.raises(InvalidConfigError, match="no env"):
        EvalRunConfig(envs=())


def test_bad_env_id_and_kwarg_fail_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["--env", "vlenvs/Maze3D-v0", "--policy", "oracle", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'vlenvs/Maze3D-v0'" in err and "vlenvs/Maze2D-v0" in err  # names the bad id and the valid ones
    assert main(["--env", "vlenvs/Maze2D-v0", "--env-kwarg", "sise=9", "--policy", "oracle", "--out", str(out)]) == 2
    assert "sise" in capsys.readouterr().err
    assert not (out / "episodes.jsonl").exists() or not (out / "episodes.jsonl").read_text()


def test_identity_mismatch_names_the_argument():
    a = EvalRunConfig(envs=(EnvEntry("vlenvs/Maze2D-v0"),)).identity()
    b = EvalRunConfig(envs=(EnvEntry("vlenvs/Maze2D-v0"),), policy=PolicyConfig(temperature=0.7)).identity()
    check_same_identity(a, dict(a), "out")
    with pytest.raises(ResumeMismatchError, match=r"--temperature 0\.0, but this run has --temperature 0\.7"):
        check_same_identity(a, b, "out")
    # envs, seeds and episode counts only select episodes: not part of the identity
    c = EvalRunConfig(envs=(EnvEntry("vlenvs/GridWorld3D-v0"),), episodes=5, seed=3).identity()
    assert c == a
