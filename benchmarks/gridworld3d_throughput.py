"""GridWorld3D throughput on one core, and Miniworld's MiniWorld-Maze-v0 side by side when it can run.

Run:  python benchmarks/gridworld3d_throughput.py            (GridWorld3D only, if no display)
      xvfb-run -a python benchmarks/gridworld3d_throughput.py  (adds Miniworld and the ratio)

Every env takes uniformly random actions from its whole action space (GridWorld3D: turn_left,
turn_right, forward, done; a wrong ``done`` ends the episode, so about a quarter of the envs reset
on every step, level generation and the oracle's search included). Frames/s = env steps/s: every
step renders a new observation. The vector env returns a copy of the image batch (the default).
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


def gridworld_rate(num_envs: int, image: int, repeats: int) -> float:
    """Median env steps/s of the native vector env."""
    import gymnasium as gym

    import vlenvs  # noqa: F401

    env = gym.make_vec("vlenvs/GridWorld3D-v0", num_envs=num_envs, image_size=image)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.single_action_space.n, (64, num_envs))
    step = {"k": 0}

    def run() -> int:
        env.step(actions[step["k"] % len(actions)])
        step["k"] += 1
        return num_envs

    run()  # warm the camera tables
    return median_rate(run, repeats=repeats)


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
    return median_rate(run, repeats=repeats), "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (the median is printed)")
    args = parser.parse_args()
    pinned = pin_one_core()
    print(machine_context() + f"; {pinned}")
    rates = {(n, s): gridworld_rate(n, s, args.repeats) for s in SIZES for n in NUM_ENVS}
    mw, why = miniworld_rate(64, args.repeats)
    rows = [[f"GridWorld3D-v0 (vlenvs, native vector, num_envs={n})"] + [rates[(n, s)] for s in SIZES]
            for n in NUM_ENVS]
    if mw is not None:
        rows.append(["MiniWorld-Maze-v0 (Miniworld, OpenGL under Xvfb, 1 env)", mw, "-"])
    print()
    print(table(["env (frames/s, one core, random actions)", "64x64", "128x128"], rows))
    print()
    if mw is None:
        print(f"Miniworld skipped: {why}")
    else:
        best = max(rates[(n, 64)] for n in NUM_ENVS)
        print(f"ratio at 64x64, GridWorld3D best batch / MiniWorld-Maze-v0: {best / mw:,.0f}x "
              f"(target >= 100x); num_envs=1 vs Miniworld: {rates[(1, 64)] / mw:.1f}x")


if __name__ == "__main__":
    main()
