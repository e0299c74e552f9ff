"""Checks shared by every section: unknown keys and value types, named by their dotted key.

A recipe section (or a nested one such as ``sampler.vllm``) is checked against its dataclass's fields before
the dataclass is made: an unknown key, or a value of the wrong type (a string for a number, ``maybe`` for a
bool, ``abc`` for an integer), raises :class:`~vlenvs.core.errors.InvalidConfigError` naming the dotted key
(``sampler.server.bogus``) and the valid keys or the expected type. The dataclass's own ``__post_init__``
then checks ranges and choices.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from vlenvs.core.errors import InvalidConfigError, invalid_choice, out_of_range


@functools.lru_cache(maxsize=None)
def field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved type hint of a dataclass (``from __future__ import annotations`` resolved)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of type ``hint``, as far as a config needs: bools are not integers, integers are
    numbers, a list is a tuple (YAML has no tuples), containers' items are checked; unknown hints pass."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin is Union or origin is types.UnionType:
        return any(matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint is tuple or origin is tuple:
        if not isinstance(value, (tuple, list)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(matches(v, args[0]) for v in value)
        return not args or (len(args) == len(value) and all(matches(v, a) for v, a in zip(value, args)))
    if hint in (dict, Mapping) or origin in (dict, Mapping):
        return isinstance(value, Mapping) and all(isinstance(k, str) for k in value)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def describe(hint: Any) -> str:
    """What a value of type ``hint`` looks like, for error messages (``"null or an integer"``)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is Union or origin is types.UnionType:
        return " or ".join(describe(a) for a in sorted(args, key=lambda a: a is not type(None)))
    names = {type(None): "null", bool: "true or false", int: "an integer", float: "a number",
             str: "a string (quote numbers: '1')"}
    if hint in names:
        return names[hint]
    if hint is tuple or origin is tuple:
        inner = [describe(a) for a in args if a is not Ellipsis]
        return f"a list of {inner[0]}s" if len(args) == 2 and args[1] is Ellipsis else \
            f"a list of {len(args)} items ({', '.join(inner)})" if args else "a list"
    if hint in (dict, Mapping) or origin in (dict, Mapping):
        return "a mapping of names to values"
    return getattr(hint, "__name__", str(hint))


def check_value(key: str, value: Any, hint: Any) -> None:
    """Raise :class:`InvalidConfigError` naming ``key`` if ``value`` is not of type ``hint``."""
    if matches(value, hint):
        return
    if typing.get_origin(hint) is Literal:
        raise invalid_choice(key, value, typing.get_args(hint))
    raise out_of_range(key, value, describe(hint))


def check_keys(cls: type, values: Any, where: str, extra: Mapping[str, Any] | None = None) -> None:
    """Check a mapping against ``cls``'s fields (and ``extra`` name -> type hints): a mapping, no unknown key,
    every value of its field's type. ``where`` is the dotted section (``""`` for the top level)."""
    if not isinstance(values, Mapping):
        raise InvalidConfigError(f"recipe section {where!r} must be a mapping, got {values!r}")
    hints = {**field_types(cls), **(extra or {})}
    for key, value in values.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in hints:
            raise InvalidConfigError(f"unknown key {dotted!r}; valid {where or 'recipe'} keys: "
                                     f"{', '.join(map(repr, hints))}")
        check_value(dotted, value, hints[key])


def build_section(cls: type, values: Any, where: str, *, prefix: bool = False) -> Any:
    """``cls(**values)`` after :func:`check_keys`. ``prefix``: the class names its fields without the section
    (a component's own config, e.g. ``VLLMEngineConfig``), so its errors are prefixed with ``where``."""
    check_keys(cls, values, where)
    try:
        return cls(**values)
    except InvalidConfigError as e:
        if not prefix:
            raise
        raise InvalidConfigError(f"{where}: {e}") from None
