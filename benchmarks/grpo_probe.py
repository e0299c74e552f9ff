"""What GRPO does from one iteration to the next, for a run whose held-out success does not move.

Two modes:

- ``curve RUN [RUN ...]`` reads each run's ``metrics.jsonl``: the training rollouts' success (temperature 1)
  averaged over the first and the last ``--window`` iterations, its swing per iteration (std, min, max) and the
  swing's lag-1 autocorrelation (near 0: the swings are the env seeds drawn per iteration, not the policy jumping
  between iterations), the median fraction of groups with signal and the median policy entropy per token.
- ``update --recipe R [--init RUN] [KEY=VALUE ...]`` runs the recipe's GRPO (``grpo.iterations``, default 3 here)
  with every update instrumented: each turn's reply log-prob (summed over its tokens) under the trainer's model
  before and after the update of its own iteration; per iteration the mean change over the turns with positive,
  negative and zero advantage and the correlation of change and advantage (does an update move its own batch the
  right way?).

    python benchmarks/grpo_probe.py curve runs/a runs/b [--window 25]
    python benchmarks/grpo_probe.py update --recipe maze2d_tiny_cpu --init runs/sft out_dir=/tmp/probe [KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_context, table  # noqa: E402


def lag1_autocorrelation(values: Sequence[float]) -> float:
    """Pearson correlation of consecutive values (``nan`` for fewer than 3 values or a constant series)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) < 3 or np.ptp(x[:-1]) == 0 or np.ptp(x[1:]) == 0:
        return float("nan")
    return float(np.corrcoef(x[:-1], x[1:])[0, 1])


def curve_stats(rows: Sequence[dict[str, Any]], window: int = 25) -> dict[str, float]:
    """Statistics of the ``kind == "train"`` rows of one run's metrics (see the module docstring)."""
    train = [r for r in rows if r.get("kind") == "train"]
    if not train:
        raise ValueError("no GRPO iterations in these metrics")
    success = np.array([r["success_rate"] for r in train], dtype=np.float64)
    out = {"iterations": float(len(success)), "first": float(success[:window].mean()),
           "last": float(success[-window:].mean()), "std": float(success.std()), "min": float(success.min()),
           "max": float(success.max()), "lag1": lag1_autocorrelation(success)}
    for key, name in (("signal_frac", "signal"), ("entropy", "entropy")):
        values = [r[key] for r in train if key in r]
        out[name] = float(statistics.median(values)) if values else float("nan")
    return out


def read_metrics(run: str | Path) -> list[dict[str, Any]]:
    """A run folder's metric rows (:func:`~vlenvs_train.train.metrics.read_rows`); a clear error for a folder
    without them (``read_rows`` returns none)."""
    from vlenvs_train.train.metrics import read_rows

    path = Path(run) / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: RUN must be a training run's folder (it holds metrics.jsonl)")
    return read_rows(path)


def update_stats(advantages: Sequence[float], before: Sequence[np.ndarray], after: Sequence[np.ndarray]) -> dict:
    """Mean change of the turns' summed log-probs by advantage sign, and its correlation with the advantage."""
    adv = np.asarray(advantages, dtype=np.float64)
    change = np.array([float(np.sum(a) - np.sum(b)) for a, b in zip(after, before)])
    out: dict[str, float] = {"turns": float(len(adv)), "signal_turns": float((adv != 0).sum())}
    for name, sel in (("pos", adv > 0), ("neg", adv < 0), ("zero", adv == 0)):
        out[name] = float(change[sel].mean()) if sel.any() else float("nan")
    nz = adv != 0
    out["corr"] = (float(np.corrcoef(adv[nz], change[nz])[0, 1])
                   if nz.sum() > 1 and np.ptp(adv[nz]) > 0 and np.ptp(change[nz]) > 0 else float("nan"))
    return out


def probe_updates(recipe: str, init: str | None, overrides: Sequence[str]) -> list[dict[str, float]]:
    """Run the recipe's GRPO stage with each update instrumented (:func:`update_stats` per iteration)."""
    import vlenvs_train.train.trainer as trainer_module
    from vlenvs_train.train.config import load_recipe
    from vlenvs_train.train.update import score_all

    config = load_recipe(recipe, ["grpo.iterations=3", "progress=false", "eval.every=0", *overrides])
    update = trainer_module.grpo_update
    found: list[dict[str, float]] = []

    def instrumented(model: Any, optimizer: Any, turns: Any, advantages: Any, cfg: Any, scoring: Any, *args: Any,
                     **kwargs: Any) -> dict[str, float]:
        before = score_all(model, turns, scoring, cfg.micro_batch_size)
        stats = update(model, optimizer, turns, advantages, cfg, scoring, *args, **kwargs)
        found.append(update_stats(advantages, before, score_all(model, turns, scoring, cfg.micro_batch_size)))
        return stats

    with mock.patch.object(trainer_module, "grpo_update", instrumented):
        trainer = trainer_module.Trainer(config, ("rl",), init=init)
        trainer.run()
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    curve = sub.add_parser("curve", help="statistics of finished runs' training curves")
    curve.add_argument("runs", nargs="+", metavar="RUN")
    curve.add_argument("--window", type=int, default=25, help="iterations averaged at each end")
    upd = sub.add_parser("update", help="instrumented GRPO iterations")
    upd.add_argument("--recipe", default="maze2d_tiny_cpu")
    upd.add_argument("--init", default=None, help="start from this run's (or checkpoint's) weights")
    upd.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if args.mode == "curve":
        if args.window < 1:
            parser.error(f"--window must be >= 1, got {args.window}")
        headers = ["run", "iterations", f"success, first {args.window}", f"last {args.window}", "std", "min", "max",
                   "lag-1 autocorrelation", "signal (median)", "entropy (median)"]
        rows = []
        for run in args.runs:
            s = curve_stats(read_metrics(run), args.window)
            rows.append([run, int(s["iterations"]), s["first"], s["last"], s["std"], s["min"], s["max"], s["lag1"],
                         s["signal"], s["entropy"]])
    else:
        headers = ["iteration", "turns", "turns with signal", "change, advantage > 0", "advantage < 0",
                   "advantage = 0", "correlation"]
        rows = [[k + 1, int(s["turns"]), int(s["signal_turns"]), s["pos"], s["neg"], s["zero"], s["corr"]]
                for k, s in enumerate(probe_updates(args.recipe, args.init, args.overrides))]
    print(table(headers, rows))
    print("\n" + machine_context())


if __name__ == "__main__":
    main()
