"""Stable-Baselines3's own ``make_vec_env`` over single vlenvs envs: PPO logs ``rollout/success_rate``."""

from __future__ import annotations

import csv

import gymnasium as gym
import pytest

import vlenvs  # noqa: F401
from vlenvs.wrappers import ImageOnly

pytest.importorskip("stable_baselines3")
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402

KW = {"preset": "easy", "image_size": 8, "max_steps": 6}


def test_single_env_reports_is_success_only_at_episode_end():
    env = gym.make("vlenvs/Maze2D-v0", **KW)
    _, info = env.reset(seed=0)
    assert "is_success" not in info
    for t in range(6):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            assert info["is_success"] is (terminated and info["success"])
            break
        assert "is_success" not in info
    assert terminated or truncated  # max_steps=6 ends it


@pytest.mark.slow
def test_make_vec_env_with_image_only_logs_success_rate(tmp_path):
    venv = make_vec_env("vlenvs/Maze2D-v0", n_envs=2, seed=0, wrapper_class=ImageOnly, env_kwargs=KW)
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(total_timesteps=256)
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    rates = [float(r["rollout/success_rate"]) for r in rows if r.get("rollout/success_rate")]
    assert rates and all(0.0 <= r <= 1.0 for r in rates)
    assert len(model.ep_success_buffer) > 0
