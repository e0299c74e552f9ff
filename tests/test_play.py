"""The keyboard play script, driven headless (SDL dummy driver) by a scripted key list."""

import pytest

from vlenvs.core.errors import InvalidConfigError
from vlenvs.play import action_for_key, main, parse_overrides, play


def test_key_mapping_by_action_name():
    maze = ("up", "down", "left", "right", "stop")
    assert [action_for_key(k, maze) for k in ("up", "down", "left", "right", "space", "x")] == [0, 1, 2, 3, 4, None]
    world = ("turn_left", "turn_right", "forward", "done")
    assert [action_for_key(k, world) for k in ("left", "right", "up", "space", "2")] == [0, 1, 2, 3, 1]


def test_scripted_play_reaches_the_goal_and_resets():
    import gymnasium as gym

    env = gym.make("vlenvs/Maze2D-v0", size=5, image_size=20)
    _, info = env.reset(seed=0)
    names = ("up", "down", "left", "right")
    keys = []
    while True:
        a = info["oracle_action"]
        keys.append(names[a])
        _, _, te, _, info = env.step(a)
        if te:
            break
    summary = play("vlenvs/Maze2D-v0", seed=0, keys=keys + ["r", "up", "q", "down"], size=5, image_size=20)
    assert summary["episodes"] == 1 and summary["successes"] == 1 and summary["return"] == 1.0
    assert summary["steps"] == len(keys) + 1  # "up" after the reset counts, "down" after "q" does not


def test_overrides_parse_literals():
    assert parse_overrides(["size=11", "start_goal=corners", "image_size=(64, 96)"]) == {
        "size": 11, "start_goal": "corners", "image_size": (64, 96)}
    with pytest.raises(InvalidConfigError, match="key=value"):
        parse_overrides(["size"])


def test_cli_rejects_unknown_env(capsys):
    with pytest.raises(SystemExit):
        main(["vlenvs/Nope-v0"])
    assert "invalid choice" in capsys.readouterr().err
