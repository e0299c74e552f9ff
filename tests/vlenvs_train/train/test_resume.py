"""Run folders: a fresh run never writes into another run, --resume refuses config changes that alter training."""

from __future__ import annotations

import json

import pytest
import yaml

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs.core.errors import InvalidConfigError  # noqa: E402
from vlenvs_train.train import backends, checkpoint  # noqa: E402
from vlenvs_train.train.resume import (  # noqa: E402
    SAFE_TO_CHANGE,
    ConfigChangeError,
    RunFolderError,
    check_resume_config,
    config_changes,
)
from vlenvs_train.train.trainer import Trainer  # noqa: E402

from .test_trainer import Killed, small_config  # noqa: E402

RL = ["rl"]
SIGNAL = ["agent.fallback=random", "env.kwargs.max_steps=5"]


def test_config_changes_are_dotted_and_the_rules_are_strict():
    old = {"seed": 1, "grpo": {"lr": 1e-3, "groups": 8}, "env": {"kwargs": {"image_size": 40}}, "eval": {"every": 5}}
    new = {"seed": 1, "grpo": {"lr": 0.5, "groups": 3}, "env": {"kwargs": {"image_size": 48, "max_steps": 3}},
           "eval": {"every": 2}}
    assert config_changes(old, new) == {"env.kwargs.image_size": (40, 48), "env.kwargs.max_steps": ("<absent>", 3),
                                        "eval.every": (5, 2), "grpo.groups": (8, 3), "grpo.lr": (1e-3, 0.5)}
    with pytest.raises(ConfigChangeError) as e:
        check_resume_config(old, new)
    for line in ("grpo.lr: 0.001 -> 0.5", "grpo.groups: 8 -> 3", "env.kwargs.image_size: 40 -> 48"):
        assert line in str(e.value)
    assert "eval.every" not in str(e.value).split("Keys that may")[0]  # safe: not listed as a problem
    assert check_resume_config(old, new, allow_change=True) == config_changes(old, new)
    assert check_resume_config(old, {**old, "eval": {"every": 9}}) == {"eval.every": (5, 9)}
    assert check_resume_config(old, {**old, "eval": {"every": 5, "viewer_episodes": 0}}) == {
        "eval.viewer_episodes": ("<absent>", 0)}  # output only: safe
    with pytest.raises(ConfigChangeError, match="seed: 1 -> 2"):
        check_resume_config(old, {**old, "seed": 2}, allow_change=True)  # cannot take effect: never allowed
    for key in ("grpo.", "sft.", "sampler.temperature", "agent.", "env."):
        assert not any(s.startswith(key) for s in SAFE_TO_CHANGE)


def no_model_load(m):
    """Make loading a model fail the test (the typed errors must come before any)."""
    m.setattr(backends, "load_trainable", lambda *a: (_ for _ in ()).throw(AssertionError("a model was loaded")))


def run_killed(config, stages, kill_at):
    """Run until GRPO step ``kill_at`` is logged, then die before its checkpoint."""
    real = Trainer.save

    def dying(self):
        if self.state["rl_step"] == kill_at and "rl" not in self.state["done"]:
            raise Killed
        return real(self)

    Trainer.save = dying
    try:
        with pytest.raises(Killed):
            Trainer(config, stages).run()
    finally:
        Trainer.save = real


def test_fresh_run_refuses_a_used_folder_and_overwrite_replaces_the_old_run(tmp_path, tiny_model_path, monkeypatch):
    old = small_config(tmp_path, tiny_model_path, "r", ["sft.epochs=1"])
    Trainer(old, ["eval_init", "sft"]).run()  # its tags (2 stages done) are larger than the new run's (1)
    assert (tmp_path / "r" / "viewer_eval_init.html").exists()
    new = small_config(tmp_path, tiny_model_path, "r", ["sft.epochs=2"])
    with monkeypatch.context() as m:
        no_model_load(m)
        with pytest.raises(RunFolderError, match=r"--resume.*out_dir.*--overwrite"):
            Trainer(new, ["sft"])
    trainer = Trainer(new, ["sft"], overwrite=True)
    trainer.run()
    # only the new run's checkpoint: none deleted for being older than the old run's, none of the old run left
    found = checkpoint.list_checkpoints(trainer.out)
    assert len(found) == 1
    assert checkpoint.load_checkpoint(found[0])["state"]["done"] == ["sft"]
    assert [r["kind"] for r in trainer.logger.rows()] == ["sft", "sft"]  # the old run's rows are gone
    assert list(trainer.out.glob("viewer_*")) == []  # and its evaluation's viewer
    resumed = Trainer(new, ["sft"], resume=True)
    assert resumed.state["sft_epoch"] == 2 and resumed.state["done"] == ["sft"]


def test_resume_refuses_training_changes_first_and_allows_safe_ones(tmp_path, tiny_model_path, monkeypatch):
    config = small_config(tmp_path, tiny_model_path, "r", ["grpo.lr=0.001"])
    Trainer(config, ["sft"]).run()
    changed = small_config(tmp_path, tiny_model_path, "r", ["grpo.lr=0.5", "grpo.groups=3", "env.kwargs.image_size=48"])
    with monkeypatch.context() as m:
        no_model_load(m)
        with pytest.raises(ConfigChangeError) as e:
            Trainer(changed, ["sft"], resume=True)
        with pytest.raises(InvalidConfigError, match="--resume and --overwrite contradict"):
            Trainer(config, ["sft"], resume=True, overwrite=True)
    for line in ("grpo.lr: 0.001 -> 0.5", "grpo.groups: 2 -> 3", "env.kwargs.image_size: 40 -> 48"):
        assert line in str(e.value)
    safe = small_config(tmp_path, tiny_model_path, "r", ["grpo.lr=0.001", "eval.every=7", "checkpoint_every=3",
                                                           "keep_checkpoints=4", "progress=true"])
    Trainer(safe, ["sft"], resume=True)
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["eval"]["every"] == 7


def test_allowed_change_takes_effect_and_is_recorded(tmp_path, tiny_model_path):
    config = small_config(tmp_path, tiny_model_path, "r", [*SIGNAL, "grpo.lr=0.001"])
    run_killed(config, RL, kill_at=2)
    changed = small_config(tmp_path, tiny_model_path, "r", [*SIGNAL, "grpo.lr=0.25", "grpo.weight_decay=0.5"])
    trainer = Trainer(changed, RL, resume=True, allow_config_change=True)
    assert trainer.state["rl_step"] == 1 and trainer.phase == "rl"
    assert {(g["lr"], g["weight_decay"]) for g in trainer.optimizer.param_groups} == {(0.25, 0.5)}
    assert yaml.safe_load((trainer.out / "config.yaml").read_text())["grpo"]["lr"] == 0.25
    record = [json.loads(line) for line in (trainer.out / "config_changes.jsonl").read_text().splitlines()]
    assert record[0]["changes"] == {"grpo.lr": {"old": 0.001, "new": 0.25},
                                    "grpo.weight_decay": {"old": 0.0, "new": 0.5}}
    trainer.run()
    assert checkpoint.load_checkpoint(checkpoint.latest_checkpoint(trainer.out))["config"]["grpo"]["lr"] == 0.25


def test_cli_flags_reach_the_trainer(tmp_path, tiny_model_path, capsys):
    from vlenvs_train.cli import main

    args = ["sft", "--recipe", "maze2d_tiny_cpu", f"out_dir={tmp_path / 'r'}", f"model.path={tiny_model_path}",
            "sft.num_episodes=4", "sft.epochs=1", "eval.episodes=2", "eval.batch=2", "progress=false",
            "tensorboard=false", "env.kwargs.max_steps=3"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2 and "--overwrite" in capsys.readouterr().err
    assert main([*args, "sft.lr=0.5", "--resume"]) == 2 and "sft.lr: 0.001 -> 0.5" in capsys.readouterr().err
    # SFT is finished: a new SFT learning rate could not take effect, so even the flag does not apply it
    assert main([*args, "sft.lr=0.5", "--resume", "--allow-config-change"]) == 2
    assert "that stage is finished" in capsys.readouterr().err
    assert main([*args, "grpo.lr=0.5", "--resume", "--allow-config-change"]) == 0
    assert (tmp_path / "r" / "config_changes.jsonl").exists()
    assert main([*args, "--overwrite"]) == 0 and not (tmp_path / "r" / "config_changes.jsonl").exists()


def test_changes_that_cannot_take_effect_where_the_run_stands_are_refused():
    """--allow-config-change never leaves config.yaml saying what did not run."""
    from vlenvs_train.train.resume import check_stage_changes

    done_sft = {"done": ["eval_init", "sft"], "rl_step": 3}
    check_stage_changes({"grpo.lr": (1e-3, 1e-4), "eval.every": (5, 2)}, done_sft, has_reference=False)
    with pytest.raises(ConfigChangeError, match=r"sft.lr: 0.001 -> 0.5 \(that stage is finished"):
        check_stage_changes({"sft.lr": (1e-3, 0.5)}, done_sft, has_reference=False)
    finished = {"done": ["sft", "rl", "eval_final"], "rl_step": 3}
    with pytest.raises(ConfigChangeError, match=r"grpo.iterations: 3 -> 5 \(that stage is finished.*--init"):
        check_stage_changes({"grpo.iterations": (3, 5)}, finished, has_reference=False)
    with pytest.raises(ConfigChangeError, match="3 iterations have already run"):
        check_stage_changes({"grpo.iterations": (8, 2)}, done_sft, has_reference=False)
    with pytest.raises(ConfigChangeError, match="without a KL reference"):
        check_stage_changes({"grpo.kl_coef": (0.0, 0.1)}, done_sft, has_reference=False)
    check_stage_changes({"grpo.kl_coef": (0.0, 0.1)}, {"done": ["sft"], "rl_step": 0}, has_reference=False)
    check_stage_changes({"grpo.kl_coef": (0.1, 0.2)}, done_sft, has_reference=True)
    assert "torch_threads" not in SAFE_TO_CHANGE  # it can change float summation order: not bit-identical


def test_cli_refuses_a_used_run_folder_before_importing_torch(tmp_path):
    import subprocess
    import sys

    run = tmp_path / "run"
    (run / "checkpoints" / "step_00000001").mkdir(parents=True)
    (run / "checkpoints" / "step_00000001" / "manifest.json").write_text("{}")
    code = ("import sys; from vlenvs_train.cli import main; rc = main(['run', 'out_dir=%s']); "
            "print(rc, 'torch' in sys.modules)" % run)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["2", "False"], out.stdout + out.stderr
    assert "already holds a run" in out.stderr and "--overwrite" in out.stderr
