"""The adapter's view of an env's language spec: looked up through the registry from the env's own folder
(``vlenvs/envs/<env>/language.py``, see :mod:`vlenvs.core.language`); an env without one gets a generic spec
from its action names."""

from __future__ import annotations

from typing import Any

from gymnasium import spaces

from vlenvs.core.language import LanguageSpec, language_spec, language_specs

#: The spec type (an alias kept for the adapter's older name).
EnvSpec = LanguageSpec

#: Env id -> spec of every vlenvs env (from each env's ``language.py``, in registration order).
ENV_SPECS: dict[str, EnvSpec] = language_specs()


def generic_spec(action_names: tuple[str, ...], action_space: Any = None) -> EnvSpec:
    """A spec for an env the adapter has no entry for: the task is in the instruction."""
    text = isinstance(action_space, spaces.Text)
    return EnvSpec(
        name="environment",
        task="Follow the instruction.",
        action_kind="text" if text else "discrete",
        action_help={a: a.replace("_", " ") for a in action_names},
        fallback="" if text else None,
    )


def env_id_of(env: Any) -> str | None:
    """The Gymnasium id an env was made with, if any."""
    spec = getattr(env, "spec", None) or getattr(getattr(env, "unwrapped", None), "spec", None)
    return getattr(spec, "id", None)


def spec_for_env(env: Any) -> EnvSpec:
    """The language spec of a registered env (single or vector), or a generic one."""
    env_id = env_id_of(env)
    spec = language_spec(env_id) if env_id is not None else None  # the env folder's own (a module import: cached)
    if spec is not None:
        return spec
    action_space = getattr(env, "single_action_space", getattr(env, "action_space", None))
    return generic_spec(tuple(getattr(env, "action_names", ())), action_space)
