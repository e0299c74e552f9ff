"""The run end to end on a tiny problem: stages, metrics files, plots, GIF, checkpoints and --resume."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs.core.errors import InvalidConfigError  # noqa: E402
from vlenvs_train.cli import main  # noqa: E402
from vlenvs_train.train.config import load_recipe  # noqa: E402
from vlenvs_train.train.trainer import STAGES, Trainer  # noqa: E402

SMALL = ["sft.num_episodes=4", "sft.epochs=1", "grpo.iterations=3", "grpo.groups=2", "grpo.group_size=2",
         "eval.episodes=4", "eval.quick_episodes=2", "eval.every=2", "eval.batch=4", "eval.gif_episodes=2",
         "checkpoint_every=1", "env.kwargs.max_steps=3", "progress=false", "tensorboard=false",
         "sampler.max_new_tokens=4"]


def small_config(tmp_path, tiny_model_path, name="run", extra=()):
    return load_recipe("maze2d_tiny_cpu", [*SMALL, f"out_dir={tmp_path / name}", f"model.path={tiny_model_path}",
                                           *extra])


def rows_without_times(path):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if "second" not in k and "per_s" not in k} for r in rows]


class Killed(Exception):
    pass


def kill_and_resume(monkeypatch, config, stages=STAGES) -> Trainer:
    """Run ``config``, killed after logging GRPO step 2 but before its checkpoint; then resume it (not run yet)."""
    real_save = Trainer.save

    def dying_save(self):
        if self.state["rl_step"] == 2 and "rl" not in self.state["done"]:
            raise Killed
        return real_save(self)

    monkeypatch.setattr(Trainer, "save", dying_save)
    with pytest.raises(Killed):
        Trainer(config, stages).run()
    monkeypatch.setattr(Trainer, "save", real_save)
    resumed = Trainer(config, stages, resume=True)
    assert resumed.state["rl_step"] == 1
    return resumed


def test_run_writes_everything_and_resume_continues_a_killed_run_exactly(tmp_path, tiny_model_path, monkeypatch):
    full = Trainer(small_config(tmp_path, tiny_model_path, "full"))
    results = full.run()
    out = full.out
    assert {"eval_init", "eval_sft", "quick", "eval_final"} <= set(results)
    for f in ("metrics.jsonl", "train.csv", "eval.csv", "sft.csv", "learning_curve.png", "episodes.gif",
              "config.yaml"):
        assert (out / f).exists(), f
    rows = rows_without_times(out / "metrics.jsonl")
    assert [r["step"] for r in rows if r["kind"] == "train"] == [1, 2, 3]
    assert all(0 <= r["eval_success_rate"] <= 1 for r in rows if r["kind"] == "eval")

    # the same run, killed after logging GRPO step 2 but before its checkpoint, then resumed
    resumed = kill_and_resume(monkeypatch, small_config(tmp_path, tiny_model_path, "killed"))
    resumed.run()
    assert rows_without_times(resumed.out / "metrics.jsonl") == rows
    # the viewers: eval_init's written before the kill, eval_final's by the resumed run; as the full run's
    for stage in ("eval_init", "eval_sft", "eval_final"):
        assert (resumed.out / f"viewer_{stage}.html").read_bytes() == (out / f"viewer_{stage}.html").read_bytes()
    assert list(resumed.out.glob("*.tmp")) == []
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_resume_without_checkpoint_is_an_error(tmp_path, tiny_model_path):
    with pytest.raises(InvalidConfigError, match="no checkpoint"):
        Trainer(small_config(tmp_path, tiny_model_path, "empty"), resume=True)


def test_cli_evaluates_scripted_baselines_and_reports_bad_input(tmp_path, capsys):
    args = ["eval", "--recipe", "maze2d_tiny_cpu", "--policy", "oracle", "eval.episodes=8", "eval.batch=8"]
    assert main(args) == 0
    oracle = json.loads(capsys.readouterr().out)
    assert oracle["eval_success_rate"] == 1.0 and oracle["eval_invalid_rate"] == 0.0
    assert main([*args[:4], "random", "eval.episodes=8"]) == 0
    random = json.loads(capsys.readouterr().out)
    assert random["eval_success_rate"] < 1.0 and random["eval_mean_length"] > oracle["eval_mean_length"]
    assert main(["recipes"]) == 0 and "maze2d_tiny_cpu" in capsys.readouterr().out
    assert main(["rl", "--recipe", "maze2d_tiny_cpu", "grpo.lr=fast"]) == 2
    assert "grpo.lr" in capsys.readouterr().err


def test_sft_then_rl_from_its_weights(tmp_path, tiny_model_path):
    sft = Trainer(small_config(tmp_path, tiny_model_path, "sft", ["sft.epochs=2"]), ["sft"])
    sft.run()
    rl = Trainer(small_config(tmp_path, tiny_model_path, "rl", ["grpo.iterations=1"]), ["rl"], init=sft.out)
    for a, b in zip(sft.model.parameters(), rl.model.parameters()):
        assert torch.equal(a, b)
    rl.run()
    used = rl.logger.rows("train")[0]["turns_used"]
    changed = not all(torch.equal(a, b) for a, b in zip(sft.model.parameters(), rl.model.parameters()))
    assert changed == (used > 0)  # the update moves the weights exactly when some group had a signal
