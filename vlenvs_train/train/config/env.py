"""The ``env`` section: a registered env id, one of its presets, and kwargs checked by building the env's config.

Nothing is built or rendered: the id is looked up in Gymnasium's registry (after ``import vlenvs``), the
env's vector class is found through its ``vector_entry_point`` and its config class (``core_cls.config_cls``)
is made from the preset and ``kwargs`` exactly as ``gym.make_vec`` would make it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

from vlenvs.core.config import build_config, check_int
from vlenvs.core.errors import InvalidConfigError, invalid_choice
from vlenvs_train.train.config.fields import check_keys

#: Keys of ``env.kwargs`` the trainer sets itself.
RESERVED_KWARGS = {"preset": "env.preset", "num_envs": "the rollout sizes (grpo.groups, eval.batch, ...)"}


def vlenvs_ids() -> list[str]:
    """The ids ``import vlenvs`` registers."""
    import vlenvs

    return list(vlenvs.ENVS)


def env_spec(env_id: Any) -> Any:
    """Gymnasium's spec of ``env_id`` (after ``import vlenvs``), or a typed error listing the vlenvs ids."""
    import gymnasium

    import vlenvs  # noqa: F401  (registers the ids)

    if not isinstance(env_id, str) or not env_id:
        raise invalid_choice("env.id", env_id, vlenvs_ids())
    try:
        return gymnasium.spec(env_id)
    except gymnasium.error.Error as e:
        raise InvalidConfigError(f"invalid env.id {env_id!r} ({e}); registered vlenvs ids: "
                                 f"{', '.join(map(repr, vlenvs_ids()))}") from None


def vector_kwarg_types() -> dict[str, Any]:
    """``env.kwargs`` keys the native vector env (or ``gym.make_vec``) takes besides the env's config fields."""
    from gymnasium.vector import AutoresetMode

    from vlenvs.core.vector import RENDER_MODES

    modes = tuple(m.value for m in AutoresetMode)
    return {"autoreset_mode": Union[Literal[modes], AutoresetMode],  # type: ignore[valid-type]
            "render_mode": Optional[Literal[RENDER_MODES]],  # type: ignore[valid-type]
            "copy": bool, "max_episode_steps": Optional[int]}


def check_env(env_id: str, preset: str | None, kwargs: Mapping[str, Any]) -> Any:
    """Check an env id, preset and kwargs without building the env; returns the env's config (or ``None`` for
    an env that is not a native vlenvs env, whose kwargs cannot be checked before it is made)."""
    spec = env_spec(env_id)
    entry = spec.vector_entry_point
    if isinstance(entry, str):
        from gymnasium.envs.registration import load_env_creator

        entry = load_env_creator(entry)
    core = getattr(entry, "core_cls", None)
    if core is None:  # e.g. a plain Gymnasium env: no presets, kwargs go to its constructor as they are
        if preset is not None:
            raise InvalidConfigError(f"invalid env.preset {preset!r}: {env_id} has no presets; use env.preset: null")
        return None
    if preset is not None and preset not in core.presets:
        raise InvalidConfigError(f"invalid env.preset {preset!r} for {env_id}; valid choices: "
                                 f"{', '.join(map(repr, core.presets))}")
    for key, where in RESERVED_KWARGS.items():
        if key in kwargs:
            raise InvalidConfigError(f"invalid key 'env.kwargs.{key}': the trainer sets it; use {where}")
    vector = vector_kwarg_types()
    check_keys(core.config_cls, kwargs, "env.kwargs", extra=vector)
    if kwargs.get("max_episode_steps") is not None:
        check_int("env.kwargs.max_episode_steps", kwargs["max_episode_steps"], 1)
    config_kwargs = {k: v for k, v in kwargs.items() if k not in vector}
    try:
        return build_config(core.config_cls, core.presets, preset, config_kwargs)
    except InvalidConfigError as e:
        raise InvalidConfigError(f"env.kwargs: {e} (env {env_id}, preset {preset!r})") from None


@dataclass(frozen=True)
class EnvConfig:
    """The env the policy plays (training and evaluation)."""

    id: str = "vlenvs/Maze2D-v0"
    """Registered Gymnasium id (``import vlenvs`` registers ``vlenvs/Maze2D-v0``, ``vlenvs/GridWorld3D-v0``,
    ``vlenvs/Geometry3k-v0``)."""
    preset: str | None = "easy"
    """Named preset of the env (``None``: its defaults)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Config overrides passed to ``gym.make_vec`` (e.g. ``image_size``, ``max_steps``): the env config's
    fields, plus the vector env's ``autoreset_mode``, ``render_mode``, ``copy`` and ``max_episode_steps``.
    Checked by building the env's config from ``preset`` and these."""

    def __post_init__(self) -> None:
        if not isinstance(self.kwargs, Mapping):
            raise InvalidConfigError(f"env.kwargs must be a mapping, got {self.kwargs!r}")
        if self.preset is not None and not isinstance(self.preset, str):
            raise InvalidConfigError(f"invalid env.preset {self.preset!r}; expected a preset name or null")
        check_env(self.id, self.preset, self.kwargs)
