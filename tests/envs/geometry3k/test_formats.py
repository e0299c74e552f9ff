"""Formats real models write (EasyR1/verl/SkyRL-style rollouts): multiple-choice letters with and
without the choice text, markdown, lower case, prose after the letter, <think> blocks, degree words,
brackets of every kind, and hedged replies."""

import pytest

from vlenvs.core.errors import InvalidConfigError
from vlenvs.envs.geometry3k.answers import choice_of, extract
from vlenvs.envs.geometry3k.grader import Gold, grade

MC = Gold.from_text("80", letter="D")  # choice D is 80
PI4 = Gold.from_text("4\\pi", letter="A")


@pytest.mark.parametrize(
    ("response", "gold"),
    [
        ("**Answer: D**", MC),
        ("**Answer:** D", MC),
        ("\\boxed{D. 80}", MC),
        ("\\boxed{(D) 80}", MC),
        ("Answer: D) 80", MC),
        ("\\boxed{D}", MC),
        ("\\boxed{d}", MC),
        ("Answer: d", MC),
        ("\\boxed{(d) 80}", MC),
        ("The answer is D because it fits", MC),
        ("The answer is D.", MC),
        ("\\boxed{\\text{D}}", MC),
        ("\\boxed{D: 80^\\circ}", MC),
        ("<think>Maybe \\boxed{A}? no.</think> The answer is \\boxed{D}.", MC),
        ("<think>x</think><answer>D</answer>", MC),
        ("\\boxed{80}", MC),  # the value of the right choice
        ("Final answer: (A) 4\\pi", PI4),
        ("\\boxed{a}", PI4),
        ("\\boxed{A. 4π}", PI4),
        ("\\boxed{(A) 12.566}", PI4),
        ("\\boxed{\\text{Option D}}", MC),
        ("The correct choice is: Choice (D)", MC),
        ("**Answer:** (D) $80^\\circ$", MC),
    ],
)
def test_multiple_choice_formats_are_correct(response, gold):
    v = grade(response, gold, "multiple_choice")
    assert v.correct, v


@pytest.mark.parametrize(
    ("response", "gold"),
    [
        ("\\boxed{D. 81}", MC),  # the right letter with a contradicting value
        ("Answer: D) 60", MC),
        ("\\boxed{(A) 4}", PI4),
        ("\\boxed{C}", MC),
        ("\\boxed{c}", MC),
        ("The answer is B because it fits", MC),
        ("\\boxed{A} \\boxed{D}", MC),  # several different answers
        ("\\boxed{D} or \\boxed{C}", MC),
        ("\\boxed{A, D}", MC),
        ("\\boxed{A or D}", MC),
        ("<answer>C or D</answer>", MC),
        ("<answer>C</answer> no wait <answer>D</answer>", MC),
        ("\\boxed{1}\\boxed{2}\\boxed{3}\\boxed{4}\\boxed{D}", MC),  # more boxes than are read
        ("a triangle", MC),
    ],
)
def test_multiple_choice_wrong_forms_are_wrong(response, gold):
    v = grade(response, gold, "multiple_choice")
    assert not v.correct, v


def test_letters_do_not_count_in_free_form_and_bad_modes_raise():
    assert not grade("\\boxed{D}", MC, "free_form").correct
    assert grade("\\boxed{80}", MC, "free_form").correct
    with pytest.raises(InvalidConfigError, match="multiple_choice"):
        grade("\\boxed{D}", MC, "essay")


def test_choice_of():
    assert choice_of("(D) 80") == ("D", "80")
    assert choice_of("D. 80") == ("D", "80")
    assert choice_of("A because it fits") == ("A", "")
    assert choice_of("a") == ("A", "")
    assert choice_of("**D**") == ("D", "")
    assert choice_of("a triangle") is None  # lower case needs punctuation: prose is not a letter
    assert choice_of("AB") is None and choice_of("B = 30") is None and choice_of("80") is None


@pytest.mark.parametrize(
    "response",
    ["30", "30 deg", "30 degrees", "30°", "30^\\circ", "\\boxed{30^{\\circ}}", "\\boxed{(30)}", "[30]", "\\{30\\}",
     "\\left(30\\right)", "Answer: $30$", "x = 30", "x \\approx 30", "≈ 30.0", "m\\angle ABC = 30°",
     "<answer>30.0</answer>", "\\boxed{60/2}"],
)
def test_free_form_spellings_of_30(response):
    g = Gold.from_text("30")
    assert grade(response, g).correct, grade(response, g)


@pytest.mark.parametrize(
    ("response", "gold"),
    [  # the answers the old 60 ms deadline graded wrong under load (issue 13)
        ("\\boxed{(1/2)}", "\\frac{1}{2}"),
        ("\\boxed{\\left(\\frac{1}{2}\\right)}", "\\frac{1}{2}"),
        ("\\boxed{(2\\sqrt{3})}", "2\\sqrt{3}"),
        ("\\boxed{(\\pi/6)}", "\\frac{\\pi}{6}"),
        ("\\boxed{(3)/(5)}", "\\frac{3}{5}"),
        ("\\boxed{\\pi\\cdot\\frac{1}{6}}", "\\frac{\\pi}{6}"),
        ("\\boxed{\\pi \\times \\dfrac{1}{6}}", "\\frac{\\pi}{6}"),
        ("\\boxed{\\frac{\\pi}{2 \\cdot 3}}", "\\frac{\\pi}{6}"),
        ("\\boxed{3\\pi}", "3\\pi"),
        ("\\boxed{\\sqrt[3]{27}}", "3"),
        ("\\boxed{\\frac{2}{\\sqrt{3}-1}}", "\\sqrt{3}+1"),
        ("\\boxed{2^{-1}}", "0.5"),
        ("\\boxed{[\\frac{1}{2}]\\pi}", "\\frac{\\pi}{2}"),
        ("\\boxed{6 ÷ 4}", "1.5"),
    ],
)
def test_bracketed_and_composite_answers(response, gold):
    g = Gold.from_text(gold)
    assert grade(response, g).correct, grade(response, g)


def test_think_blocks_and_extraction():
    assert extract("<think>\\boxed{1}</think>\\boxed{2}").answer == "2"
    assert extract("<think>\\boxed{1}</think>").answer == "1"  # nothing after the thinking: read it all
    found = extract("\\boxed{1} so \\boxed{2}")
    assert (found.answer, found.others) == ("2", ("1",))
    assert extract("\\boxed{1}" * 5).how == "too_many_answers"
    assert extract("<answer>1</answer>" * 5).how == "too_many_answers"
    assert extract("<answer>1</answer><answer>2</answer>").others == ("1",)
    assert grade("<answer>D</answer> so <answer>(D) 80</answer>", MC, "multiple_choice").correct
    assert grade("\\boxed{\\frac{1}{2}} = \\boxed{0.5}", Gold.from_text("0.5")).correct  # agreeing boxes
    v = grade("\\boxed{2\\sqrt{3}}\\boxed{5}", Gold.from_text("5"))
    assert not v.correct and v.method == "multiple_answers"
