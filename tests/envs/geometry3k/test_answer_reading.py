"""Reading answers the way models write them (issue 13 review): hedges between choices are wrong, a letter
and its value must agree (``D. 80``, ``D, 80``, ``D - 80``, ``\\boxed{D} = 80``), trailing length/area units
are dropped from a closed list, the Minerva "Final Answer: The final answer is $x$." line and the value a final
clause states (``So x = 12.``) are read."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlenvs.envs.geometry3k.answers import extract, items, normalize
from vlenvs.envs.geometry3k.grader import Gold, grade

LETTERS = "ABCD"
VALUES = {"A": "4", "B": "12", "C": "60", "D": "80"}  # the four choices of one problem

#: Ways a reply marks its answer text (``{}`` is the answer).
WRAPPERS = ("\\boxed{{{}}}", "Answer: {}", "**Answer: {}**", "The answer is {}", "{}", "<answer>{}</answer>",
            "Let me think about the angles.\nThe correct choice is {}.")
#: Ways a reply joins two answers.
JOINERS = (" or ", " and ", ", ", " / ", " \\text{ or } ", ", or ", " & ", "; ", " vs ")


def mc(letter: str) -> Gold:
    return Gold.from_text(VALUES[letter], letter=letter)


@given(st.sampled_from(LETTERS), st.sampled_from(LETTERS), st.sampled_from(JOINERS), st.sampled_from(WRAPPERS))
def test_two_different_letters_are_a_hedge(gold, other, joiner, wrapper):
    if other == gold:
        other = LETTERS[(LETTERS.index(gold) + 1) % 4]
    for first, second in ((gold, other), (other, gold)):
        v = grade(wrapper.format(first + joiner + second), mc(gold), "multiple_choice")
        assert not v.correct and v.method == "multiple_answers", (first + joiner + second, wrapper, v)
    assert grade(wrapper.format(gold), mc(gold), "multiple_choice").correct


@given(st.sampled_from(LETTERS), st.sampled_from(LETTERS), st.sampled_from((" or ", " \\text{ or } ", ", ", " and ")))
def test_a_letter_and_another_choice_value_is_a_hedge(gold, other, joiner):
    reply = f"\\boxed{{{gold}{joiner}{VALUES[other]}}}"
    v = grade(reply, mc(gold), "multiple_choice")
    assert v.correct == (other == gold), (reply, v)
    if other != gold:
        assert v.method == "multiple_answers"


@pytest.mark.parametrize(
    ("reply", "correct"),
    [
        ("\\boxed{A or B}", False),
        ("\\boxed{A \\text{ or } C}", False),
        ("A and B", False),
        ("**Answer: A or D**", False),
        ("The answer is A or B", False),
        ("A or maybe B", False),  # a disjunction offers an alternative whatever follows
        ("(A) 4 or (C) 60", False),
        ("The answer is A because it fits", True),
        ("The answer is A, because it fits", True),  # a list joiner before prose: explanation
        ("A because angle B or angle C is larger", True),  # prose after the letter explains it
        ("The answer is A. B is wrong.", True),  # the answer line ends at its sentence
    ],
)
def test_hedges_and_explanations(reply, correct):
    v = grade(reply, mc("A"), "multiple_choice")
    assert v.correct is correct, v


@given(st.sampled_from(LETTERS), st.sampled_from(LETTERS),
       st.sampled_from(("\\boxed{{{l}. {v}}}", "Answer: {l}, {v}", "Answer: {l} - {v}", "Answer: {l} — {v}",
                        "\\boxed{{({l}) {v}}}", "\\boxed{{{l}}} = {v}", "$\\boxed{{{l}}}$ = ${v}^\\circ$.",
                        "<answer>{l}</answer> = {v}")))
def test_a_letter_with_a_value_needs_the_matching_value(gold, valued, form):
    """``D, 80`` and ``D - 80`` read as letter D with value 80 (not -80); ``\\boxed{D} = 70`` contradicts D = 80."""
    reply = form.format(l=gold, v=VALUES[valued])
    v = grade(reply, mc(gold), "multiple_choice")
    assert v.correct == (valued == gold), (reply, v)


def test_letter_dash_value_is_not_negative_and_letters_stay_wrong_in_free_form():
    assert grade("Answer: D - 80", mc("D"), "multiple_choice").parsed == "D 80"
    assert not grade("Answer: D - 80", mc("D"), "free_form").correct


UNITS = ("cm", "mm", "m", "km", "in", "inches", "ft", "feet", "yd", "units", "unit", "meters", "centimeters")
UNIT_FORMS = ("{n} {u}", "{n}{u}", "{n} \\, \\text{{{u}}}^2", "{n}\\text{{ {u}}}^2", "{n} \\mathrm{{{u}}}",
              "{n}\\text{{ {u}}}", "{n} {u}^2", "{n} {u}^{{2}}", "{n} {u}²", "{n} square {u}", "{n} sq. {u}",
              "{n} sq {u}", "{n} {u} squared", "\\boxed{{{n} \\, \\text{{{u}}}^2}}", "The area is {n} {u}^2.")


@given(st.integers(1, 10_000), st.sampled_from(UNITS), st.sampled_from(UNIT_FORMS))
def test_trailing_units_grade_as_the_number(n, unit, form):
    reply = form.format(n=n, u=unit)
    assert grade(reply, Gold.from_text(str(n))).correct, (reply, grade(reply, Gold.from_text(str(n))))
    assert not grade(reply, Gold.from_text(str(n + 1))).correct


@given(st.integers(1, 10_000), st.sampled_from(("apples", "cats", "dollars", "seconds", "x", "ab", "cmm")))
def test_other_words_are_not_units(n, word):
    for reply in (f"\\boxed{{{n} {word}}}", f"\\boxed{{{n}\\text{{ {word}}}}}"):
        assert not grade(reply, Gold.from_text(str(n))).correct, reply


def test_units_keep_the_value_before_them():
    assert normalize("4\\pi \\text{ cm}^2") == "4\\pi" and normalize("4\\pi m") == "4\\pi"
    assert normalize("2\\sqrt{3} units") == "2\\sqrt{3}" and normalize("12 \\, \\text{cm}^2") == "12"
    assert normalize("\\sin") == "\\sin"  # a command ending in a unit's letters is not a unit


@pytest.mark.parametrize(
    ("reply", "answer", "how"),
    [
        ("Final Answer: The final answer is $12$. I hope it is correct.", "12", "line"),
        ("Final Answer: The final answer is 12. I hope it is correct.", "12", "line"),
        ("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}", "line"),
        ("So x = 12.", "12", "sentence"),
        ("Therefore, the length of AB is 12.", "12", "sentence"),
        ("Let me work it out. " * 30 + "Therefore, the length of AB is 12 cm.", "12 cm", "sentence"),
        ("So x = 2\\sqrt{3} \\approx 3.46.", "3.46", "sentence"),
        ("x = 3 or x = 4.", "x = 3 or x = 4.", "bare"),  # several values: no stated value
        ("Let me work it out. " * 30 + "The triangle is isosceles.", None, "none"),
    ],
)
def test_plain_text_answers(reply, answer, how):
    found = extract(reply)
    assert (found.answer, found.how) == (answer, how)


@given(st.integers(1, 500), st.sampled_from(("So x = {}.", "Therefore, the length of AB is {}.",
                                              "Final Answer: The final answer is ${}$. I hope it is correct.",
                                              "Thus the measure of angle ABC is {} degrees.")))
def test_plain_text_values_grade(n, form):
    reply = "First, the angles of a triangle sum to 180.\n" + form.format(n)
    assert grade(reply, Gold.from_text(str(n))).correct
    assert not grade(reply, Gold.from_text(str(n + 1))).correct


def test_free_form_hedges_and_explanations():
    assert not grade("x = 3 or x = 4", Gold.from_text("4")).correct
    v = grade("\\boxed{3 or 4}", Gold.from_text("4"))
    assert not v.correct and v.method == "multiple_answers"
    assert grade("\\boxed{4 or 4.0}", Gold.from_text("4")).correct  # agreeing alternatives
    assert grade("12, which is the length of AB", Gold.from_text("12")).correct
    assert not grade("\\boxed{1,200}", Gold.from_text("1")).correct  # a thousands comma is no list
    assert items("\\frac{1}{2}, \\sqrt{3}") == ["\\frac{1}{2}", "\\sqrt{3}"]
    assert items("(3, 4)") == ["(3, 4)"] and items("A, B, C, D, A") is None
