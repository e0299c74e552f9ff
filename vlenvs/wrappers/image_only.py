"""Observation wrappers for RL libraries that expect a plain array observation (Stable-Baselines3, CleanRL)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from vlenvs.core.errors import InvalidConfigError


class ImageOnly(gym.ObservationWrapper):
    """Keep only the image: ``Box(0, 255, (H, W, 3), uint8)``.

    The instruction is dropped, so use it where the task is visible in the image (Maze2D draws the
    goal) or for image-only baselines; e.g. ``PPO("CnnPolicy", ImageOnly(gym.make("vlenvs/Maze2D-v0")))``.
    """

    def __init__(self, env: gym.Env) -> None:
        space = env.observation_space
        if not isinstance(space, gym.spaces.Dict) or "image" not in space.spaces:
            raise InvalidConfigError(f"ImageOnly needs a Dict observation space with an 'image' key, got {space}")
        super().__init__(env)
        self.observation_space = space["image"]

    def observation(self, observation: dict[str, Any]) -> np.ndarray:
        return observation["image"]
