"""The exact number type agrees with sympy."""

from fractions import Fraction

import sympy
from hypothesis import given
from hypothesis import strategies as st

from vlenvs.envs.geometry3k.exact import Exact, square_split

radicands = st.sampled_from([1, 2, 3, 5, 6, 8, 12, 18, 27, 50])
fractions = st.fractions(min_value=-20, max_value=20, max_denominator=12)
exacts = st.builds(lambda c, r, p: Exact.of(c, r, p), fractions, radicands, st.integers(0, 1))


@given(exacts, exacts, exacts)
def test_arithmetic_matches_sympy(a, b, c):
    expr = (a + b) * c - a
    assert sympy.simplify(expr.to_sympy() - ((a.to_sympy() + b.to_sympy()) * c.to_sympy() - a.to_sympy())) == 0
    assert abs(float(expr) - float(expr.to_sympy().evalf())) < 1e-9 * max(1.0, abs(float(expr)))


@given(st.fractions(min_value=0, max_value=500, max_denominator=30))
def test_sqrt_squares_back(q):
    root = Exact.sqrt(q)
    assert root * root == Exact.of(q)
    assert sympy.simplify(root.to_sympy() - sympy.sqrt(sympy.Rational(q.numerator, q.denominator))) == 0


@given(st.integers(1, 10_000))
def test_square_split(n):
    out, inside = square_split(n)
    assert out * out * inside == n
    assert all(inside % (f * f) for f in range(2, int(inside**0.5) + 1))


def test_spellings():
    assert Exact.of(2, 12).latex() == "4\\sqrt{3}" and Exact.of(2, 12).text() == "4√3"
    assert (
        Exact.of(Fraction(5, 2), 1, 1).latex() == "\\frac{5\\pi}{2}" and Exact.of(Fraction(5, 2), 1, 1).text() == "5π/2"
    )
    assert Exact.of(Fraction(1, 2), 3).text() == "√3/2"
    s = Exact.of(4) + Exact.of(4, 2)
    assert s.latex() == "4 + 4\\sqrt{2}" and not s.is_rational
    assert (Exact.of(3) - Exact.of(5, 2)).text() == "3 - 5√2"
    assert Exact.of(Fraction(-3, 4)).latex() == "-\\frac{3}{4}"
