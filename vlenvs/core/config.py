"""Helpers for the per-env config dataclasses: presets, keyword overrides, early validation."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from typing import Any, TypeVar

from vlenvs.core.errors import InvalidConfigError, invalid_choice, out_of_range, unexpected_argument

C = TypeVar("C")


def build_config(
    cls: type[C], presets: Mapping[str, Mapping[str, Any]], preset: str | None, overrides: Mapping[str, Any]
) -> C:
    """Make ``cls`` from a named preset with keyword overrides on top.

    Unknown keys raise :class:`UnexpectedArgumentError` (an :class:`InvalidConfigError` and a ``TypeError``
    worded like Python's), unknown presets :class:`InvalidConfigError`, each naming the valid ones; field
    values are then validated by ``cls.__post_init__``.
    """
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise unexpected_argument(cls.__name__, unknown[0], fields)
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in presets:
            raise invalid_choice("preset", preset, presets)
        values.update(presets[preset])
    values.update(overrides)
    return cls(**values)


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise if ``value`` is not one of ``choices``."""
    if value not in choices:
        raise invalid_choice(name, value, choices)


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as int, raising if it is not an integer in ``[lo, hi]`` (bools and strings are not)."""
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise out_of_range(name, value, f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else ""))
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        raise out_of_range(name, value, f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}")
    return value


def check_float(name: str, value: Any, lo: float, hi: float) -> float:
    """Return ``value`` as float, raising if it is not a real number in ``[lo, hi]``.

    Only numbers count: a string such as ``"0.5"`` (which ``float()`` would parse) or a bool is an error here,
    not a crash later where the value is used.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise out_of_range(name, value, f"a number in [{lo}, {hi}]")
    f = float(value)
    if not lo <= f <= hi:  # also rejects NaN
        raise out_of_range(name, value, f"a number in [{lo}, {hi}]")
    return f


def image_hw(value: Any, lo: int = 8, hi: int = 2048) -> tuple[int, int]:
    """Normalise an ``image_size`` argument (int or (height, width)) and validate it."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        h, w = (check_int("image_size height", value[0], lo, hi), check_int("image_size width", value[1], lo, hi))
        return h, w
    if isinstance(value, (tuple, list)):
        raise InvalidConfigError(f"invalid image_size {value!r}; expected an int or a (height, width) pair")
    s = check_int("image_size", value, lo, hi)
    return s, s
