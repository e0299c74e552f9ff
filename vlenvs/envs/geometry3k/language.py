"""Geometry3k in words, for agents: a text-answer task (see :mod:`vlenvs.core.language`)."""

from __future__ import annotations

from vlenvs.core.language import LanguageSpec

LANGUAGE = LanguageSpec(
    name="Geometry3k",
    task="Solve the geometry problem shown in the diagram and the instruction.",
    action_kind="text",
    answer_hint="the final answer only: a number or expression (with its unit if it has one)",
    fallback="",
)
