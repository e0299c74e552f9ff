"""benchmarks/grpo_probe.py: the curve statistics (synthetic metrics), the update statistics, and one tiny
instrumented GRPO iteration end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.grpo_probe import curve_stats, lag1_autocorrelation, main, read_metrics, update_stats


def test_lag1_autocorrelation_tells_drift_from_independent_swings():
    rng = np.random.default_rng(0)
    assert abs(lag1_autocorrelation(rng.random(2000))) < 0.1  # independent draws
    walk = np.cumsum(rng.normal(size=2000))
    assert lag1_autocorrelation(walk) > 0.9  # a drifting policy
    assert lag1_autocorrelation([1, 0, 1, 0, 1, 0]) == pytest.approx(-1.0)
    assert math.isnan(lag1_autocorrelation([0.5, 0.5, 0.5])) and math.isnan(lag1_autocorrelation([1, 2]))


def test_curve_stats_of_a_run(tmp_path):
    rows = [{"kind": "eval", "eval_success_rate": 0.9}]
    rows += [{"kind": "train", "success_rate": s, "signal_frac": 0.25, "entropy": 0.1} for s in [0.2, 0.4] * 5]
    rows += [{"kind": "train", "success_rate": 0.8}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    s = curve_stats(read_metrics(tmp_path), window=2)
    assert s["iterations"] == 11 and s["first"] == pytest.approx(0.3) and s["last"] == pytest.approx(0.6)
    assert s["min"] == 0.2 and s["max"] == 0.8 and s["signal"] == 0.25 and s["entropy"] == 0.1
    assert s["lag1"] < 0  # alternating swings
    with pytest.raises(ValueError, match="no GRPO iterations"):
        curve_stats(rows[:1])
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        read_metrics(tmp_path / "nope")


def test_update_stats_by_advantage_sign():
    before = [np.array([-1.0, -1.0]), np.array([-2.0]), np.array([-0.5])]
    after = [np.array([-0.5, -1.0]), np.array([-2.5]), np.array([-0.5])]
    s = update_stats([1.0, -1.0, 0.0], before, after)
    assert s["turns"] == 3 and s["signal_turns"] == 2
    assert s["pos"] == pytest.approx(0.5) and s["neg"] == pytest.approx(-0.5) and s["zero"] == 0.0
    assert s["corr"] == pytest.approx(1.0)
    assert math.isnan(update_stats([0.0], before[:1], after[:1])["corr"])


def test_one_instrumented_iteration_end_to_end(tmp_path, capsys):
    main(["update", "--recipe", "maze2d_tiny_cpu", "grpo.iterations=1", "grpo.groups=2", "grpo.group_size=2",
          "env.kwargs.max_steps=3", f"out_dir={tmp_path / 'run'}"])
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("| 1 |")]
    assert len(lines) == 1 and "machine:" in out
    turns = int(lines[0].split("|")[2])
    assert 4 <= turns <= 12  # 4 episodes of 1-3 turns
