"""Every typed error for user input names the bad value and the valid choices."""

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401
from vlenvs import InvalidActionError, InvalidConfigError, ResetNeededError, VlenvsError


def make(**kw):
    return gym.make("vlenvs/Maze2D-v0", **{"size": 5, "image_size": 10, **kw})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 4}, r"size 4; expected an odd integer"),
        ({"size": 3}, r"size 3; expected an odd integer in \[5, 101\]"),
        ({"size": 103}, r"size 103"),
        ({"size": 9.0}, r"size 9.0"),
        ({"size": 9, "image_size": 8}, r"image_size 8; expected at least size=9"),
        ({"image_size": (10, 10, 3)}, r"image_size \(10, 10, 3\)"),
        ({"start_goal": "center"}, r"start_goal 'center'; valid choices: 'random', 'corners'"),
        ({"success_mode": "touch"}, r"success_mode 'touch'; valid choices: 'reach', 'stop'"),
        ({"step_penalty": -1}, r"step_penalty -1"),
        ({"step_penalty": float("nan")}, r"step_penalty nan"),
        ({"max_steps": 0}, r"max_steps 0"),
        ({"preset": "impossible"}, r"preset 'impossible'; valid choices: 'easy', 'medium'"),
        ({"colour": "red"}, r"Maze2DConfig argument 'colour'; valid choices: 'size'"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(InvalidConfigError, match=match):
        make(**kwargs)


def test_bad_render_mode():
    with pytest.raises(InvalidConfigError, match=r"render_mode 'video'; valid choices: 'rgb_array', 'ansi', 'human'"):
        vlenvs.envs.maze2d.Maze2DEnv(render_mode="video")


@pytest.mark.parametrize("action", [4, -1, 2.5, "up", None, [0, 1], True])
def test_bad_single_actions(action):
    env = make().unwrapped  # unwrapped: our error, not the passive checker's
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"0=up, 1=down, 2=left, 3=right|expected"):
        env.step(action)


def test_integral_floats_and_numpy_ints_are_accepted():
    env = make(max_steps=10).unwrapped
    env.reset(seed=0)
    steps = [env.step(a)[4]["steps"] for a in (np.int64(1), np.array(2), 3.0)]
    assert steps == [1, 2, 3]


@pytest.mark.parametrize("actions", [np.zeros(3, int), np.full(4, 7), np.zeros((4, 1), int), ["up"] * 4])
def test_bad_vector_actions(actions):
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=4, size=5, image_size=10)
    venv.reset(seed=0)
    with pytest.raises(InvalidActionError):
        venv.step(actions)


def test_step_before_reset_and_after_the_end():
    env = make(max_steps=1).unwrapped
    with pytest.raises(ResetNeededError, match="before reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(ResetNeededError, match="after the episode ended"):
        env.step(0)
    env.reset()
    env.step(0)


def test_errors_share_one_base_and_stay_catchable_as_builtins():
    assert issubclass(InvalidConfigError, ValueError) and issubclass(InvalidActionError, ValueError)
    assert issubclass(ResetNeededError, gym.error.ResetNeeded)
    assert all(issubclass(e, VlenvsError) for e in (InvalidConfigError, InvalidActionError, ResetNeededError))
