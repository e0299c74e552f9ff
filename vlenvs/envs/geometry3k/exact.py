"""A small exact number type for generated answers: sums of ``c * sqrt(r) * pi**k`` with rational ``c``.

Every quantity the generator produces (angles, lengths by Pythagoras or special triangles, areas with
``pi``, trig ratios) lives in this set, so the generator does exact arithmetic without calling a CAS on
the hot path. :meth:`Exact.to_sympy` gives the same value as a sympy expression (the tests check the two
agree on every family).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

Key = tuple[int, int]  # (square-free radicand, power of pi)


@lru_cache(maxsize=4096)
def square_split(n: int) -> tuple[int, int]:
    """``n = outside**2 * inside`` with ``inside`` square-free; returns ``(outside, inside)``."""
    assert n > 0
    outside, inside, f = 1, n, 2
    while f * f <= inside:
        while inside % (f * f) == 0:
            inside //= f * f
            outside *= f
        f += 1
    return outside, inside


class Exact:
    """An exact real number ``sum(c * sqrt(r) * pi**k)``; immutable and hashable."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[Key, Fraction] | None = None) -> None:
        clean = {k: Fraction(v) for k, v in (terms or {}).items() if v != 0}
        self.terms: tuple[tuple[Key, Fraction], ...] = tuple(sorted(clean.items()))

    # ------------------------------------------------------------ builders
    @classmethod
    def of(cls, value: int | Fraction, radicand: int = 1, pi: int = 0) -> Exact:
        """``value * sqrt(radicand) * pi**pi`` with the square part of ``radicand`` taken out."""
        out, inside = square_split(radicand)
        return cls({(inside, pi): Fraction(value) * out})

    @classmethod
    def sqrt(cls, q: int | Fraction) -> Exact:
        """``sqrt(q)`` of a non-negative rational, simplified (``sqrt(p/q) = sqrt(p*q)/q``)."""
        q = Fraction(q)
        assert q >= 0
        if q == 0:
            return cls()
        return cls.of(Fraction(1, q.denominator), q.numerator * q.denominator)

    # ---------------------------------------------------------- arithmetic
    def __add__(self, other: Exact | int | Fraction) -> Exact:
        other = _lift(other)
        acc = dict(self.terms)
        for k, v in other.terms:
            acc[k] = acc.get(k, Fraction(0)) + v
        return Exact(acc)

    __radd__ = __add__

    def __neg__(self) -> Exact:
        return Exact({k: -v for k, v in self.terms})

    def __sub__(self, other: Exact | int | Fraction) -> Exact:
        return self + (-_lift(other))

    def __rsub__(self, other: Exact | int | Fraction) -> Exact:
        return _lift(other) - self

    def __mul__(self, other: Exact | int | Fraction) -> Exact:
        other = _lift(other)
        acc: dict[Key, Fraction] = {}
        for (r1, p1), c1 in self.terms:
            for (r2, p2), c2 in other.terms:
                out, inside = square_split(r1 * r2)
                key = (inside, p1 + p2)
                acc[key] = acc.get(key, Fraction(0)) + c1 * c2 * out
        return Exact(acc)

    __rmul__ = __mul__

    def __truediv__(self, other: Exact | int | Fraction) -> Exact:
        other = _lift(other)
        assert len(other.terms) == 1, "division only by a single term"
        (r, p), c = other.terms[0]
        return self * Exact({(r, -p): 1 / (c * r)})

    # --------------------------------------------------------------- views
    def __float__(self) -> float:
        return float(sum(float(c) * math.sqrt(r) * math.pi**p for (r, p), c in self.terms))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exact) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __repr__(self) -> str:
        return f"Exact({self.latex()})"

    @property
    def is_rational(self) -> bool:
        """True when the value is a plain rational number."""
        return all(k == (1, 0) for k, _ in self.terms)

    @property
    def rational(self) -> Fraction:
        """The value as a Fraction (only for rational values)."""
        assert self.is_rational
        return self.terms[0][1] if self.terms else Fraction(0)

    def latex(self) -> str:
        """LaTeX, e.g. ``2\\sqrt{3}``, ``\\frac{5\\pi}{2}``, ``4 + 4\\sqrt{2}``."""
        return _join([_term(c, r, p, latex=True) for (r, p), c in self.terms]) if self.terms else "0"

    def text(self) -> str:
        """Plain text with unicode symbols, e.g. ``2√3``, ``5π/2``, ``4 + 4√2``."""
        return _join([_term(c, r, p, latex=False) for (r, p), c in self.terms]) if self.terms else "0"

    def to_sympy(self):
        """The same number as a sympy expression."""
        import sympy

        return sympy.Add(
            *[sympy.Rational(c.numerator, c.denominator) * sympy.sqrt(r) * sympy.pi**p for (r, p), c in self.terms]
        )


def _lift(x: Exact | int | Fraction) -> Exact:
    return x if isinstance(x, Exact) else Exact({(1, 0): Fraction(x)})


def _join(parts: list[str]) -> str:
    out = parts[0]
    for part in parts[1:]:
        out += f" - {part[1:]}" if part.startswith("-") else f" + {part}"
    return out


def _term(c: Fraction, r: int, p: int, latex: bool) -> str:
    sign = "-" if c < 0 else ""
    num, den = abs(c.numerator), c.denominator
    if p < 0:  # only ratios like 1/pi; rare, keep them readable
        den_sym = ("\\pi" if latex else "π") + (f"^{{{-p}}}" if latex and p < -1 else "" if p == -1 else f"^{-p}")
        body = _term(Fraction(num, 1), r, 0, latex)
        return f"{sign}\\frac{{{body}}}{{{den}{den_sym}}}" if latex else f"{sign}{body}/({den}{den_sym})"
    sym = ""
    if r != 1:
        sym += f"\\sqrt{{{r}}}" if latex else f"√{r}"
    if p:
        sym += ("\\pi" if latex else "π") + (f"^{{{p}}}" if latex and p > 1 else f"^{p}" if p > 1 else "")
    lead = "" if (num == 1 and sym) else str(num)
    if den == 1:
        return f"{sign}{lead}{sym}"
    if latex:
        return f"{sign}\\frac{{{lead}{sym}}}{{{den}}}"
    return f"{sign}{lead}{sym}/{den}" if sym else f"{sign}{num}/{den}"
