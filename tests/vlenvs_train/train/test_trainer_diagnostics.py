"""GRPO's per-iteration diagnostics in the train rows (recomputed here from the episodes the trainer played), the
learning-curve panels, and the test-env evaluations of ``eval.test_kwargs``."""

from __future__ import annotations

import csv

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.algos.grpo import turn_advantages  # noqa: E402
from vlenvs_train.train import trainer as trainer_module  # noqa: E402
from vlenvs_train.train.config import load_recipe  # noqa: E402
from vlenvs_train.train.plots import learning_curve  # noqa: E402
from vlenvs_train.train.trainer import Trainer  # noqa: E402

from tests.vlenvs_train.train.test_trainer import SMALL  # noqa: E402

UPDATE_KEYS = ("loss", "grad_norm", "clip_frac", "is_weight", "is_weight_max", "kl", "entropy")


def test_train_rows_log_the_diagnostics_of_what_was_played(tmp_path, tiny_model_path, monkeypatch):
    played, updates = [], []
    real_play, real_update = trainer_module.play_seeds, trainer_module.grpo_update

    def play(*args, **kw):
        played.append(real_play(*args, **kw))
        return played[-1]

    def update(*args, **kw):
        updates.append((kw, real_update(*args, **kw)))
        return updates[-1][1]

    monkeypatch.setattr(trainer_module, "play_seeds", play)
    monkeypatch.setattr(trainer_module, "grpo_update", update)
    config = load_recipe("maze2d_tiny_cpu", [*SMALL, f"out_dir={tmp_path / 'run'}", f"model.path={tiny_model_path}",
                                             "grpo.iterations=4", "grpo.groups=3", "grpo.group_size=3",
                                             "grpo.loss_agg=episode_mean", "sampler.max_new_tokens=3"])
    trainer = Trainer(config, ["rl"])
    trainer.run()
    rows = trainer.logger.rows("train")
    assert len(rows) == len(played) == len(updates) == 4
    for row, episodes, (kw, stats) in zip(rows, played, updates):
        returns = np.array([e.total_reward for e in episodes])
        groups = np.arange(len(episodes)) // 3
        signal = np.mean([np.ptp(returns[groups == g]) > 0 for g in range(3)])
        adv = np.concatenate(turn_advantages([[r.reward for r in e.records] for e in episodes], groups, "episode",
                                                 scale=config.grpo.advantage_scale))
        replies = [r.output for e in episodes for r in e.records]
        assert row["signal_frac"] == pytest.approx(signal)
        assert row["adv_abs_mean"] == pytest.approx(np.abs(adv).mean())
        assert row["reply_tokens"] == pytest.approx(np.mean([len(o.response_ids) for o in replies]))
        assert row["invalid_rate"] == pytest.approx(sum(e.invalid_count for e in episodes) / len(replies))
        assert kw["episodes"] == [k for k, e in enumerate(episodes) for _ in e.records]
        assert row["turns_used"] == sum(1 for a, o in zip(adv, replies) if a != 0 and len(o.response_ids))
        if row["turns_used"]:
            for k in UPDATE_KEYS:
                assert row[k] == pytest.approx(stats[k])
            assert 0 < row["entropy"] <= np.log(trainer.model.get_output_embeddings().weight.shape[0])
            assert row["is_weight"] == pytest.approx(1.0) and row["is_weight_max"] == pytest.approx(1.0)
        else:
            assert not set(UPDATE_KEYS) & set(row)
    header = next(csv.reader((trainer.out / "train.csv").open()))
    assert {"signal_frac", "adv_abs_mean", "reply_tokens", "invalid_rate", *UPDATE_KEYS} <= set(header)
    assert any(r["turns_used"] for r in rows), "no iteration with signal: the update statistics went untested"


def test_learning_curve_draws_every_diagnostic_and_tolerates_missing_ones(tmp_path):
    rows = [{"kind": "train", "step": s, "success_rate": 0.5, "mean_return": 0.4, "invalid_rate": 0.1,
             "reply_tokens": 3.0, "signal_frac": 0.5, "adv_abs_mean": 0.8, "turns_used": 4.0,
             **({"is_weight": 1.0, "is_weight_max": 1.2, "clip_frac": 0.1, "entropy": 2.0} if s != 2 else {})}
            for s in (1, 2, 3)]
    rows += [{"kind": "eval", "step": 3, "stage": stage, "eval_success_rate": 0.7, "eval_mean_return": 0.7,
              "eval_invalid_rate": 0.0} for stage in ("eval_final", "eval_final_test")]
    import matplotlib.pyplot as plt

    drawn = {}
    real_savefig = plt.Figure.savefig

    def savefig(fig, *args, **kw):
        drawn.update({ax.get_title(): [len(line.get_xdata()) for line in ax.get_lines()] for ax in fig.axes})
        return real_savefig(fig, *args, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plt.Figure, "savefig", savefig)
        assert learning_curve(rows, tmp_path / "c.png").stat().st_size > 0
    assert drawn["learning signal"] == [3, 3] and drawn["importance weight"] == [2, 2]
    assert drawn["policy entropy (nats/token)"] == [2] and drawn["PPO clip fraction"] == [2]
    assert drawn["success rate"] == [3, 1, 1]  # train line, held-out eval, test-env eval
    assert drawn["reply length (tokens)"] == [3]


def test_test_kwargs_add_a_test_env_evaluation_after_sft_and_grpo(tmp_path, tiny_model_path):
    config = load_recipe("maze2d_tiny_cpu", [*SMALL, f"out_dir={tmp_path / 'run'}", f"model.path={tiny_model_path}",
                                             "grpo.iterations=1", "eval.every=0", "eval.test_kwargs={max_steps: 1}"])
    results = Trainer(config).run()
    assert {"eval_init", "eval_sft", "eval_sft_test", "eval_final", "eval_final_test"} <= set(results)
    assert "eval_init_test" not in results
    for stage in ("eval_sft", "eval_final"):  # the test env truncates after one step, the training env after 3
        assert results[f"{stage}_test"]["eval_mean_length"] == 1.0
        assert results[f"{stage}_test"]["eval_episodes"] == results[stage]["eval_episodes"]


def test_split_passes_through_env_kwargs_when_the_env_has_it():
    config = load_recipe("maze2d_tiny_cpu", ["env.kwargs.split=train", "eval.test_kwargs={split: test}"])
    assert config.env.kwargs["split"] == "train" and config.test_env().kwargs["split"] == "test"


def test_token_sum_norm_constant_is_the_most_tokens_an_episode_can_have(tmp_path, tiny_model_path):
    def trainer(extra):
        return Trainer(load_recipe("maze2d_tiny_cpu", [*SMALL, f"out_dir={tmp_path / str(len(extra))}",
                                                       f"model.path={tiny_model_path}", *extra]), ["rl"])

    # SMALL: sampler.max_new_tokens=4, env.kwargs.max_steps=3
    assert trainer(["grpo.loss_agg=token_sum_norm"])._norm_tokens() == 4 * 3
    assert trainer(["grpo.loss_agg=token_sum_norm", "grpo.norm_tokens=50"])._norm_tokens() == 50
    assert trainer(["grpo.loss_agg=token_mean"])._norm_tokens() is None  # only token_sum_norm has a constant
