"""GridWorld3D throughput on one core, and Miniworld's MiniWorld-Maze-v0 side by side when it can run.

Run:  python benchmarks/gridworld3d_throughput.py            (GridWorld3D only, if no display)
      xvfb-run -a python benchmarks/gridworld3d_throughput.py  (adds Miniworld and the ratio)

Actions are uniformly random. GridWorld3D is measured with its whole action space (turn_left,
turn_right, forward, done: a wrong ``done`` ends the episode, so about a quarter of the envs reset on
every step, level generation and the oracle's search included) and with the three moves only, the
action set MiniWorld-Maze-v0 has (the like-for-like comparison). Frames/s = env steps/s: every step
returns a new observation. Episodes are generated ahead in batches (vlenvs.core.prefetch), so each
timed window runs >= 2 s to include those refills in proportion; the median of the windows is
printed. Measured with ``copy=True`` (a fresh image batch per step, the default) and ``copy=False``
(the live buffer); the ratio to Miniworld uses ``copy=True``. Miniworld runs first, 2 s windows too;
Mesa's shader cache makes its later runs faster than its first ever run.
Miniworld (``pip install miniworld``; it needs OpenGL, e.g. under ``xvfb-run``) is not a vlenvs
dependency; it is skipped, with the reason printed, when it cannot run here.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_context, median_rate, pin_one_core, table  # noqa: E402

SIZES = (64, 128)
NUM_ENVS = (1, 64, 1024)


def gridworld_rate(num_envs: int, image: int, copy: bool, repeats: int, actions: int = 4) -> float:
    """Median env steps/s of the native vector env."""
    import gymnasium as gym

    import vlenvs  # noqa: F401

    env = gym.make_vec("vlenvs/GridWorld3D-v0", num_envs=num_envs, image_size=image, copy=copy)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, actions, (64, num_envs))
    step = {"k": 0}

    def run() -> int:
        env.step(actions[step["k"] % len(actions)])
        step["k"] += 1
        return num_envs

    for _ in range(20):
        run()  # warm-up: camera tables, first autoresets
    rate = median_rate(run, repeats=repeats, min_time=2.0)
    env.close()
    return rate


def miniworld_rate(image: int, repeats: int) -> tuple[float | None, str]:
    """Median steps/s of MiniWorld-Maze-v0 at ``image x image``, or ``(None, why it did not run)``."""
    try:
        import gymnasium as gym
        import miniworld  # noqa: F401
    except ImportError as e:
        return None, f"miniworld is not installed ({e}); pip install miniworld"
    if not os.environ.get("DISPLAY"):
        return None, "no display for Miniworld's OpenGL; run under xvfb-run -a"
    try:
        env = gym.make("MiniWorld-Maze-v0", obs_width=image, obs_height=image)
        env.reset(seed=0)
        env.action_space.seed(0)
    except Exception as e:  # noqa: BLE001 - any GL/display failure means "cannot run here"
        return None, f"Miniworld could not start: {type(e).__name__}: {e}"

    def run() -> int:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
        return 1

    run()
    return median_rate(run, repeats=repeats, min_time=2.0), "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (the median is printed)")
    args = parser.parse_args()
    pinned = pin_one_core()
    print(machine_context() + f"; {pinned}")
    mw, why = miniworld_rate(64, args.repeats)
    vs = lambda rate: f"{rate / mw:,.0f}x" if mw else "-"  # noqa: E731
    rows, rates = [], {}
    for image in SIZES:
        for n in NUM_ENVS:
            for actions, label in ((4, "all 4 actions"), (3, "3 moves")):
                fast = gridworld_rate(n, image, False, args.repeats, actions)
                rates[(image, n, actions)] = safe = gridworld_rate(n, image, True, args.repeats, actions)
                rows.append([f"GridWorld3D-v0, {label}", f"{image}x{image}", n, safe, fast,
                             vs(safe) if image == 64 else "-"])
    if mw is not None:
        rows.append(["MiniWorld-Maze-v0 (3 moves; OpenGL, Xvfb)", "64x64", 1, mw, "-", "1x"])
    print()
    print("frames/s (= env steps/s) on one core, uniformly random actions; GridWorld3D = native vector env:")
    print(table(["env", "image", "num_envs", "frames/s copy=True", "frames/s copy=False", "vs Miniworld"], rows))
    print()
    if mw is None:
        print(f"Miniworld skipped: {why}")
        return
    for actions, label in ((3, "3 moves, like for like"), (4, "all 4 actions")):
        best = max(rates[(64, n, actions)] for n in NUM_ENVS)
        print(f"64x64, {label}: GridWorld3D best batch (copy=True) / MiniWorld-Maze-v0 = {best / mw:,.0f}x "
              f"(target >= 100x: {'met' if best / mw >= 100 else 'NOT met'}); "
              f"num_envs=1: {rates[(64, 1, actions)] / mw:.1f}x")


if __name__ == "__main__":
    main()
