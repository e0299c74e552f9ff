"""Maze2D dynamics: moves, wall bumps, success, stop mode, rewards, truncation, info."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vlenvs  # noqa: F401
from vlenvs.envs.maze2d.dynamics import MOVE_NAMES


def make(**kw):
    return gym.make("vlenvs/Maze2D-v0", **{"size": 7, "image_size": 28, **kw})


def blocked_action(core):
    """An action whose move from the agent's square hits a wall."""
    r, c = core.state.agent_rc[0]
    for a, (dr, dc) in enumerate([(-1, 0), (1, 0), (0, -1), (0, 1)]):
        if core.state.walls[0, r + dr, c + dc]:
            return a
    raise AssertionError("a maze cell with no wall around it")


def test_bumping_a_wall_is_a_flagged_no_op():
    env = make()
    obs, info = env.reset(seed=3)
    core = env.unwrapped.core
    pos = core.state.agent_rc[0].copy()
    obs2, r, te, tr, info = env.step(blocked_action(core))
    assert info["bumped"] and np.array_equal(core.state.agent_rc[0], pos)
    assert np.array_equal(obs["image"], obs2["image"]) and r == 0.0 and not te


def test_a_free_move_moves_one_square_and_redraws():
    env = make()
    obs, info = env.reset(seed=3)
    core = env.unwrapped.core
    pos = core.state.agent_rc[0].copy()
    a = info["oracle_action"]
    obs2, r, te, tr, info2 = env.step(a)
    delta = {0: (-1, 0), 1: (1, 0), 2: (0, -1), 3: (0, 1)}[a]
    assert tuple(core.state.agent_rc[0] - pos) == delta and not info2["bumped"]
    assert not np.array_equal(obs["image"], obs2["image"])
    assert info2["distance_to_goal"] == info["distance_to_goal"] - 1


def test_step_penalty_and_truncation_at_the_limit():
    env = make(step_penalty=0.01, max_steps=5)
    env.reset(seed=0)
    core = env.unwrapped.core
    for t in range(5):
        _, r, te, tr, info = env.step(blocked_action(core))
        assert r == pytest.approx(-0.01) and not te
        assert tr == (t == 4) and info["steps"] == t + 1


def test_default_limit_scales_with_size():
    assert make(size=9).unwrapped.config.episode_limit == 64
    assert make(size=31, image_size=62).unwrapped.config.episode_limit == 900


def test_stop_mode_needs_stop_on_the_goal():
    env = make(success_mode="stop")
    assert env.unwrapped.action_names == (*MOVE_NAMES, "stop")
    obs, info = env.reset(seed=1)
    # stop away from the goal ends the episode without success
    _, r, te, tr, info = env.step(4)
    assert te and not info["success"] and r == 0.0
    obs, info = env.reset(seed=1)
    while info["oracle_action"] != 4:
        obs, r, te, tr, info = env.step(info["oracle_action"])
        assert not te  # standing on the goal is not enough
    assert info["distance_to_goal"] == 0
    _, r, te, tr, info = env.step(4)
    assert te and info["success"] and r == 1.0
    assert "say stop" in obs["instruction"].lower() or "stop" in obs["instruction"].lower()


@given(seed=st.integers(0, 1000), actions=st.lists(st.integers(0, 3), min_size=1, max_size=80))
def test_random_action_sequences_never_crash_and_stay_in_space(seed, actions):
    env = make()
    obs, info = env.reset(seed=seed)
    for a in actions:
        obs, r, te, tr, info = env.step(a)
        assert env.observation_space.contains(obs)
        assert r in (0.0, 1.0) and (not te or info["success"])
        if te or tr:
            obs, info = env.reset()


def test_presets_and_overrides():
    make = lambda **kw: gym.make("vlenvs/Maze2D-v0", **kw)  # noqa: E731  (no default size here)
    assert make(preset="11x11", image_size=44).unwrapped.config.size == 11
    assert make(preset="easy", image_size=20).unwrapped.config.size == 5
    cfg = make(preset="expert", image_size=64).unwrapped.config
    assert cfg.size == 31 and cfg.start_goal == "corners"
    env = make(preset="9x9", start_goal="corners", image_size=36)
    env.reset(seed=0)
    core = env.unwrapped.core
    assert core.state.agent_rc[0].tolist() == [1, 1] and core.state.goal_rc[0].tolist() == [7, 7]
