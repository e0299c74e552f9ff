"""Where every env of vlenvs_train is built (:class:`EnvFactory`, the only ``gym.make_vec`` call of the
package) and what the episode loop needs to know about one (:class:`ShardInfo`, :func:`episode_limit`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from vlenvs.core.errors import InvalidConfigError, invalid_choice


def episode_limit(env: Any) -> int:
    """Steps after which the env truncates: its config's ``episode_limit``/``max_steps``/``max_attempts``, or its
    ``max_episode_steps`` (the registry's time limit) if smaller; else 1000."""
    base = getattr(env, "unwrapped", env)
    cfg = getattr(getattr(base, "core", None), "config", None)
    limits = [getattr(base, "max_episode_steps", None)]
    for name in ("episode_limit", "max_steps", "max_attempts"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            limits.append(value)
            break
    limits = [v for v in limits if isinstance(v, int) and v > 0]
    return min(limits) if limits else 1000


@dataclass(frozen=True)
class EnvFactory:
    """A picklable recipe for a vlenvs vector env: ``gym.make_vec(id, num_envs, preset=..., **kwargs)``."""

    id: str
    """Registered Gymnasium id (``"vlenvs/Maze2D-v0"``, ...)."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Config overrides and vector options (``image_size``, ``autoreset_mode``, ...)."""
    preset: str | None = None
    """Named preset of the env (``None``: its defaults)."""

    def __post_init__(self) -> None:
        import vlenvs  # noqa: F401 - registers the vlenvs ids

        if self.id not in gym.registry:
            raise invalid_choice("env id", self.id, sorted(k for k in gym.registry if k.startswith("vlenvs/")))
        if not isinstance(self.kwargs, Mapping):
            raise InvalidConfigError(f"env kwargs must be a mapping, got {self.kwargs!r}")
        object.__setattr__(self, "kwargs", dict(self.kwargs))

    @classmethod
    def from_config(cls, config: Any) -> EnvFactory:
        """From anything with ``id``, ``preset`` and ``kwargs`` (e.g. the trainer's ``EnvConfig``)."""
        return cls(config.id, dict(config.kwargs), config.preset)

    def make(self, num_envs: int) -> Any:
        kwargs = dict(self.kwargs)
        if self.preset is not None:
            kwargs["preset"] = self.preset
        return gym.make_vec(self.id, num_envs=num_envs, **kwargs)


@dataclass(frozen=True)
class ShardInfo:
    """What the driver needs to know about a shard's env (spaces, action names, autoreset mode, limits)."""

    num_envs: int
    spec: Any
    action_names: tuple[str, ...]
    single_observation_space: Any
    single_action_space: Any
    autoreset_mode: str
    episode_limit: int

    @classmethod
    def of(cls, env: Any) -> ShardInfo:
        base = getattr(env, "unwrapped", env)
        mode = env.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
        return cls(int(env.num_envs), getattr(env, "spec", None), tuple(getattr(base, "action_names", ())),
                   env.single_observation_space, env.single_action_space, gym.vector.AutoresetMode(mode).value,
                   episode_limit(env))

    @property
    def image_space(self) -> Any:
        spaces = getattr(self.single_observation_space, "spaces", {})
        return spaces.get("image")


class ShardView:
    """Driver-side stand-in for a shard's vector env: just what :class:`BatchedAgent` reads from an env."""

    def __init__(self, info: ShardInfo) -> None:
        self.num_envs = info.num_envs
        self.spec = info.spec
        self.action_names = info.action_names
        self.single_observation_space = info.single_observation_space
        self.single_action_space = info.single_action_space
        self.metadata = {"autoreset_mode": gym.vector.AutoresetMode(info.autoreset_mode)}

    @property
    def unwrapped(self) -> ShardView:
        return self
