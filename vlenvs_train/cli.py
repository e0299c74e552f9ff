"""``vlenvs-train``: SFT, GRPO and evaluation from recipes.

    vlenvs-train run  --recipe maze2d_tiny_cpu            # SFT, then GRPO, then evaluation (the default)
    vlenvs-train sft  --recipe maze2d_tiny_cpu sft.epochs=3
    vlenvs-train rl   --recipe maze2d_tiny_cpu --init runs/maze2d_tiny_cpu   # GRPO from the SFT weights
    vlenvs-train eval --recipe maze2d_tiny_cpu --policy oracle               # or random, or model
    vlenvs-train run  --recipe maze2d_tiny_cpu --resume                      # continue a killed run
    vlenvs-train recipes                                                     # list the bundled recipes

Overrides are ``section.key=value`` (values parsed as YAML), e.g. ``grpo.iterations=10 out_dir=/tmp/r``.
Equivalent from Python: ``Trainer(load_recipe(name, overrides), stages).run()``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from vlenvs.core.errors import VlenvsError

COMMANDS = ("run", "sft", "rl", "eval", "recipes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vlenvs-train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=COMMANDS,
                        help="what to do (default: run = SFT, GRPO, evaluation)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="recipe overrides, e.g. grpo.lr=1e-4")
    parser.add_argument("--recipe", default="maze2d_tiny_cpu", help="bundled recipe name or YAML path")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in out_dir")
    parser.add_argument("--init", default=None, help="start from this checkpoint's (or run folder's) weights")
    parser.add_argument("--policy", default="model", choices=("model", "oracle", "random"),
                        help="eval only: the trained model, or a scripted baseline")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)
    try:
        return _dispatch(args)
    except VlenvsError as e:
        print(f"vlenvs-train: error: {e}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    from vlenvs_train.train.config import load_recipe, recipe_names

    if args.command == "recipes":
        print("\n".join(recipe_names()))
        return 0
    config = load_recipe(args.recipe, args.overrides)
    if args.command == "eval" and args.policy != "model":
        from vlenvs_train.train.backends import evaluate, scripted_policy

        metrics = evaluate(scripted_policy(args.policy, config.seed), config.env, config.agent, config.eval)
        print(json.dumps({"policy": args.policy, **metrics}, indent=1))
        return 0
    from vlenvs_train.train.trainer import COMMAND_STAGES, Trainer

    trainer = Trainer(config, COMMAND_STAGES[args.command], resume=args.resume, init=args.init)
    results = trainer.run()
    for stage, row in results.items():
        print(f"{stage:>10}: success {row['eval_success_rate']:.3f}  return {row['eval_mean_return']:.3f}  "
              f"invalid {row['eval_invalid_rate']:.3f}  length {row['eval_mean_length']:.2f}")
    print(f"outputs in {trainer.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
