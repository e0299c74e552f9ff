"""Hypothesis: random equivalent spellings of random exact values grade equal; random near-misses
(a small rational shift, another radicand, a factor of pi) grade unequal."""

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from vlenvs.envs.geometry3k.answers import normalize
from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.grader import Gold, grade

RADICANDS = [1, 2, 3, 5, 6, 7, 10]
values = st.tuples(
    st.fractions(min_value=Fraction(1, 9), max_value=300, max_denominator=12),
    st.sampled_from(RADICANDS),
    st.integers(0, 1),
)
WRAPS = ["{}", "({})", "[{}]", "\\left({}\\right)", "\\{{{}\\}}", "\\left[{}\\right]"]
PRODUCTS = ["", "\\cdot ", "\\times ", "*", " ", "×"]
PIS = ["\\pi", "π", "pi"]
CONTAINERS = [
    "\\boxed{{{}}}",
    "<answer>{}</answer>",
    "Answer: {}",
    "So the answer is ${}$.",
    "<think>Let me see, maybe \\boxed{{0}}.</think> Final: \\boxed{{{}}}",
    "**Answer: {}**",
]


def _coef(draw, c: Fraction) -> str:
    k = draw(st.integers(1, 3))  # scale numerator and denominator alike
    a, b = c.numerator * k, c.denominator * k
    if b == 1:
        return str(a)
    forms = ["\\frac{{{}}}{{{}}}", "\\dfrac{{{}}}{{{}}}", "{}/{}", "({})/({})", "\\tfrac{{{}}}{{{}}}"]
    form = draw(st.sampled_from(forms))
    return form.format(a, b)


def _radical(draw, r: int) -> str:
    if r == 1:
        return ""
    m = draw(st.integers(1, 3))  # sqrt(r) = sqrt(r m^2) / m
    inner = {"latex": f"\\sqrt{{{r * m * m}}}", "unicode": f"√{r * m * m}", "plain": f"sqrt({r * m * m})"}
    body = inner[draw(st.sampled_from(sorted(inner)))]
    return body if m == 1 else f"\\frac{{{body}}}{{{m}}}"


def spell(draw, c: Fraction, r: int, p: int) -> str:
    """One random spelling of c * sqrt(r) * pi**p."""
    factors = [_coef(draw, c)]
    rad = _radical(draw, r)
    if rad:
        factors.append(draw(st.sampled_from(WRAPS)).format(rad))
    if p:
        factors.append(draw(st.sampled_from(PIS)))
    factors = draw(st.permutations(factors))
    out = factors[0]
    for f in factors[1:]:
        op = draw(st.sampled_from(PRODUCTS))
        out = f"({out}){op}{f}" if op in ("", " ") else f"{out}{op}{f}"
    out = draw(st.sampled_from(WRAPS)).format(out)
    if r == 1 and not p and draw(st.booleans()):
        out += draw(st.sampled_from(["°", "^\\circ", "^{\\circ}", " degrees", " deg"]))
    return draw(st.sampled_from(CONTAINERS)).format(out)


def gold_of(c: Fraction, r: int, p: int, as_dataset: bool) -> Gold:
    e = Exact.of(c, r, p)
    if as_dataset:  # a Geometry3K-style choice text
        return Gold.from_text(e.latex(), letter="B")
    return Gold(e.latex(), value=float(e), letter="B", forms=frozenset({normalize(e.latex()), normalize(e.text())}))


@settings(max_examples=300, deadline=None)
@given(values, st.booleans(), st.data())
def test_random_equivalent_spellings_grade_equal(value, as_dataset, data):
    c, r, p = value
    gold = gold_of(c, r, p, as_dataset)
    text = spell(data.draw, c, r, p)
    for mode in ("free_form", "multiple_choice"):
        v = grade(text, gold, mode)
        assert v.correct, (text, gold.text, v)


near_misses = st.sampled_from(["shift", "radicand", "pi", "sign", "scale"])


@settings(max_examples=300, deadline=None)
@given(values, near_misses, st.integers(1, 1000), st.data())
def test_random_near_misses_grade_unequal(value, kind, k, data):
    c, r, p = value
    gold = gold_of(c, r, p, as_dataset=False)
    if kind == "shift":  # a rational shift as small as 1/1000 (rational values) or of the coefficient
        c = c + Fraction(1, k) if r == 1 and not p else c * (1 + Fraction(1, k))
    elif kind == "radicand":
        r = next(x for x in RADICANDS if x != r and x > (r + k) % 10) if r != 10 else 7
    elif kind == "pi":
        p = 1 - p
    elif kind == "sign":
        c = -c
    else:
        c = c * Fraction(k + 1, k)
    text = spell(data.draw, c, r, p) if c > 0 else "\\boxed{" + Exact.of(c, r, p).latex() + "}"
    v = grade(text, gold, "free_form")
    assert not v.correct, (text, gold.text, v)
