"""Maze2D throughput on one core, side by side with MiniGrid (when installed) and numpy's memcpy.

    python benchmarks/maze2d_throughput.py [--quick]

Prints steps/s of the native vector env for num_envs 1, 64, 1024, 4096 at 64x64 and 224x224 (random
actions, autoreset on), with ``copy=False`` (the live buffer, EnvPool-style) and ``copy=True`` (a fresh
array per step, Gymnasium's default); MiniGrid-Empty-8x8-v0 + RGBImgObsWrapper (64x64) in a
SyncVectorEnv measured in the same run; the ratio; numpy memcpy bandwidth and obs bytes/s as a
fraction of it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_context, median_rate, memcpy_bandwidth, pin_one_core, table  # noqa: E402

import vlenvs  # noqa: E402, F401


def maze_rate(num_envs: int, image: int, copy: bool, size: int = 9, repeats: int = 5) -> float:
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=num_envs, size=size, image_size=image, copy=copy)
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=(64, num_envs))
    k = [0]

    def run() -> int:
        venv.step(actions[k[0] % 64])
        k[0] += 1
        return num_envs

    for _ in range(max(200, 400_000 // num_envs)):
        run()  # warm-up to the steady state: caches, level prefetch rings filled, autoresets spread out
    rate = median_rate(run, repeats=repeats, min_time=0.5)
    venv.close()
    return rate


def minigrid_rate(num_envs: int = 8, repeats: int = 5) -> float | None:
    try:
        import minigrid  # noqa: F401
        from minigrid.wrappers import RGBImgObsWrapper
    except ImportError:
        return None
    venv = gym.vector.SyncVectorEnv(
        [lambda: RGBImgObsWrapper(gym.make("MiniGrid-Empty-8x8-v0"), tile_size=8) for _ in range(num_envs)]
    )
    venv.reset(seed=0)
    assert venv.single_observation_space["image"].shape == (64, 64, 3)
    rng = np.random.default_rng(0)

    def run() -> int:
        venv.step(rng.integers(0, 3, size=num_envs))
        return num_envs

    for _ in range(5):
        run()
    rate = median_rate(run, repeats=repeats)
    venv.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (smoke run)")
    args = parser.parse_args()
    pinned = pin_one_core()
    print(f"{machine_context()}; {pinned}")
    repeats = 2 if args.quick else 5
    envs = [1, 64, 1024] if args.quick else [1, 64, 1024, 4096]
    images = [64] if args.quick else [64, 224]
    bw = memcpy_bandwidth()
    print(f"numpy memcpy bandwidth: {bw / 1e9:.2f} GB/s")
    mg = minigrid_rate(repeats=repeats)
    print("MiniGrid-Empty-8x8-v0 + RGBImgObsWrapper 64x64, SyncVectorEnv(8):",
          f"{mg:,.0f} steps/s" if mg else "minigrid not installed (pip install 'vlenvs[bench]')")
    rows = []
    results = {}
    for image in images:
        for n in envs:
            fast = maze_rate(n, image, copy=False, repeats=repeats)
            safe = maze_rate(n, image, copy=True, repeats=repeats)
            results[(image, n)] = fast
            frac = fast * image * image * 3 / bw
            rows.append([f"{image}x{image}", n, fast, safe, f"{frac:.2f}",
                         f"{fast / mg:,.0f}x" if mg else "n/a"])
    print()
    print("Maze2D-v0 (9x9) native vector env, random actions, one core:")
    print(table(["image", "num_envs", "steps/s copy=False", "steps/s copy=True",
                 "obs bytes/s / memcpy (copy=False)", "vs MiniGrid"], rows))
    if mg and (64, 1024) in results:
        r = results[(64, 1024)] / mg
        frac = results[(64, 1024)] * 64 * 64 * 3 / bw
        print(f"\ntarget 64x64 num_envs=1024: {r:,.0f}x MiniGrid (target >= 1000x: {'met' if r >= 1000 else 'NOT met'}); "
              f"obs bytes/s = {frac:.2f} x memcpy (target >= 0.5: {'met' if frac >= 0.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
