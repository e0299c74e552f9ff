"""Does the bundled baseline really learn? Held-out success before/after SFT and GRPO, over seeds, with CPU time.

Runs a recipe (default: the CPU smoke recipe ``maze2d_tiny_cpu``) end to end — the same ``Trainer`` the CLI runs —
once per seed, and reports on the recipe's held-out evaluation seeds (greedy decoding):

- the random policy (lower bound) and the oracle (upper bound),
- the tiny model before training (untrained), after SFT only (the recipe trains SFT to convergence on its fixed
  demonstration budget), after SFT + GRPO (from that SFT checkpoint),
- held-out success on the test env (``eval.test_kwargs``; when the recipe sets none and the env has a ``split``
  option, the run trains on ``split=train`` and is also evaluated on ``split=test``: unseen visuals and phrasings),
- CPU minutes (this process and its children: user + system) and wall minutes per seed.

A seed ``S`` sets ``seed=S`` and ``sampler.seed=S`` (model initialisation, SFT data order, sampling); the
demonstrations, GRPO's env seeds and the held-out seeds are the recipe's, the same for every seed. Per seed and as
min / median over seeds, with the recipe's targets (issue 14) met or not; the script never asserts them. Each
seed's run folder holds its ``learning_curve.png`` (with GRPO's diagnostics); ``OUT/curves.png`` overlays the
seeds' success curves and ``OUT/results.json`` holds every number. ``--markdown`` prints only the Markdown
section the docs' learning table is regenerated from. ``--jobs N`` runs N seeds at once, each in its own process
pinned to its own core (a seed's numbers do not depend on it: every run is single-threaded and seeded).

    python benchmarks/learning.py [--recipe R] [--seeds 0 1 2] [--jobs 2] [--out DIR] [--markdown] [KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_context, pin_one_core, table  # noqa: E402

#: recipe -> (held-out success after SFT + GRPO, GRPO's gain over SFT only, CPU minutes per seed), from the issues.
TARGETS = {"maze2d_tiny_cpu": (0.9, 0.10, 20.0), "maze2d_9x9_tiny_cpu": (0.9, 0.15, 45.0),
           "gridworld3d_easy_tiny_cpu": (0.8, 0.15, 45.0)}
#: The success columns of a seed's result, with their headers.
COLUMNS = (("random", "random"), ("oracle", "oracle"), ("untrained", "untrained"), ("sft", "SFT only"),
           ("final", "SFT+GRPO"), ("gain", "GRPO gain"), ("sft_test", "SFT only, test"),
           ("final_test", "SFT+GRPO, test"))


@dataclass
class SeedResult:
    """Held-out success rates of one seed's run, and its cost."""

    seed: int
    random: float
    oracle: float
    untrained: float
    sft: float
    final: float
    sft_test: float | None = None
    final_test: float | None = None
    cpu_min: float = 0.0
    wall_min: float = 0.0
    run_dir: str = ""

    @property
    def gain(self) -> float:
        return self.final - self.sft


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="overrides of the recipe")
    parser.add_argument("--recipe", default="maze2d_tiny_cpu")
    parser.add_argument("--seeds", nargs="+", default=None, metavar="SEED",
                        help="seeds to run (default: the recipe's own seed, one run); KEY=VALUE overrides may follow")
    parser.add_argument("--out", default=None, help="output folder (default: a temporary folder); with --seeds "
                        "each seed's run goes to OUT/seed_S")
    parser.add_argument("--markdown", action="store_true",
                        help="print only the Markdown section for the docs (command, context, table)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at once, each in a process pinned to its "
                        "own core (default 1: one after another in this process)")
    parser.add_argument("--one-seed", action="store_true", help=argparse.SUPPRESS)  # a --jobs worker
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.seeds is not None:  # --seeds takes every word after it: overrides (KEY=VALUE) go back to theirs
        words, args.seeds = args.seeds, []
        for word in words:
            if "=" in word:
                args.overrides.append(word)
            elif word.isdigit():
                args.seeds.append(int(word))
            else:
                parser.error(f"--seeds: {word!r} is not a seed (an integer >= 0) nor a KEY=VALUE override")
        if not args.seeds:
            parser.error("--seeds needs at least one seed")
    if args.seeds is not None and len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds repeats a seed: {args.seeds}")
    if args.jobs > 1 and args.seeds is None:
        parser.error("--jobs needs --seeds (it runs several seeds at once)")
    if args.jobs > 1 and args.jobs > len(usable_cores()):
        parser.error(f"--jobs {args.jobs}: only {len(usable_cores())} cores are usable here "
                     f"({sorted(usable_cores())})")
    if args.jobs > 1 and args.out is None:
        parser.error("--jobs needs --out (its workers write each seed's result there)")
    return args


def usable_cores() -> set[int]:
    """The cores this process may run on."""
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # pragma: no cover - not Linux
        return set(range(os.cpu_count() or 1))


def split_overrides(env_config: Any, env_kwargs: dict[str, Any], test_kwargs: dict[str, Any]) -> list[str]:
    """Overrides that train on ``split=train`` and evaluate on ``split=test`` when the env's config (``env_config``,
    as :func:`~vlenvs_train.train.config.env.check_env` builds it) has a ``split`` field and the recipe sets no
    test evaluation (``test_kwargs``) itself; a split the recipe trains on is kept."""
    fields = {f.name for f in dataclasses.fields(env_config)} if dataclasses.is_dataclass(env_config) else set()
    if test_kwargs or "split" not in fields:
        return []
    train = [] if "split" in env_kwargs else ["env.kwargs.split=train"]
    return [*train, "eval.test_kwargs={split: test}"]


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def seed_config(recipe: str, seed: int | None, overrides: Sequence[str], out: Path) -> Any:
    """The run config of one seed: the recipe, the overrides, the seed and (see :func:`split_overrides`) the split."""
    from vlenvs_train.train.config import load_recipe
    from vlenvs_train.train.config.env import check_env

    seeded = [f"seed={seed}", f"sampler.seed={seed}"] if seed is not None else []
    config = load_recipe(recipe, [*overrides, *seeded, f"out_dir={out}"])
    extra = split_overrides(check_env(config.env.id, config.env.preset, config.env.kwargs), dict(config.env.kwargs),
                            dict(config.eval.test_kwargs))
    return load_recipe(recipe, [*overrides, *extra, *seeded, f"out_dir={out}"]) if extra else config


def run_seed(recipe: str, seed: int | None, overrides: Sequence[str], out: Path) -> tuple[SeedResult, Any, list]:
    """One seed's run: the scripted baselines and the recipe's Trainer; its result, config and the policy rows of
    :func:`policy_rows`."""
    from vlenvs_train.train.backends import evaluate, scripted_policy
    from vlenvs_train.train.trainer import Trainer

    config = seed_config(recipe, seed, overrides, out)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    baselines = {}
    for name in ("random", "oracle"):
        t0 = time.perf_counter()
        baselines[name] = (evaluate(scripted_policy(name, config.seed), config.env, config.agent, config.eval),
                           time.perf_counter() - t0)
    trainer = Trainer(config)
    results = trainer.run()
    logged = trainer.logger.rows()
    result = SeedResult(
        seed=config.seed, random=baselines["random"][0]["eval_success_rate"],
        oracle=baselines["oracle"][0]["eval_success_rate"], untrained=results["eval_init"]["eval_success_rate"],
        sft=results["eval_sft"]["eval_success_rate"], final=results["eval_final"]["eval_success_rate"],
        sft_test=results.get("eval_sft_test", {}).get("eval_success_rate"),
        final_test=results.get("eval_final_test", {}).get("eval_success_rate"),
        cpu_min=(cpu_seconds() - cpu0) / 60, wall_min=(time.perf_counter() - wall0) / 60, run_dir=str(trainer.out))
    return result, config, policy_rows(baselines, results, logged)


def policy_rows(baselines: dict[str, tuple[dict, float]], results: dict[str, dict], logged: list[dict]) -> list[list]:
    """One seed's table: each policy's success, return, invalid rate, length and seconds (training + evaluation)."""
    rows = [[f"{name} policy", m["eval_success_rate"], m["eval_mean_return"], m["eval_invalid_rate"],
             m["eval_mean_length"], seconds] for name, (m, seconds) in baselines.items()]
    stage_time = {"sft": sum(r["seconds"] for r in logged if r["kind"] == "sft"),
                  "rl": sum(r["seconds"] for r in logged if r["kind"] == "train")}
    labels = {"eval_init": ("tiny model, before training", 0.0), "eval_sft": ("after SFT", stage_time["sft"]),
              "eval_final": ("after SFT + GRPO", stage_time["rl"]),
              "eval_sft_test": ("after SFT, test env", 0.0), "eval_final_test": ("after SFT + GRPO, test env", 0.0)}
    for stage, (label, train_s) in labels.items():
        if stage in results:
            r = results[stage]
            rows.append([label, r["eval_success_rate"], r["eval_mean_return"], r["eval_invalid_rate"],
                         r["eval_mean_length"], train_s + r["seconds"]])
    return rows


def summary_rows(results: Sequence[SeedResult]) -> tuple[list[str], list[list]]:
    """Headers and rows: one per seed, then min and median over seeds (test columns only when measured)."""
    columns = [(k, h) for k, h in COLUMNS if not k.endswith("_test") or any(getattr(r, k) is not None
                                                                              for r in results)]
    headers = ["seed", *[h for _, h in columns], "CPU min", "wall min"]
    rows = [[r.seed, *[getattr(r, k) for k, _ in columns], r.cpu_min, r.wall_min] for r in results]
    for name, agg in (("min", min), ("median", statistics.median)):
        row: list[Any] = [name]
        for k, _ in [*columns, ("cpu_min", ""), ("wall_min", "")]:
            values = [getattr(r, k) for r in results if getattr(r, k) is not None]
            row.append(agg(values) if values else None)
        rows.append(row)
    return headers, [["-" if v is None else v for v in row] for row in rows]


def targets_line(recipe: str, results: Sequence[SeedResult]) -> str:
    """The recipe's targets, each judged on the worst seed."""
    if recipe not in TARGETS:
        return f"targets: none recorded for recipe {recipe!r}"
    final, gain, minutes = TARGETS[recipe]
    worst_final = min(r.final for r in results)
    worst_gain = min(r.gain for r in results)
    most_cpu = max(r.cpu_min for r in results)

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    # rates are multiples of 1/episodes: compare with a tolerance, never miss by float rounding
    return (f"targets (every seed): SFT+GRPO >= {final}: {verdict(worst_final >= final - 1e-9)} "
            f"(min {worst_final:.3f}); GRPO gain >= {gain:+.2f}: {verdict(worst_gain >= gain - 1e-9)} "
            f"(min {worst_gain:+.3f}); <= {minutes:.0f} CPU min: {verdict(most_cpu <= minutes)} (max {most_cpu:.1f})")


def describe(config: Any, seeds: Sequence[int] | None) -> str:
    """The run's setup in two lines."""
    test = f"; test env {dict(config.eval.test_kwargs)}" if config.eval.test_kwargs else ""
    return (f"recipe {config.name} ({config.env.id}, preset {config.env.preset}, {dict(config.env.kwargs)}); "
            f"{config.eval.episodes} held-out seeds from {config.eval.seed}, temperature {config.eval.temperature}"
            f"{test}; seeds {list(seeds) if seeds is not None else [config.seed]}\n"
            f"SFT: {config.sft.num_episodes} oracle episodes x {config.sft.epochs} epochs; GRPO: "
            f"{config.grpo.iterations} iterations x {config.grpo.groups} groups x {config.grpo.group_size} episodes, "
            f"loss_agg {config.grpo.loss_agg}")


def markdown(command: str, setup: str, context: str, results: Sequence[SeedResult], recipe: str) -> str:
    """The docs' learning section: the command, what was run where, the table of success rates, the targets."""
    headers, rows = summary_rows(results)
    return "\n".join([f"`{command}`", "", f"{setup}; {context}", "", "Held-out success rate (greedy):", "",
                      table(headers, rows), "", targets_line(recipe, results)])


def plot_seeds(run_dirs: dict[int, str], path: Path) -> Path:
    """Success rate vs GRPO step of every seed: training rollouts (lines) and held-out evaluations (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vlenvs_train.train.metrics import read_rows

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for seed, run_dir in run_dirs.items():
        rows = read_rows(Path(run_dir) / "metrics.jsonl")
        train = [r for r in rows if r["kind"] == "train"]
        evals = [r for r in rows if r["kind"] == "eval" and not str(r.get("stage", "")).endswith("_test")]
        line = ax.plot([r["step"] for r in train], [r["success_rate"] for r in train], alpha=0.6,
                       label=f"seed {seed}: train rollouts")[0]
        ax.plot([r["step"] for r in evals], [r["eval_success_rate"] for r in evals], "o--", color=line.get_color(),
                label=f"seed {seed}: held-out eval")
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("success rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


SEED_RESULT = "seed_result.json"  # a --jobs worker's result, in its seed's run folder


def pin_and_tie(core: int) -> Any:
    """A worker's ``preexec_fn``: pinned to ``core``, and stopped when this process dies (even by SIGKILL)."""
    from vlenvs_train.policies.vllm_server import exit_with_parent

    tie = exit_with_parent(os.getpid())

    def arm() -> None:
        os.sched_setaffinity(0, {core})
        tie()
    return arm


def run_in_workers(args: argparse.Namespace, out: Path) -> tuple[list[SeedResult], list[list]]:
    """Every seed of ``args`` in a worker process (``--one-seed``), ``args.jobs`` at a time, each pinned to its own
    core; their results and tables, in seed order. A worker that fails stops the run with its exit status."""
    cores = sorted(usable_cores())[-args.jobs:]
    pending, running, done = list(args.seeds), {}, {}
    here = str(Path(__file__).resolve())
    while pending or running:
        while pending and len(running) < args.jobs:
            seed, core = pending.pop(0), next(c for c in cores if c not in running.values())
            cmd = [sys.executable, here, "--one-seed", "--recipe", args.recipe, "--seeds", str(seed),
                   "--out", str(out), *args.overrides]
            log = open(out / f"seed_{seed}.log", "w")  # noqa: SIM115 - closed with the worker
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=pin_and_tie(core))
            running[(proc, log, seed)] = core
        finished = next((key for key in running if key[0].poll() is not None), None)
        if finished is None:
            time.sleep(1.0)
            continue
        del running[finished]
        proc, log, seed = finished
        log.close()
        if proc.returncode != 0:
            for other in running:
                other[0].kill()
            raise SystemExit(f"seed {seed}'s worker failed (exit {proc.returncode}): see {out / f'seed_{seed}.log'}")
        done[seed] = json.loads((out / f"seed_{seed}" / SEED_RESULT).read_text())
    return ([SeedResult(**done[s]["result"]) for s in args.seeds], [done[s]["rows"] for s in args.seeds])


def main(argv: Sequence[str] | None = None) -> list[SeedResult]:
    cores = usable_cores()
    try:
        return _main(parse_args(argv))
    finally:  # a caller (a test) keeps its cores
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, cores)


def _main(args: argparse.Namespace) -> list[SeedResult]:
    out = Path(args.out or tempfile.mkdtemp(prefix="vlenvs-learning-"))
    out.mkdir(parents=True, exist_ok=True)
    seeds: list[int | None] = list(args.seeds) if args.seeds is not None else [None]
    if args.jobs > 1:
        results, tables = run_in_workers(args, out)
        pinned = f"{args.jobs} seeds at a time, each pinned to its own core"
        config = seed_config(args.recipe, seeds[0], args.overrides, out / f"seed_{seeds[0]}")
    else:
        pinned = pin_one_core()
        results, tables, config = [], [], None
        for seed in seeds:
            run_out = out / f"seed_{seed}" if seed is not None else out
            result, config, rows = run_seed(args.recipe, seed, args.overrides, run_out)
            results.append(result)
            tables.append(rows)
            if args.one_seed:
                (run_out / SEED_RESULT).write_text(json.dumps({"result": dataclasses.asdict(result), "rows": rows}))
                return results
    curves = plot_seeds({r.seed: r.run_dir for r in results}, out / "curves.png")
    (out / "results.json").write_text(json.dumps([{**dataclasses.asdict(r), "gain": r.gain} for r in results],
                                                 indent=1))
    command = " ".join(["python benchmarks/learning.py", f"--recipe {args.recipe}",
                        *([f"--seeds {' '.join(map(str, args.seeds))}"] if args.seeds is not None else []),
                        *([f"--jobs {args.jobs}"] if args.jobs > 1 else []), *args.overrides])
    context = f"{machine_context()}; {pinned}; torch threads {config.torch_threads}"
    setup = describe(config, args.seeds)
    if args.markdown:
        print(markdown(command, setup, context, results, args.recipe))
        return results
    print(f"# Learning benchmark: {setup}")
    print(context)
    for result, rows in zip(results, tables):
        print(f"\n## seed {result.seed}: {result.cpu_min:.1f} CPU min, {result.wall_min:.1f} wall min "
              f"(run folder: {result.run_dir})")
        print(table(["policy", "success rate", "mean return", "invalid-action rate", "mean length", "seconds"], rows))
    headers, rows = summary_rows(results)
    print("\n## held-out success rate per seed, min and median\n" + table(headers, rows))
    print(targets_line(args.recipe, results))
    print(f"curves of every seed: {curves}; numbers: {out / 'results.json'}")
    return results


if __name__ == "__main__":
    main()
