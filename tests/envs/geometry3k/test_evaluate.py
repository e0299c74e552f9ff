"""The exact evaluator: grammar, canonical values checked against sympy (built from trees, never from
text), refusals with their reasons, and the work budget enforced by counting, not by timing."""

from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from vlenvs.envs.geometry3k.evaluate import MAX_DEPTH, evaluate
from vlenvs.envs.geometry3k.surd import BUDGET, Budget, Refused


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2\\sqrt{3}", "\\sqrt{12}"),
        ("\\frac{6}{\\sqrt{3}}", "2\\sqrt3"),
        ("\\frac12", "0.5"),
        ("\\sqrt[3]{16}", "2\\sqrt[3]{2}"),
        ("2^{1/3}*2^{2/3}", "2"),
        ("\\frac{1}{\\sqrt{2}+1}", "\\sqrt{2}-1"),
        ("\\frac{1}{1+\\sqrt2+\\sqrt3}", "\\frac{2+\\sqrt2-\\sqrt6}{4}"),
        ("(\\sqrt2+\\sqrt3)^2", "5+2\\sqrt6"),
        ("\\pi/6", "\\frac{1}{6}\\pi"),
        ("1/2\\pi", "\\pi/2"),  # implicit products bind like *, left to right
        ("√130", "\\sqrt{130}"),
        ("sqrt(8)", "2√2"),
        ("2**3", "8"),
        ("-\\sqrt[3]{-8}", "2"),
        ("\\{\\frac{3}{4}\\}", "0.75"),
        ("\\sqrt{\\pi^2}", "\\pi"),
        ("\\frac{\\sqrt{3}}{2\\pi}", "\\frac{\\sqrt{12}}{4\\pi}"),
    ],
)
def test_equal_spellings_have_equal_values(a, b):
    assert evaluate(a) == evaluate(b)


@pytest.mark.parametrize(
    ("s", "reason"),
    [
        ("9^{9^{9}}", "exponent"),
        ("2^{99}", "exponent"),
        ("2^3^2", "exponent"),
        ("2^{\\sqrt2}", "exponent"),
        ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "nesting"),
        ("\\sum1", "command"),
        ("x+1", "symbol"),
        ("__import__", "syntax"),
        ("1" * 21, "digits"),
        ("1" * 161, "length"),
        ("1/0", "zero_division"),
        ("\\frac{1}{\\sqrt2-\\sqrt2}", "zero_division"),
        ("\\sqrt{-1}", "not_real"),
        ("\\sqrt{1000000007}", "radicand"),
        ("\\sqrt{1+\\sqrt2}", "nested_root"),
        ("\\frac{1}{1+\\pi}", "division"),
        ("\\sqrt{\\pi}", "pi_power"),
        ("(1", "syntax"),
        ("(1]", "brackets"),
        ("", "empty"),
        ("+".join(f"√{p}" for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59)), "terms"),
        ("(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{24}", "complexity"),
        ("(99999999999999999999/99999999999999999997)^{24}", "size"),
    ],
)
def test_refusals_name_their_bound(s, reason):
    with pytest.raises(Refused) as e:
        evaluate(s)
    assert e.value.reason == reason


COSTLY = [
    "(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{24}",
    "(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{-24}",
    "(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{12}" * 4,
]


@pytest.mark.parametrize("s", COSTLY)
def test_the_budget_bounds_the_work_by_counting(s):
    """Each costly answer needs more than the budget: with the default budget it is refused when the
    count runs out, so no answer does more than BUDGET units of work (the time per unit is measured by
    benchmarks/geometry3k_throughput.py)."""
    unlimited = Budget(10**9)
    try:
        evaluate(s, unlimited)
    except Refused as e:
        assert e.reason in ("complexity", "size", "terms")
    assert 10**9 - unlimited.left > BUDGET
    capped = Budget()
    with pytest.raises(Refused) as e:
        evaluate(s, capped)
    assert e.value.reason == "complexity"
    assert capped.left < 0  # refused on the charge that crossed zero, before that operation ran


# ----------------------------------------------------------- random trees vs sympy
leaves = st.one_of(
    st.integers(0, 60).map(lambda n: (str(n), sympy.Integer(n))),
    st.sampled_from([2, 3, 5, 6, 12, 18, 50]).map(lambda r: (f"\\sqrt{{{r}}}", sympy.sqrt(r))),
    st.sampled_from([2, 3, 4]).map(lambda r: (f"\\sqrt[3]{{{r}}}", sympy.root(r, 3))),
    st.just(("\\pi", sympy.pi)),
)


def _extend(children):
    pair = st.tuples(children, children)
    return st.one_of(
        pair.map(lambda p: (f"({p[0][0]})+({p[1][0]})", p[0][1] + p[1][1])),
        pair.map(lambda p: (f"({p[0][0]})-({p[1][0]})", p[0][1] - p[1][1])),
        pair.map(lambda p: (f"({p[0][0]})\\cdot({p[1][0]})", p[0][1] * p[1][1])),
        pair.map(lambda p: (f"\\frac{{{p[0][0]}}}{{{p[1][0]}}}", p[0][1] / p[1][1])),
        children.map(lambda c: (f"({c[0]})^{{2}}", c[1] ** 2)),
    )


trees = st.recursive(leaves, _extend, max_leaves=5)


@settings(max_examples=150, deadline=None)
@given(trees)
def test_values_agree_with_sympy(tree):
    text, expr = tree
    try:
        value = evaluate(text)
    except Refused as e:
        # refused only where the grammar says so: division by zero or by a sum with cube roots / pi
        assert e.reason in ("zero_division", "division", "complexity", "terms", "size", "length", "nesting")
        return
    exact = sympy.nsimplify(expr) if expr.is_number else expr
    want = complex(sympy.N(exact, 30))
    assert abs(want.imag) < 1e-12
    assert float(value) == pytest.approx(want.real, rel=1e-9, abs=1e-9), text
    r = value.as_rational
    if r is not None:  # exact rationals must be exactly sympy's value
        assert sympy.simplify(expr - sympy.Rational(r.numerator, r.denominator)) == 0, text


@settings(max_examples=100, deadline=None)
@given(trees, trees)
def test_equality_is_exact(a, b):
    try:
        va, vb = evaluate(a[0]), evaluate(b[0])
    except Refused:
        return
    close = abs(float(va) - float(vb)) <= 1e-12 * max(1.0, abs(float(va)))
    if va == vb:
        assert close
    elif close:  # numerically equal yet different canonical forms would be a missed equality
        assert sympy.simplify(a[1] - b[1]) != 0, (a[0], b[0])


def test_rational_result_is_a_fraction():
    assert evaluate("\\frac{3}{4}+0.25*2").as_rational == Fraction(5, 4)
    assert evaluate("\\sqrt{2}").as_rational is None
