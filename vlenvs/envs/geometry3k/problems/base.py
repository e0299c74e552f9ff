"""What every problem family returns, and the small helpers the families share."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.figure import Figure

DEG = "°"


@dataclass(frozen=True)
class Problem:
    """One generated problem before its choices are drawn."""

    family: str
    """Family id, e.g. ``"pythagoras"``."""
    text: str
    """The question (what a Geometry3K ``problem_text`` would be)."""
    answer: Exact
    """The exact answer (a number of degrees when ``unit`` is ``°``)."""
    unit: str
    """``"°"`` for angles, ``""`` otherwise."""
    distractors: tuple[Exact, ...]
    """Plausible wrong answers (typical mistakes), most plausible first."""
    solution: str
    """A worked solution ending with the answer (for SFT)."""
    figure: Figure
    """The diagram, to scale."""


def ri(rng: np.random.Generator, lo: int, hi: int) -> int:
    """A uniform integer in ``[lo, hi]``."""
    return int(rng.integers(lo, hi + 1))


def pick(rng: np.random.Generator, seq):
    """A uniform element of ``seq``."""
    return seq[int(rng.integers(len(seq)))]


def num(v: Exact | int | Fraction) -> str:
    """A value as readable text (``2√3``, ``5/2``, ``12``)."""
    return v.text() if isinstance(v, Exact) else str(v)


def E(v: int | Fraction) -> Exact:
    """A rational as :class:`Exact`."""
    return Exact.of(v)


def lin(a: int, b: int, var: str = "x") -> str:
    """The linear expression ``a*var + b`` as text: ``x``, ``3x + 5``, ``2x - 10``."""
    head = var if a == 1 else f"{a}{var}"
    return head if b == 0 else f"{head} + {b}" if b > 0 else f"{head} - {-b}"


def as_linear(rng: np.random.Generator, value: int, x: int, level: int) -> tuple[int, int]:
    """Write ``value`` as ``a*x + b`` with a small ``a`` (``b`` may be negative)."""
    a = ri(rng, 1, 2 if level < 2 else 4)
    if a * x >= value + 40:
        a = 1
    return a, value - a * x


def solve_text(pairs: list[tuple[int, int]], total: int, x: int) -> str:
    """Worked algebra for ``sum(a_i x + b_i) = total``."""
    a, b = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
    lhs = " + ".join(f"({lin(*p)})" for p in pairs)
    steps = [f"{lhs} = {total}", f"{lin(a, b)} = {total}"]
    if b:
        steps.append(f"{a}x = {total - b}" if a != 1 else f"x = {total - b}")
    if a != 1:
        steps.append(f"x = {x}")
    return ", so ".join(steps)


def equate_text(p: tuple[int, int], q: tuple[int, int], x: int) -> str:
    """Worked algebra for ``p[0] x + p[1] = q[0] x + q[1]`` (different coefficients)."""
    if p[0] < q[0]:
        p, q = q, p
    a, b = p[0] - q[0], q[1] - p[1]
    head = f"{lin(*p)} = {lin(*q)}, so "
    return head + (f"x = {x}" if a == 1 else f"{a}x = {b} and x = {x}")


def distinct_positive(values: list[Exact], answer: Exact) -> list[Exact]:
    """Positive values different from ``answer`` and from each other (by numeric value), in order."""
    out: list[Exact] = []
    seen = [float(answer)]
    for v in values:
        f = float(v)
        if f > 1e-9 and all(abs(f - s) > 1e-6 * max(1.0, abs(s)) for s in seen):
            out.append(v)
            seen.append(f)
    return out
