"""Does the bundled baseline really learn? Success on held-out seeds before/after SFT and GRPO, with wall time.

Runs a recipe (default: the CPU recipe ``maze2d_tiny_cpu``: tiny model, Maze2D easy) end to end — the same
``Trainer`` the CLI runs — and prints, on the recipe's held-out evaluation seeds (greedy decoding):

- the random policy (lower bound) and the oracle (upper bound),
- the tiny model before training, after SFT, after SFT + GRPO,

with the wall time of each stage and the machine's context. Targets (issue 6, this 2-core box, <= 20
minutes): >= 0.9 success after SFT + GRPO and GRPO >= +10 points over SFT alone. The script reports what it
measured and whether the targets were met; it never asserts them.

    python benchmarks/learning.py [--out DIR] [KEY=VALUE overrides of the recipe ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_context, pin_one_core, table  # noqa: E402
from vlenvs_train.train.backends import evaluate, scripted_policy  # noqa: E402
from vlenvs_train.train.config import load_recipe  # noqa: E402
from vlenvs_train.train.trainer import Trainer  # noqa: E402

TARGET_FINAL, TARGET_GAIN, TARGET_MINUTES = 0.9, 0.10, 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    parser.add_argument("--recipe", default="maze2d_tiny_cpu")
    parser.add_argument("--out", default=None, help="run folder (default: a temporary folder)")
    args = parser.parse_args()
    pinned = pin_one_core()
    out = args.out or tempfile.mkdtemp(prefix="vlenvs-learning-")
    config = load_recipe(args.recipe, [*args.overrides, f"out_dir={out}"])
    rows = []
    for name in ("random", "oracle"):
        t0 = time.perf_counter()
        m = evaluate(scripted_policy(name, config.seed), config.env, config.agent, config.eval)
        rows.append([f"{name} policy", m["eval_success_rate"], m["eval_mean_return"], m["eval_invalid_rate"],
                     m["eval_mean_length"], time.perf_counter() - t0])
    t0 = time.perf_counter()
    trainer = Trainer(config)
    results = trainer.run()
    total = time.perf_counter() - t0
    logged = trainer.logger.rows()
    stage_time = {"sft": sum(r["seconds"] for r in logged if r["kind"] == "sft"),
                  "rl": sum(r["seconds"] for r in logged if r["kind"] == "train")}
    labels = {"eval_init": ("tiny model, before training", 0.0), "eval_sft": ("after SFT", stage_time["sft"]),
              "eval_final": ("after SFT + GRPO", stage_time["rl"])}
    for stage, (label, train_s) in labels.items():
        r = results[stage]
        rows.append([label, r["eval_success_rate"], r["eval_mean_return"], r["eval_invalid_rate"],
                     r["eval_mean_length"], train_s + r["seconds"]])
    final, sft = results["eval_final"]["eval_success_rate"], results["eval_sft"]["eval_success_rate"]
    gain_met = final - sft >= TARGET_GAIN - 1e-9  # rates are multiples of 1/episodes: no float-rounding misses
    print(f"# Learning benchmark: recipe {config.name} ({config.env.id}, preset {config.env.preset}, "
          f"{config.env.kwargs}); {config.eval.episodes} held-out seeds from {config.eval.seed}, "
          f"temperature {config.eval.temperature}")
    print(f"{machine_context()}; {pinned}; torch threads {config.torch_threads}")
    print(f"SFT: {config.sft.num_episodes} oracle episodes x {config.sft.epochs} epochs; GRPO: "
          f"{config.grpo.iterations} iterations x {config.grpo.groups} groups x {config.grpo.group_size} episodes")
    print(table(["policy", "success rate", "mean return", "invalid-action rate", "mean length", "seconds"], rows))
    print(f"total wall time (training + all evaluations): {total / 60:.1f} min")
    print(f"targets: final >= {TARGET_FINAL}: {'met' if final >= TARGET_FINAL else 'NOT met'} ({final:.3f}); "
          f"GRPO gain >= {TARGET_GAIN:+.2f}: {'met' if gain_met else 'NOT met'} "
          f"({final - sft:+.3f}); <= {TARGET_MINUTES:.0f} min: "
          f"{'met' if total / 60 <= TARGET_MINUTES else 'NOT met'} ({total / 60:.1f} min)")
    print(f"run folder (learning_curve.png, episodes.gif, metrics): {trainer.out}")


if __name__ == "__main__":
    main()
