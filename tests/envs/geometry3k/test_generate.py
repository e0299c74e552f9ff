"""The generator: deterministic, one correct choice, exact answers, diagrams drawn to scale."""

import io
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from vlenvs.core.spaces import INSTRUCTION_CHARSET
from vlenvs.envs.geometry3k.answers import read_number
from vlenvs.envs.geometry3k.diagram import render_figure
from vlenvs.envs.geometry3k.generate import LEVELS, TOPICS, generate
from vlenvs.envs.geometry3k.grader import grade
from vlenvs.envs.geometry3k.tasks import item_from_generated

seeds = st.integers(0, 2**32 - 1)
difficulties = st.sampled_from(sorted(LEVELS))


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


@given(seeds, difficulties)
def test_same_seed_same_problem_and_png(seed, difficulty):
    a = generate(np.random.default_rng(seed), difficulty, tuple(TOPICS))
    b = generate(np.random.default_rng(seed), difficulty, tuple(TOPICS))
    assert a == b
    assert _png(render_figure(a.problem.figure, 96, 96)) == _png(render_figure(b.problem.figure, 96, 96))


@given(seeds, difficulties)
def test_answer_is_exactly_one_choice(seed, difficulty):
    g = generate(np.random.default_rng(seed), difficulty, tuple(TOPICS))
    assert g.choices[g.correct] == g.problem.answer
    values = [float(c) for c in g.choices]
    assert all(v > 0 for v in values)
    item = item_from_generated(g, "t")
    # grading each choice's own text: exactly the correct one is right, in both modes
    verdicts = [grade(f"\\boxed{{{c.latex()}}}", item.gold) for c in g.choices]
    assert [v.correct for v in verdicts] == [i == g.correct for i in range(4)]
    letters = [grade(f"\\boxed{{{'ABCD'[i]}}}", item.gold, "multiple_choice").correct for i in range(4)]
    assert letters == [i == g.correct for i in range(4)]


@given(seeds, difficulties)
def test_exact_answer_matches_sympy_and_texts_fit_the_charset(seed, difficulty):
    g = generate(np.random.default_rng(seed), difficulty, tuple(TOPICS))
    p = g.problem
    assert abs(float(p.answer.to_sympy().evalf()) - float(p.answer)) < 1e-9 * max(1, float(p.answer))
    assert INSTRUCTION_CHARSET.issuperset(p.text)
    assert all(INSTRUCTION_CHARSET.issuperset(c.text() + p.unit) for c in g.choices)
    assert p.solution and (p.answer.text() in p.solution or p.answer.text().replace("/", "") in p.solution)


def _angle(fig, v, a, b):
    pv, pa, pb = fig.points[v], fig.points[a], fig.points[b]
    ta = math.degrees(math.atan2(pa[1] - pv[1], pa[0] - pv[0]))
    tb = math.degrees(math.atan2(pb[1] - pv[1], pb[0] - pv[0]))
    return (tb - ta) % 360


def _label_value(label, x):
    """Value of a diagram label (``12``, ``2√3``, ``(2x + 5)°``, ``x``) with ``x`` substituted."""
    s = label.replace("°", "").replace(" ", "").strip("()")
    m = re.fullmatch(r"(\d*)x([+-]\d+)?", s)
    if m:
        if x is None:
            return None
        return (int(m.group(1)) if m.group(1) else 1) * x + (int(m.group(2)) if m.group(2) else 0)
    fast = read_number(s)
    return fast.value if fast else None


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("difficulty", sorted(LEVELS))
def test_diagram_is_drawn_to_scale(topic, difficulty):
    """Every marked angle measures its label and every marked length has the same scale factor."""
    rng = np.random.default_rng(7)
    for _ in range(25):
        g = generate(rng, difficulty, (topic,))
        p, fig = g.problem, g.problem.figure
        x = float(p.answer) if p.text.endswith("Find x.") else None
        for v, a, b, label in fig.angles:
            want = _label_value(label, x)
            if want is not None:
                assert _angle(fig, v, a, b) == pytest.approx(want, abs=1e-6), (p.family, label)
        for v, a, b in fig.right_angles:
            assert _angle(fig, v, a, b) % 180 == pytest.approx(90, abs=1e-6), p.family
        scales = []
        for a, b, label in fig.lengths:
            want = _label_value(label, x)
            if want is not None:
                scales.append(math.dist(fig.points[a], fig.points[b]) / want)
        assert all(s == pytest.approx(scales[0], rel=1e-6) for s in scales), (p.family, fig.lengths)


def test_topics_and_levels_change_the_problems():
    rng = np.random.default_rng(0)
    fams = {t: {generate(rng, "medium", (t,)).problem.family for _ in range(60)} for t in TOPICS}
    assert fams["triangles"] >= {"angle_sum", "pythagoras", "special_right", "similar_triangles", "trig_ratio"}
    assert fams["circles"] >= {"inscribed_angle", "intersecting_chords", "tangent"}
    assert fams["parallel_lines"] == {"parallel_lines"}
    assert all(not (fams[a] & fams[b]) for a in TOPICS for b in TOPICS if a != b)
    easy = [generate(np.random.default_rng(s), "easy", ("triangles",)).problem for s in range(40)]
    hard = [generate(np.random.default_rng(s), "hard", ("triangles",)).problem for s in range(40)]
    assert all(p.answer.is_rational for p in easy if p.family == "pythagoras")
    assert any(not p.answer.is_rational for p in hard if p.family == "pythagoras")


def test_diagram_is_antialiased_and_sized():
    g = generate(np.random.default_rng(3), "medium", ("triangles",))
    img = render_figure(g.problem.figure, 120, 160)
    assert img.shape == (120, 160, 3) and img.dtype == np.uint8
    grey = img.mean(axis=2)
    assert ((grey > 30) & (grey < 225)).sum() > 50  # intermediate shades along the edges
