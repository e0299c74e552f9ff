"""The procedural generator: seeded Geometry3K-style problems with exact answers, four choices and a
worked solution. Families live in :mod:`vlenvs.envs.geometry3k.problems`, grouped by topic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.problems import areas, circles, lines, polygons, triangles
from vlenvs.envs.geometry3k.problems.base import Problem, distinct_positive

#: topic -> {family id -> family function}
TOPICS = {
    "triangles": triangles.FAMILIES,
    "circles": circles.FAMILIES,
    "parallel_lines": lines.FAMILIES,
    "polygons": polygons.FAMILIES,
    "areas": areas.FAMILIES,
}
LEVELS = {"easy": 0, "medium": 1, "hard": 2}
LETTERS = "ABCD"


@dataclass(frozen=True)
class Generated:
    """A generated problem with its four choices drawn."""

    problem: Problem
    choices: tuple[Exact, Exact, Exact, Exact]
    correct: int
    """Index of the correct choice."""


def _fallbacks(answer: Exact) -> list[Exact]:
    """Generic wrong answers used when a family's own distractors collide."""
    return [answer * 2, answer + 1, answer + 2, answer * Exact.of(3, 1) / 2, answer + 5, answer + 10]


def generate(rng: np.random.Generator, difficulty: str, topics: tuple[str, ...]) -> Generated:
    """Draw one problem of ``difficulty`` from ``topics`` with four distinct choices, one correct."""
    level = LEVELS[difficulty]
    families = [fn for t in topics for fn in TOPICS[t].values()]
    problem = families[int(rng.integers(len(families)))](rng, level)
    own = list(problem.distractors)
    order = rng.permutation(len(own))
    wrong = distinct_positive([own[i] for i in order] + _fallbacks(problem.answer), problem.answer)[:3]
    assert len(wrong) == 3, problem
    correct = int(rng.integers(4))
    choices = wrong[:correct] + [problem.answer] + wrong[correct:]
    return Generated(problem, (choices[0], choices[1], choices[2], choices[3]), correct)
