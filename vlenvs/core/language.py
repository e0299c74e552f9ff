"""What an agent is told about an env in words: the per-env *language spec*, and its lookup by env id.

Each env keeps its spec in its own folder, ``vlenvs/envs/<env>/language.py``, as a module attribute
``LANGUAGE`` (a :class:`LanguageSpec`: plain data, no heavy imports). :func:`language_spec` finds it through
Gymnasium's registry: the env id's entry point names the env's module, whose package holds ``language.py``.
So a new env brings its agent-facing words in its own folder, and any env registered with a package that has
a ``language.py`` (third-party ones too) is found the same way. Agents (``vlenvs_train``) render prompts,
parse replies and train tokenizers from these specs; this module only holds the data.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from vlenvs.core.errors import invalid_choice

ActionKind = Literal["discrete", "text"]
ACTION_KINDS = ("discrete", "text")


@dataclass(frozen=True)
class LanguageSpec:
    """What an agent is told about one env: its task text, action vocabulary, answer hints and feedback."""

    name: str
    """Short env name used in prompts."""

    task: str
    """What the agent has to do, in a few sentences (the system prompt's first paragraph)."""

    action_kind: ActionKind = "discrete"
    """``"discrete"``: the reply names one of the env's ``action_names``; ``"text"``: the reply's answer is
    the action."""

    action_help: Mapping[str, str] = field(default_factory=dict)
    """Action name -> what it does (shown in the system prompt; actions the env lacks are left out)."""

    synonyms: Mapping[str, str] = field(default_factory=dict)
    """Other words for an action: phrase -> action name (case, ``_``/``-``/spaces are ignored)."""

    fallback: str | None = None
    """Default action name (or answer text) sent to the env when a reply is invalid; ``None``: the first action."""

    answer_hint: str = ""
    """How to write the answer (e.g. 'a number with its unit'), for text envs."""

    feedback: Mapping[str, str] = field(default_factory=dict)
    """Info key -> sentence told to the agent next turn when that (boolean) info flag is set."""

    phrases: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """Texts a tokenizer trained for this env should know besides the prompts (e.g. instructions as the env
    words them)."""

    def __post_init__(self) -> None:
        if self.action_kind not in ACTION_KINDS:
            raise invalid_choice("action_kind", self.action_kind, ACTION_KINDS)

    def legal_actions(self, action_names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(action_names) if self.action_kind == "discrete" else ()


def language_module(env_id: str) -> str | None:
    """The module that should hold ``env_id``'s spec: ``language`` beside the module of its entry point
    (``None`` for an unregistered id or a callable entry point)."""
    import gymnasium as gym

    import vlenvs  # noqa: F401 - registers the vlenvs ids

    spec = gym.registry.get(env_id)
    entry = getattr(spec, "entry_point", None)
    if not isinstance(entry, str) or ":" not in entry:
        return None
    module = entry.split(":", 1)[0]
    return module.rsplit(".", 1)[0] + ".language" if "." in module else None


def language_spec(env_id: str) -> LanguageSpec | None:
    """The :class:`LanguageSpec` of a registered env id, from its folder's ``language.py`` (``None`` if it has
    none)."""
    name = language_module(env_id)
    if name is None:
        return None
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            return None  # the env's package has no language module
        raise
    spec = getattr(module, "LANGUAGE", None)
    return spec if isinstance(spec, LanguageSpec) else None


def language_specs(env_ids: tuple[str, ...] | None = None) -> dict[str, LanguageSpec]:
    """Env id -> spec for ``env_ids`` (default: every vlenvs id, in registration order) that have one."""
    if env_ids is None:
        from vlenvs.registration import ENVS

        env_ids = tuple(ENVS)
    specs = {env_id: language_spec(env_id) for env_id in env_ids}
    return {k: v for k, v in specs.items() if v is not None}
