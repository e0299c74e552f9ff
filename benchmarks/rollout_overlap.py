"""Rollout overlap: the synchronous loop vs. the asynchronous pipeline over env workers (processes, Ray actors).

The policy is SIMULATED: ``SleepingPolicy`` sleeps a fixed latency per call and then answers with the env's
oracle (no model runs). Calls may overlap, as requests to a vLLM server with continuous batching do, except in
the row marked "serial policy" (one call at a time, as an in-process model). The envs are GridWorld3D
(batched numpy raycaster) at a VLM-sized image, with enough envs that stepping + rendering + prompting one
batch costs about as much as the simulated latency.

Two workloads, both timed on the same warm workers: ``play_seeds`` (one episode per seed, as GRPO groups and
evaluation use it: the call lasts as long as its longest episode) and ``collect_episodes`` (envs go on into
new episodes until 2N have finished). "policy idle" is the share of wall time with no policy call in flight,
i.e. the time the policy waited on the envs.

    python benchmarks/rollout_overlap.py [--quick] [--latency 0.03] [--envs 64] [--ray cluster|local|none]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_context, table  # noqa: E402

from vlenvs_train.adapter.agent import BatchedAgent  # noqa: E402
from vlenvs_train.policies.sleeping import SleepingPolicy  # noqa: E402
from vlenvs_train.rollout.collect import Episode, collect_episodes  # noqa: E402
from vlenvs_train.rollout.pipeline import PipelineConfig, RolloutPipeline  # noqa: E402
from vlenvs_train.rollout.workers import EnvFactory  # noqa: E402
from vlenvs_train.train.rollout import play_seeds  # noqa: E402


def measure(run: Callable[[], list[Episode]], policy: SleepingPolicy, repeats: int) -> tuple[float, float, float]:
    """Medians over ``repeats`` calls of env-steps/s, episodes/s and the policy's idle share of wall time."""
    run()  # warm-up: workers start, shards open, first images rendered
    rates, eps_rates, idle = [], [], []
    for _ in range(repeats):
        policy.clock.reset()
        t0 = time.perf_counter()
        episodes = run()
        wall = time.perf_counter() - t0
        rates.append(sum(e.length for e in episodes) / wall)
        eps_rates.append(len(episodes) / wall)
        idle.append(max(0.0, wall - policy.clock.busy_s) / wall)
    return statistics.median(rates), statistics.median(eps_rates), statistics.median(idle)


def sync_row(factory: EnvFactory, args: argparse.Namespace) -> list[object]:
    policy, env = SleepingPolicy(args.latency), factory.make(args.envs)
    seeds = list(range(args.envs))
    play = measure(lambda: play_seeds(env, BatchedAgent(policy, env), seeds), policy, args.repeats)
    collect = measure(lambda: collect_episodes(env, BatchedAgent(policy, env), num_episodes=2 * args.envs, seed=0),
                      policy, args.repeats)
    env.close()
    return ["synchronous loop (play_seeds / collect_episodes), inline", 0, 1, play, collect]


def pipeline_row(label: str, factory: EnvFactory, config: PipelineConfig, args: argparse.Namespace) -> list[object]:
    policy, seeds = SleepingPolicy(args.latency), list(range(args.envs))
    with RolloutPipeline(factory, policy, config=config) as pipe:
        play = measure(lambda: pipe.play_seeds(seeds), policy, args.repeats)
        collect = measure(lambda: pipe.collect_episodes(args.envs, 2 * args.envs, seed=0), policy, args.repeats)
        shards = len(pipe.shards)
        restarts = pipe.last_stats.worker_restarts
    assert restarts == 0, "a worker died during the benchmark"
    return [label, config.num_workers, shards, play, collect]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer envs and repeats (smoke run)")
    parser.add_argument("--latency", type=float, default=0.03, help="simulated policy latency per call, seconds")
    parser.add_argument("--envs", type=int, default=64, help="envs per rollout call (seeds of play_seeds)")
    parser.add_argument("--image-size", type=int, default=224, help="GridWorld3D image side in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per setting (median)")
    parser.add_argument("--workers", default="1,2,4", help="local process worker counts")
    parser.add_argument("--ray", choices=("cluster", "local", "none"), default="cluster",
                        help="cluster: `ray start --head` on this machine (stopped afterwards); local: ray.init() "
                             "in-process; none: skip the Ray rows")
    args = parser.parse_args()
    if args.quick:
        args.envs, args.repeats, args.workers = min(args.envs, 16), 1, "1,2"
    factory = EnvFactory("vlenvs/GridWorld3D-v0", {"image_size": args.image_size}, preset="medium")

    print(machine_context())
    print(f"CPUs this process may use: {len(os.sched_getaffinity(0))} (shared with other users of the machine: "
          "more worker processes than cores cannot scale linearly, and the numbers move with the load)")
    print(f"policy: SleepingPolicy = SIMULATED latency {args.latency * 1e3:.0f} ms per call, then the oracle's "
          "answer (no model); overlapping calls allowed unless 'serial policy'")
    print("a serial policy with a fixed per-call latency gains nothing from splitting the envs: every extra "
          "shard is one more call per round; the rows without it model a server that batches concurrent calls")
    print(f"envs: GridWorld3D 'medium', {args.image_size}x{args.image_size} images, {args.envs} envs per call; "
          f"medians of {args.repeats} timed calls after one warm-up call\n")

    rows = [sync_row(factory, args)]
    for w in [int(x) for x in args.workers.split(",")]:
        rows.append(pipeline_row("async pipeline, local processes", factory,
                                 PipelineConfig("process", num_workers=w, policy_concurrency=64), args))
    rows.append(pipeline_row("async pipeline, local processes, serial policy (1 call at a time)", factory,
                             PipelineConfig("process", num_workers=2, num_shards=2, policy_concurrency=1), args))
    rows.append(pipeline_row("async pipeline, inline (threads, no workers)", factory,
                             PipelineConfig("inline", num_workers=2, policy_concurrency=64), args))
    if args.ray != "none":
        rows += ray_rows(factory, args)

    base_play, base_collect = rows[0][3][0], rows[0][4][0]
    out = [[label, w or "-", s, play[0], f"{play[0] / base_play:.2f}x", f"{100 * play[2]:.0f}%",
            collect[0], f"{collect[0] / base_collect:.2f}x", f"{100 * collect[2]:.0f}%", collect[1]]
           for label, w, s, play, collect in rows]
    print(table(["setting", "workers", "shards", "play_seeds env-steps/s", "vs sync", "policy idle",
                 "collect env-steps/s", "vs sync", "policy idle", "collect episodes/s"], out))


def ray_rows(factory: EnvFactory, args: argparse.Namespace) -> list[list[object]]:
    from vlenvs_train.rollout.ray_workers import LocalRayCluster

    cluster = LocalRayCluster(num_cpus=2) if args.ray == "cluster" else None
    address = cluster.address if cluster is not None else "local"
    where = "local Ray cluster (ray start --head)" if cluster is not None else "Ray in-process (ray.init)"
    try:
        return [pipeline_row(f"async pipeline, {where}", factory,
                             PipelineConfig("ray", num_workers=w, policy_concurrency=64, ray_address=address,
                                            ray_num_cpus=2 / w), args) for w in (2, 4)]
    finally:
        if cluster is not None:
            cluster.stop()
        else:
            import ray

            ray.shutdown()


if __name__ == "__main__":
    main()
