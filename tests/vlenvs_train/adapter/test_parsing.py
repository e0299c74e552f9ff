from __future__ import annotations

import string

import pytest
from gymnasium import spaces
from hypothesis import given
from hypothesis import strategies as st

from vlenvs_train.adapter.parsing import MAX_REPLY_CHARS, extract_answer, make_parser
from vlenvs_train.adapter.specs import ENV_SPECS, generic_spec

MAZE = ENV_SPECS["vlenvs/Maze2D-v0"]
GRID = ENV_SPECS["vlenvs/GridWorld3D-v0"]
MAZE_ACTIONS = ("up", "down", "left", "right")
GRID_ACTIONS = ("turn_left", "turn_right", "forward", "done")


@pytest.mark.parametrize(("reply", "action"), [
    ("<think>the goal is above</think><answer>up</answer>", 0),
    ("<answer> DOWN </answer>", 1),
    ("<ANSWER>Left.</ANSWER>", 2),
    ("<answer>north</answer>", 0),
    ("<answer>East</answer>", 3),
    ("<answer>move right", 3),  # unclosed tag runs to the end
    ("Answer: south", 1),
    ("I will go up", 0),
    ("<answer>up</answer> ... <answer>left</answer>", 2),  # the last answer counts
    ("**right**", 3),
    ("<answer>→</answer>", 3),
])
def test_maze_replies(reply, action):
    result = make_parser(MAZE, MAZE_ACTIONS).parse(reply)
    assert result.valid and result.action == action, result


@pytest.mark.parametrize(("reply", "action"), [
    ("<answer>turn_left</answer>", 0), ("<answer>Turn Right</answer>", 1), ("<answer>turn-left</answer>", 0),
    ("<answer>forward</answer>", 2), ("<answer>move forward</answer>", 2), ("<answer>stop</answer>", 3),
    ("<answer>right</answer>", 1),
])
def test_gridworld_synonyms(reply, action):
    result = make_parser(GRID, GRID_ACTIONS).parse(reply)
    assert result.action == action, result


@pytest.mark.parametrize(("reply", "error"), [
    ("<answer>jump</answer>", "names no legal action"),
    ("<answer>up or left</answer>", "several actions"),
    ("", "names no legal action"),
    ("<think>up up up", "names no legal action"),  # unfinished thinking is not an answer
])
def test_invalid_replies_say_why(reply, error):
    result = make_parser(MAZE, MAZE_ACTIONS).parse(reply)
    assert not result.valid and result.action is None and error in result.error


def test_stop_is_legal_only_where_the_env_has_it():
    assert not make_parser(MAZE, MAZE_ACTIONS).parse("<answer>stop</answer>").valid
    assert make_parser(MAZE, (*MAZE_ACTIONS, "stop")).parse("<answer>done</answer>").action == 4


def test_strict_format_requires_tags():
    parser = make_parser(MAZE, MAZE_ACTIONS, strict_format=True)
    assert not parser.parse("up").valid and "no <answer>" in parser.parse("up").error
    assert parser.parse("<answer>up</answer>").tagged


def test_text_answers_pass_through_and_respect_the_action_space():
    space = spaces.Text(max_length=8, charset="0123456789.x= ")
    parser = make_parser(ENV_SPECS["vlenvs/Geometry3k-v0"], (), space)
    wide = make_parser(ENV_SPECS["vlenvs/Geometry3k-v0"], (), spaces.Text(max_length=64, charset=string.printable))
    assert wide.parse("<think>so</think><answer> 12.5 </answer>").action == "<answer>12.5</answer>"
    assert wide.parse("Answer: x = 3").action == "<answer>x = 3</answer>"  # marked answers stay marked
    assert wide.parse(r"the result is \boxed{4}").action == "<answer>4</answer>"
    assert parser.parse(" 12.5 ").action == "12.5"  # a bare answer goes as it is
    assert parser.parse("<answer>12.5</answer>").action == "12.5"  # the space has no '<': sent unmarked
    assert "longer than 8" in parser.parse("123456789").error
    assert "does not accept" in parser.parse("sqrt").error
    assert "empty" in parser.parse("<answer>  </answer>").error


def test_extract_answer_bounds_the_reply():
    answer, how = extract_answer("x" * (3 * MAX_REPLY_CHARS) + "<answer>up</answer>")
    assert how == "bare" and len(answer) <= MAX_REPLY_CHARS
    assert extract_answer("<think>a</think>Final answer: 3")[1] == "line"


_replies = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(["<answer>", "</answer>", "<think>", "</think>", "up", "North", "turn_left",
                              "Answer:", "\\boxed{", "}", "{", " ", "\n", "→", "-", "_", "stop", "done", "ü"]),
             max_size=40).map("".join),
)


@given(_replies)
def test_no_reply_crashes_a_parser(reply):
    text_space = spaces.Text(max_length=32)
    parsers = [make_parser(MAZE, MAZE_ACTIONS), make_parser(GRID, GRID_ACTIONS, strict_format=True),
               make_parser(ENV_SPECS["vlenvs/Geometry3k-v0"], (), text_space),
               make_parser(generic_spec(("a", "b")), ("a", "b"))]
    for parser in parsers:
        result = parser.parse(reply)
        assert result.valid == (result.action is not None)
        if result.valid and isinstance(result.action, int):
            assert 0 <= result.action < len(parser.action_names)
        elif result.valid:
            assert text_space.contains(result.action)
        else:
            assert result.error
