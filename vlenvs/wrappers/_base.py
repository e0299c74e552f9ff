"""Shared machinery of the observation wrappers: one batched transform, a single and a vector wrapper.

A transform maps a *batch* of vlenvs observations (``image uint8[N, H, W, 3]``, ``instruction`` tuple of
``N`` strings) to a batch of array observations. The single-env wrapper runs it on a batch of one, the
vector wrapper on the whole batch, so the two cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from gymnasium.vector.utils import batch_space

from vlenvs.core.errors import InvalidConfigError


def env_name(env: gym.Env | VectorEnv) -> str:
    """The env's registered id where it has one, else its class name (for error messages)."""
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env.unwrapped).__name__


def space_repr(space: spaces.Space) -> str:
    """A space as text, with Text spaces shortened (their charset would fill the message)."""
    if isinstance(space, spaces.Text):
        return f"Text(max_length={space.max_length})"
    if isinstance(space, spaces.Dict):
        return "Dict(" + ", ".join(f"{k!r}: {space_repr(v)}" for k, v in space.spaces.items()) + ")"
    return str(space)


def check_env_kind(env: Any, wrapper: str, vector: bool, other: str | None = None) -> None:
    """Raise unless ``env`` is a single :class:`gymnasium.Env` (``vector=False``) or a ``VectorEnv``;
    ``other`` names what to use for the other kind (default: the ``Vector``-prefixed twin)."""
    if vector and not isinstance(env, VectorEnv):
        other = other or wrapper.removeprefix("Vector")
        raise InvalidConfigError(
            f"{wrapper} wraps a gymnasium.vector.VectorEnv (e.g. gym.make_vec(...)), got {type(env).__name__}; "
            f"for a single env use {other}"
        )
    if not vector and not isinstance(env, gym.Env):
        other = other or f"Vector{wrapper}"
        raise InvalidConfigError(
            f"{wrapper} wraps a single gymnasium.Env (e.g. gym.make(...)), got {type(env).__name__}; "
            f"for a vector env use {other}"
        )


def check_discrete_actions(space: spaces.Space, name: str, wrapper: str) -> None:
    """Array-based RL libraries (Stable-Baselines3, CleanRL) need a ``Discrete`` action space."""
    if not isinstance(space, spaces.Discrete):
        hint = ""
        if isinstance(space, spaces.Text):
            hint = " (its actions are free-text answers: drive it with a language policy, e.g. vlenvs_train)"
        raise InvalidConfigError(
            f"{wrapper} prepares envs for array-based RL libraries (Stable-Baselines3, CleanRL), which need a "
            f"Discrete action space; {name} has action space {space_repr(space)}{hint}"
        )


def image_box(space: spaces.Space, name: str, wrapper: str) -> spaces.Box:
    """The ``image`` Box (``uint8[H, W, 3]``) of a vlenvs Dict observation space."""
    image = space.spaces.get("image") if isinstance(space, spaces.Dict) else None
    if not isinstance(image, spaces.Box) or image.dtype != np.uint8 or len(image.shape) != 3 or image.shape[2] != 3:
        raise InvalidConfigError(
            f"{wrapper} needs a Dict observation space with an 'image' key of uint8[H, W, 3] "
            f"(a vlenvs env), but {name} has {space_repr(space)}"
        )
    return image


def unbatch(batch: Any) -> Any:
    """Element 0 of a batched array observation (an array or a dict of arrays)."""
    if isinstance(batch, dict):
        return {key: value[0] for key, value in batch.items()}
    return batch[0]


class ObservationTransform(ABC):
    """A batched observation transform and the single observation space it produces."""

    #: Observation space of one env after the transform.
    single_space: spaces.Space

    @abstractmethod
    def __call__(self, images: np.ndarray, instructions: Sequence[str]) -> Any:
        """Transform ``images uint8[N, H, W, 3]`` and ``N`` instructions into a batch of observations."""

    def one(self, observation: dict[str, Any]) -> Any:
        """Transform one (unbatched) vlenvs observation."""
        return unbatch(self(observation["image"][None], (observation["instruction"],)))


class TransformSingle(gym.ObservationWrapper):
    """A single-env :class:`gymnasium.ObservationWrapper` running an :class:`ObservationTransform`."""

    def __init__(self, env: gym.Env, transform: ObservationTransform) -> None:
        super().__init__(env)
        self.transform = transform
        self.observation_space = transform.single_space

    def observation(self, observation: dict[str, Any]) -> Any:
        return self.transform.one(observation)


class TransformVector(VectorWrapper):
    """A vector-env wrapper running an :class:`ObservationTransform` on the whole batch.

    Unlike :class:`gymnasium.vector.VectorObservationWrapper` (NextStep and Disabled autoreset only), it
    also supports ``SameStep`` autoreset: the ``final_obs`` of finished envs in ``info`` is transformed too.
    """

    def __init__(self, env: VectorEnv, transform: ObservationTransform) -> None:
        super().__init__(env)
        self.transform = transform
        self.single_observation_space = transform.single_space
        self.observation_space = batch_space(transform.single_space, env.num_envs)

    @property
    def autoreset_mode(self) -> AutoresetMode:
        """The wrapped env's autoreset mode (clients such as TorchRL read the attribute, not the metadata)."""
        return self.env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self.observations(obs), info

    def step(self, actions: Any):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        if "final_obs" in info:
            info = dict(info)
            final = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(info["_final_obs"]):
                final[i] = self.transform.one(info["final_obs"][i])
            info["final_obs"] = final
        return self.observations(obs), reward, terminated, truncated, info

    def observations(self, observations: dict[str, Any]) -> Any:
        """Transform a batch of vlenvs observations."""
        return self.transform(observations["image"], observations["instruction"])


def checked_spaces(env: Any, wrapper: str, vector: bool) -> tuple[spaces.Dict, spaces.Box]:
    """Check ``env`` can be wrapped by ``wrapper``; return its (single) observation space and image Box."""
    check_env_kind(env, wrapper, vector)
    name = env_name(env)
    obs_space = env.single_observation_space if vector else env.observation_space
    act_space = env.single_action_space if vector else env.action_space
    image = image_box(obs_space, name, wrapper)
    check_discrete_actions(act_space, name, wrapper)
    return obs_space, image
