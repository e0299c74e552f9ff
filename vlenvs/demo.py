"""The envs' own demo: ``python -m vlenvs.demo [--env ID] [--num-envs N] [--out DIR]``.

Runs the oracle (upper bound) and a random policy (lower bound) on a native vector env, prints
success rate, mean return and episode length of each with the measured env steps/s, and writes a
GIF of oracle episodes and a PNG contact sheet of first observations with their instructions.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw

import vlenvs


def run_policy(env_id: str, num_envs: int, per_env: int, policy: str, seed: int, **kwargs) -> dict[str, float]:
    """Run the first ``per_env`` episodes of every env with the ``oracle`` or ``random`` policy (counting
    whole episodes per env, so short episodes are not over-sampled)."""
    venv = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    obs, info = venv.reset(seed=seed)
    rng = np.random.default_rng(seed)
    n_act = venv.single_action_space.n
    ret = np.zeros(num_envs)
    length = np.zeros(num_envs, dtype=int)
    done_prev = np.zeros(num_envs, dtype=bool)
    results: list[tuple[float, int, bool]] = []
    count = np.zeros(num_envs, dtype=int)
    steps, t0 = 0, time.perf_counter()
    while count.min() < per_env:
        act = np.maximum(info["oracle_action"], 0) if policy == "oracle" else rng.integers(0, n_act, num_envs)
        obs, r, te, tr, info = venv.step(act)
        steps += num_envs
        ret = np.where(done_prev, 0.0, ret + r)  # NextStep autoreset: the step after an end is a reset
        length = np.where(done_prev, 0, length + 1)
        done = te | tr
        for i in np.flatnonzero(done & (count < per_env)):
            results.append((ret[i], length[i], bool(info["success"][i])))
        count += done
        done_prev = done
    dt = time.perf_counter() - t0
    venv.close()
    rets, lens, succ = map(np.array, zip(*results))
    return {"success": succ.mean(), "return": rets.mean(), "length": lens.mean(), "steps_per_s": steps / dt}


def oracle_gif(env_id: str, path: Path, seed: int, **kwargs) -> int:
    """Save a GIF of a few oracle episodes of the single env; returns the frame count."""
    env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    frames = []
    for ep in range(3):
        obs, info = env.reset(seed=seed + ep)
        frames.append(obs["image"])
        done = False
        while not done:
            obs, r, te, tr, info = env.step(max(info["oracle_action"], 0))
            frames.append(obs["image"])
            done = te or tr
    big = [Image.fromarray(f).resize((f.shape[1] * 2, f.shape[0] * 2), Image.NEAREST) for f in frames]
    big[0].save(path, save_all=True, append_images=big[1:], duration=150, loop=0)
    return len(frames)


def contact_sheet(env_id: str, path: Path, seed: int, n: int = 6, **kwargs) -> None:
    """Save first observations of ``n`` envs with their instructions underneath."""
    venv = gym.make_vec(env_id, num_envs=n, **kwargs)
    obs, _ = venv.reset(seed=seed)
    h, w = obs["image"].shape[1:3]
    sheet = Image.new("RGB", (n * (w + 8), h + 70), "white")
    draw = ImageDraw.Draw(sheet)
    for i in range(n):
        sheet.paste(Image.fromarray(obs["image"][i]), (i * (w + 8), 0))
        words, lines, line = obs["instruction"][i].split(), [], ""
        for word in words:
            if len(line) + len(word) > w // 6:
                lines.append(line)
                line = ""
            line += word + " "
        lines.append(line)
        draw.multiline_text((i * (w + 8), h + 4), "\n".join(lines[:5]), fill="black")
    sheet.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="vlenvs/Maze2D-v0", choices=sorted(vlenvs.ENVS))
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--episodes-per-env", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("outputs/demo"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    kwargs = {"image_size": 128}
    print(f"{args.env}: {args.num_envs} envs in one process, {args.episodes_per_env} episodes each per policy")
    for policy in ("oracle", "random"):
        m = run_policy(args.env, args.num_envs, args.episodes_per_env, policy, args.seed, **kwargs)
        print(f"  {policy:6s}: success {m['success']:.3f}  mean return {m['return']:.3f}  "
              f"mean length {m['length']:.1f}  ({m['steps_per_s']:,.0f} env steps/s)")
    frames = oracle_gif(args.env, args.out / "oracle.gif", args.seed, **kwargs)
    contact_sheet(args.env, args.out / "observations.png", args.seed, **kwargs)
    print(f"wrote {args.out / 'oracle.gif'} ({frames} frames) and {args.out / 'observations.png'}")


if __name__ == "__main__":
    main()
