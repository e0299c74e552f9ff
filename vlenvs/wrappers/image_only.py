"""Image-only observations for RL libraries that expect a plain array (Stable-Baselines3, CleanRL)."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv

from vlenvs.wrappers._base import ObservationTransform, TransformSingle, TransformVector, checked_spaces


def image_space(image: spaces.Box, channels_first: bool, normalize: bool = False) -> spaces.Box:
    """``uint8[H, W, 3]``, or ``uint8[3, H, W]`` with ``channels_first``; ``float32`` in ``[0, 1]`` with ``normalize``."""
    h, w, c = image.shape
    shape = (c, h, w) if channels_first else (h, w, c)
    if normalize:
        return spaces.Box(0.0, 1.0, shape=shape, dtype=np.float32)
    return spaces.Box(0, 255, shape=shape, dtype=np.uint8)


def transform_images(images: np.ndarray, channels_first: bool, normalize: bool = False) -> np.ndarray:
    """A batch ``uint8[N, H, W, 3]`` as is, or as a contiguous ``uint8[N, 3, H, W]``; ``normalize`` divides by
    255 into ``float32``."""
    out = np.ascontiguousarray(images.transpose(0, 3, 1, 2)) if channels_first else images
    return np.divide(out, np.float32(255), dtype=np.float32) if normalize else out


class ImageTransform(ObservationTransform):
    """Keep only the image, optionally channel-first and/or as ``float32`` in ``[0, 1]``."""

    def __init__(self, image: spaces.Box, channels_first: bool, normalize: bool = False) -> None:
        self.channels_first, self.normalize = bool(channels_first), bool(normalize)
        self.single_space = image_space(image, self.channels_first, self.normalize)

    def __call__(self, images: np.ndarray, instructions: Sequence[str]) -> np.ndarray:
        return transform_images(images, self.channels_first, self.normalize)


class ImageOnly(TransformSingle, gym.utils.RecordConstructorArgs):
    """Keep only the image: ``Box(0, 255, (H, W, 3), uint8)`` (``(3, H, W)`` with ``channels_first=True``).

    The instruction is dropped, so use it where the task is visible in the image (Maze2D draws the goal)
    or for image-only baselines; e.g. ``PPO("CnnPolicy", ImageOnly(gym.make("vlenvs/Maze2D-v0")))``.
    Stable-Baselines3 transposes channel-last images itself; CleanRL-style torch code wants
    ``channels_first=True``; ``normalize=True`` gives ``float32`` in ``[0, 1]`` (``Box(0, 1)``) for libraries
    whose default encoders need float images (RLlib). Raises :class:`~vlenvs.core.errors.InvalidConfigError` for a vector env
    (use :class:`VectorImageOnly`), a non-vlenvs observation space, or a non-``Discrete`` action space
    (Geometry3k answers in free text: array-based RL libraries cannot drive it).
    """

    def __init__(self, env: gym.Env, *, channels_first: bool = False, normalize: bool = False) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, channels_first=channels_first, normalize=normalize)
        _, image = checked_spaces(env, "ImageOnly", vector=False)
        super().__init__(env, ImageTransform(image, channels_first, normalize))


class VectorImageOnly(TransformVector):
    """:class:`ImageOnly` for a vector env (``gym.make_vec``): batched ``uint8[N, H, W, 3]`` images.

    Works with every autoreset mode; under ``SameStep`` the ``final_obs`` in ``info`` is transformed too.
    """

    def __init__(self, env: VectorEnv, *, channels_first: bool = False, normalize: bool = False) -> None:
        _, image = checked_spaces(env, "VectorImageOnly", vector=True)
        super().__init__(env, ImageTransform(image, channels_first, normalize))
