"""Typed errors for user input, shared by every vlenvs environment.

Each error names the bad value and the valid choices. Internal invariants use ``assert``;
anything a user can get wrong raises one of these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gymnasium


class VlenvsError(Exception):
    """Base class of every error vlenvs raises on purpose."""


class InvalidConfigError(VlenvsError, ValueError):
    """A constructor argument (size, preset, mode, ...) is out of range or unknown."""


class UnexpectedArgumentError(InvalidConfigError, TypeError):
    """An unknown keyword argument. Also a :class:`TypeError` worded like Python's own ("... got an
    unexpected keyword argument 'x'"), so callers that probe optional keywords and catch Python's error
    (TorchRL's ``GymEnv`` passes ``frameskip``) work unchanged."""


class InvalidActionError(VlenvsError, ValueError):
    """An action is not one the env accepts (wrong type, shape or value)."""


class ResetNeededError(VlenvsError, gymnasium.error.ResetNeeded):
    """``step`` was called before ``reset`` or after the episode ended (single env)."""


class DatasetError(VlenvsError, OSError):
    """A dataset file is missing, unreadable or malformed; the message names the file."""


class RequestError(VlenvsError, ValueError):
    """A request to a vlenvs service (e.g. the Tinker-API service) is malformed or asks for something the
    service does not support; the message names the bad field or value and what is supported."""


def _fmt_choices(choices: Iterable[Any], limit: int = 20) -> str:
    items = [repr(c) for c in choices]
    if len(items) > limit:
        items = items[:limit] + [f"... ({len(items) - limit} more)"]
    return ", ".join(items)


def invalid_choice(
    name: str, value: Any, choices: Iterable[Any], error: type[VlenvsError] = InvalidConfigError
) -> VlenvsError:
    """Build the standard 'bad value, here are the valid choices' error."""
    return error(f"invalid {name} {value!r}; valid choices: {_fmt_choices(choices)}")


def out_of_range(
    name: str, value: Any, valid: str, error: type[VlenvsError] = InvalidConfigError
) -> VlenvsError:
    """Build the standard 'bad value, here is the valid range' error."""
    return error(f"invalid {name} {value!r}; expected {valid}")


def unexpected_argument(owner: str, key: str, choices: Iterable[Any]) -> UnexpectedArgumentError:
    """Build the 'unknown keyword argument, here are the valid ones' error, worded like Python's TypeError."""
    return UnexpectedArgumentError(
        f"{owner}.__init__() got an unexpected keyword argument {key!r} (invalid {owner} argument {key!r}; "
        f"valid choices: {_fmt_choices(choices)})"
    )
