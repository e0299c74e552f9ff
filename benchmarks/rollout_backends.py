"""Rollout speed of every sampler backend on the CPU recipe (tiny Qwen3-VL, Maze2D easy), same seeds for all.

Per backend — transformers (``hf``), the in-process vLLM engine, one and two vLLM servers (started here,
loopback, with ``vlenvs-train serve``'s flags; ``server1`` uses the first of them):

1. greedy evaluation: env-steps/s over ``--episodes`` held-out episodes at each ``--envs`` batch size, the
   median of ``--repeats`` rounds in which the backends alternate (this box is shared and noisy);
2. sampled GRPO (the recipe's 8 groups x 8 envs, temperature 1): ``--iterations`` iterations through the Trainer,
   split into rollout / update / weight-sync seconds (medians over the iterations), env-steps/s and
   generated tokens/s of the rollouts.

Run it in the vLLM environment (``bash scripts/setup_vllm_env.sh``): ``.venv-vllm/bin/python
benchmarks/rollout_backends.py``; without vLLM only ``hf`` runs. Prints a Markdown table and the machine's context.

``--server-omp-threads 0 1`` starts one set of servers per value (``ServeConfig.omp_threads``) and measures each
server backend on each set, side by side in the same rounds.

    python benchmarks/rollout_backends.py [--episodes 200] [--envs 100 256] [--repeats 3] [--iterations 3]
                                          [--backends hf vllm_engine server1 server2] [--server-omp-threads N ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_context, table  # noqa: E402

BACKENDS = ("hf", "vllm_engine", "server1", "server2")


def slug(label: str) -> str:
    """A folder name for a backend's label (``"server1 (omp 1)"`` -> ``"server1-omp1"``)."""
    return label.replace(" (", "-").replace(" ", "").replace(")", "")


def eval_rate(policy, config, episodes: int, batch: int) -> float:
    from vlenvs_train.train.backends import evaluate

    cfg = dataclasses.replace(config.eval, episodes=episodes, batch=batch, temperature=0.0, gif_episodes=0,
                              viewer_episodes=0)
    t0 = time.perf_counter()
    metrics = evaluate(policy, config.env, config.agent, cfg)
    return metrics["eval_mean_length"] * episodes / (time.perf_counter() - t0)


def grpo_split(overrides: list[str], out: Path, iterations: int) -> dict[str, float]:
    from vlenvs_train.train.config import load_recipe
    from vlenvs_train.train.trainer import Trainer

    config = load_recipe("maze2d_tiny_cpu", [*overrides, f"out_dir={out}", f"grpo.iterations={iterations}",
                                             "eval.every=0", "checkpoint_every=0", "progress=false",
                                             "tensorboard=false", "eval.episodes=1", "eval.viewer_episodes=0",
                                             "eval.gif_episodes=0"])
    trainer = Trainer(config, ("rl",))
    trainer.run()
    rows = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "train"]
    med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
    return {"rollout_s": med("rollout_seconds"), "update_s": med("update_seconds"), "sync_s": med("sync_seconds"),
            "steps_per_s": statistics.median(r["turns"] / r["rollout_seconds"] for r in rows),
            "tokens_per_s": med("rollout_tokens_per_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--envs", type=int, nargs="+", default=[100, 256])
    parser.add_argument("--repeats", type=int, default=3, help="greedy rounds; the backends alternate within each")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--server-omp-threads", type=int, nargs="+", default=None, metavar="N",
                        help="one set of servers per value of ServeConfig.omp_threads (default: its default)")
    args = parser.parse_args()
    has_vllm = importlib.util.find_spec("vllm") is not None
    backends = [b for b in args.backends if b == "hf" or has_vllm]
    if len(backends) < len(args.backends):
        print("vLLM is not installed here: only the transformers backend runs (use .venv-vllm/bin/python)")

    import vlenvs  # noqa: F401
    from vlenvs_train.train.backends import make_sampler, model_path
    from vlenvs_train.train.config import load_recipe

    config = load_recipe("maze2d_tiny_cpu")
    model = model_path(config.model)
    tmp = Path(tempfile.mkdtemp(prefix="rollout-backends-"))
    n_servers = max((int(b[-1]) for b in backends if b.startswith("server")), default=0)
    servers: dict[int, list] = {}  # omp_threads -> its set of servers
    try:
        if n_servers:
            from vlenvs_train.policies.vllm_server import ServeConfig, free_port, start_vllm_server

            for omp in args.server_omp_threads or [ServeConfig().omp_threads]:
                servers[omp] = [start_vllm_server(model, tmp / f"server-omp{omp}-{k}.log", config=ServeConfig(
                    served_name="tiny", port=free_port(), omp_threads=omp)) for k in range(n_servers)]
        overrides = {}
        for backend in backends:  # "serverN" uses the first N servers of each set
            if not backend.startswith("server"):
                overrides[backend] = [f"sampler.backend={backend}"]
                continue
            for omp, group in servers.items():
                label = backend if len(servers) == 1 else f"{backend} (omp {omp})"
                urls = ", ".join(s.url for s in group[:int(backend[-1])])
                overrides[label] = ["sampler.backend=openai_server", f"sampler.server.base_urls=[{urls}]",
                                    "sampler.server.model=tiny"]
        backends = list(overrides)
        # greedy: every backend's policy built once, then rounds in which the backends alternate (a noisy box
        # loads them alike); the median round per backend and batch size
        policies = {b: make_sampler(load_recipe("maze2d_tiny_cpu", overrides[b]).sampler, config.model,
                                    weight_sync_dir=tmp / f"sync-{slug(b)}")
                    for b in backends}
        rates: dict[str, dict[int, list[float]]] = {b: {n: [] for n in args.envs} for b in backends}
        for _ in range(args.repeats):
            for n in args.envs:
                for backend, policy in policies.items():
                    rates[backend][n].append(eval_rate(policy, config, args.episodes, n))
        for policy in policies.values():
            if hasattr(policy, "close"):
                policy.close()  # the engine's memory before the trainer makes its own
        policies.clear()
        gc.collect()
        rows = []
        for backend in backends:  # GRPO through the Trainer (which pushes its initial weights to the servers)
            split = grpo_split(overrides[backend], tmp / f"grpo-{slug(backend)}", args.iterations)
            rows.append([backend, *[statistics.median(rates[backend][n]) for n in args.envs], split["steps_per_s"],
                         split["tokens_per_s"], split["rollout_s"], split["update_s"], split["sync_s"]])
            print(f"{backend}: {rows[-1][1:]}", flush=True)
    finally:
        for group in servers.values():
            for s in group:
                s.stop()
    headers = ["backend", *[f"greedy env-steps/s ({b} envs)" for b in args.envs], "GRPO rollout env-steps/s",
               "GRPO rollout tokens/s", "rollout s/iter", "update s/iter", "weight sync s/iter"]
    print(f"\n{args.episodes} greedy episodes per batch size, median of {args.repeats} rounds (backends alternating); "
          f"GRPO: {args.iterations} iterations of 8 groups x 8 envs at temperature 1 (medians)\n")
    print(table(headers, rows))
    print("\n" + machine_context())


if __name__ == "__main__":
    main()
