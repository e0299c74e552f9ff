"""GridWorld3D dynamics: determinism, single vs vector, the oracle, the done rule, typed errors."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vlenvs  # noqa: F401  (registers the ids)
from vlenvs.core.errors import InvalidActionError, InvalidConfigError, ResetNeededError
from vlenvs.envs.gridworld3d import GridWorld3DEnv, GridWorld3DVectorEnv
from vlenvs.envs.gridworld3d.dynamics import ACTION_NAMES, DONE, FORWARD, TURN_LEFT
from vlenvs.envs.gridworld3d.state import HEADING_STEP
from vlenvs.envs.gridworld3d.tasks import describe

SMALL = {"image_size": 24}
LEVELS = [
    {"preset": "easy"},
    {"preset": "medium"},
    {"preset": "hard"},
    {"preset": "maze"},
    {"size": 9, "tasks": "sequence", "sequence_length": 3, "num_distractors": 0},
]


def test_action_names_match_the_play_script():
    assert GridWorld3DEnv(**SMALL).action_names == ("turn_left", "turn_right", "forward", "done")
    assert ACTION_NAMES.index("done") == DONE


def test_seeded_episodes_are_deterministic():
    def run(seed):
        env = GridWorld3DEnv(**SMALL, preset="medium")
        obs, info = env.reset(seed=seed)
        out = [(obs["image"].copy(), obs["instruction"])]
        for a in [0, 2, 2, 1, 2, 2, 1, 2]:
            obs, r, te, tr, info = env.step(a)
            out.append((obs["image"].copy(), obs["instruction"], r, te, tr, info["oracle_action"]))
            if te or tr:
                break
        return out

    a, b, c = run(4), run(4), run(5)
    assert all(np.array_equal(x[0], y[0]) and x[1:] == y[1:] for x, y in zip(a, b))
    assert not np.array_equal(a[0][0], c[0][0]) or a[0][1] != c[0][1]


def test_vector_env_with_both_views_equals_single_envs_through_failures_and_autoresets():
    n, kw = 3, {**SMALL, "view": "both", "preset": "hard"}
    venv = GridWorld3DVectorEnv(n, **kw)
    singles = [GridWorld3DEnv(**kw) for _ in range(n)]
    vobs, _ = venv.reset(seed=20)
    for i, env in enumerate(singles):
        assert np.array_equal(env.reset(seed=20 + i)[0]["image"], vobs["image"][i])
    rng = np.random.default_rng(0)
    done, ended = np.zeros(n, dtype=bool), 0
    for _ in range(40):
        acts = rng.choice(4, size=n, p=[0.3, 0.3, 0.3, 0.1])  # a wrong done now and then ends an episode
        vobs, vr, vte, vtr, vinfo = venv.step(acts)
        for i, env in enumerate(singles):
            if done[i]:  # NextStep autoreset: the vector env reset env i on this step
                (obs, info), r, te, tr = env.reset(), 0.0, False, False
            else:
                obs, r, te, tr, info = env.step(acts[i])
            assert np.array_equal(obs["image"], vobs["image"][i]) and obs["instruction"] == vobs["instruction"][i]
            assert (r, te, tr) == (vr[i], vte[i], vtr[i])
            assert info["oracle_action"] == vinfo["oracle_action"][i]
        done = vte | vtr
        ended += done.sum()
    assert ended > 0 and vobs["image"].shape == (n, 24, 48, 3)


@given(seed=st.integers(0, 2**31 - 1), level=st.sampled_from(LEVELS))
def test_instructions_name_distinct_objects_and_fit_the_space(seed, level):
    env = GridWorld3DEnv(**SMALL, **level)
    obs, _ = env.reset(seed=seed)
    s, tasks = env.core.state, env.core.tasks
    pairs = {(c, sh) for c, sh in zip(s.obj_color[0], s.obj_shape[0])}
    assert len(pairs) == env.config.num_objects  # every description names exactly one object
    text = obs["instruction"]
    targets = [describe(s.obj_color[0, k], s.obj_shape[0, k]) for k in range(tasks.stages[0])]
    positions = [text.index(f"the {t}") for t in targets]  # named, in order
    assert positions == sorted(positions)
    others = [describe(c, sh) for c, sh in zip(s.obj_color[0, len(targets):], s.obj_shape[0, len(targets):])]
    assert not any(f"the {o}" in text for o in others)  # distractors are not mentioned
    assert env.observation_space.contains(obs)
    assert "done" in text


def _cell_bfs(open_: np.ndarray, start: tuple[int, int]) -> set[tuple[int, int]]:
    """Cells reachable from ``start`` (an independent check of the generator and the oracle)."""
    seen, todo = {start}, deque([start])
    while todo:
        r, c = todo.popleft()
        for dr, dc in HEADING_STEP:
            nxt = (r + dr, c + dc)
            if open_[nxt] and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@given(seed=st.integers(0, 2**31 - 1), level=st.sampled_from(LEVELS))
def test_every_level_has_its_targets_reachable_and_the_oracle_finishes_in_the_shortest_length(seed, level):
    env = GridWorld3DEnv(**SMALL, **level)
    obs, info = env.reset(seed=seed)
    s, tasks = env.core.state, env.core.tasks
    reachable = _cell_bfs(s.grid[0] == 0, tuple(s.agent[0]))
    assert all(tuple(p) in reachable for p in s.obj_pos[0])  # every object, targets included
    shortest = info["shortest_path_length"]
    assert 0 < shortest <= env.config.episode_limit
    steps, total = 0, 0.0
    while True:
        obs, r, te, tr, info = env.step(info["oracle_action"])
        steps, total = steps + 1, total + r
        if te or tr:
            break
    assert te and not tr and info["success"] and total == 1.0
    assert steps == shortest
    assert info["stage"] == tasks.stages[0] - 1


@given(seed=st.integers(0, 2**31 - 1))
def test_no_shorter_action_sequence_exists_for_one_target(seed):
    """Brute force over (cell, heading) for single-target tasks: the oracle's length is optimal."""
    env = GridWorld3DEnv(**SMALL, preset="easy")
    _, info = env.reset(seed=seed)
    s = env.core.state
    open_, target = s.grid[0] == 0, tuple(s.obj_pos[0, 0])
    start = (*s.agent[0], s.heading[0])
    dist, todo = {start: 0}, deque([start])
    while todo:
        r, c, h = todo.popleft()
        fr, fc = r + HEADING_STEP[h][0], c + HEADING_STEP[h][1]
        if (r, c) == target or (fr, fc) == target:
            assert dist[(r, c, h)] + 1 == info["shortest_path_length"]  # + the done
            return
        nxt = [(r, c, (h - 1) % 4), (r, c, (h + 1) % 4)] + ([(fr, fc, h)] if open_[fr, fc] else [])
        for state in nxt:
            if state not in dist:
                dist[state] = dist[(r, c, h)] + 1
                todo.append(state)
    raise AssertionError("target unreachable")


def test_done_away_from_the_target_fails_and_bumping_is_a_no_op():
    env = GridWorld3DEnv(**SMALL, preset="easy")
    for seed in range(50):
        _, info = env.reset(seed=seed)
        if info["oracle_action"] != DONE:
            break
    _, r, te, tr, info = env.step(DONE)
    assert te and not tr and r == 0.0 and not info["success"]
    lenient = GridWorld3DEnv(**SMALL, preset="easy", wrong_done="ignore")
    lenient.reset(seed=seed)
    _, r, te, tr, info = lenient.step(DONE)
    assert not te and not tr and r == 0.0 and info["stage"] == 0
    env.reset(seed=0)
    s = env.core.state
    for _ in range(10):  # walk until a wall, then bump
        before = s.agent.copy()
        _, _, _, _, info = env.step(FORWARD)
        if info["bumped"]:
            assert np.array_equal(s.agent, before)
            break
    else:
        raise AssertionError("never bumped in 10 forwards on a 7x7 grid")


def test_step_penalty_and_truncation():
    env = GridWorld3DEnv(**SMALL, preset="easy", step_penalty=0.01, max_steps=3)
    env.reset(seed=1)
    rewards, tr = [], False
    for _ in range(3):
        _, r, te, tr, _ = env.step(TURN_LEFT)
        rewards.append(r)
    assert rewards == [-0.01] * 3 and tr and not te


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"size": 8}, "size 8"),
        ({"size": 3}, "size 3"),
        ({"rooms": 3, "size": 9}, "rooms 3"),
        ({"layout": "cave"}, "'cave'"),
        ({"tasks": "fetch"}, "'fetch'"),
        ({"sequence_length": 5}, "sequence_length 5"),
        ({"fov": 170}, "fov 170"),
        ({"view": "side"}, "'side'"),
        ({"render_view": "sky"}, "'sky'"),
        ({"image_size": 4}, "image_size 4"),
        ({"image_size": (32, 32, 3)}, "(32, 32, 3)"),
        ({"image_size": 16, "size": 21, "view": "both"}, "image_size 16"),
        ({"num_distractors": 12, "size": 5, "rooms": 1}, "num_distractors 12"),
        ({"textures": "yes"}, "'yes'"),
        ({"step_penalty": -1}, "step_penalty -1"),
        ({"wrong_done": "retry"}, "'retry'"),
        ({"max_steps": 0}, "max_steps 0"),
        ({"colour": "red"}, "'colour'"),
    ],
)
def test_bad_config_raises_a_typed_error_naming_the_value(kwargs, named):
    with pytest.raises(InvalidConfigError, match="invalid") as err:
        GridWorld3DEnv(**kwargs)
    assert named in str(err.value)


def test_bad_actions_and_step_before_reset_raise_typed_errors():
    env = GridWorld3DEnv(**SMALL)
    with pytest.raises(ResetNeededError):
        env.step(0)
    env.reset(seed=0)
    for bad in (4, -1, 1.5, "forward"):
        with pytest.raises(InvalidActionError, match="turn_left"):
            env.step(bad)
    with pytest.raises(InvalidConfigError, match="preset"):
        GridWorld3DEnv(preset="impossible")
    venv = GridWorld3DVectorEnv(2, **SMALL)
    venv.reset(seed=0)
    with pytest.raises(InvalidActionError):
        venv.step(np.array([0, 7]))


def test_make_and_make_vec():
    env = gym.make("vlenvs/GridWorld3D-v0", image_size=32, fov=90)
    obs, _ = env.reset(seed=0)
    assert obs["image"].shape == (32, 32, 3) and env.unwrapped.config.fov == 90
    venv = gym.make_vec("vlenvs/GridWorld3D-v0", num_envs=4, image_size=(24, 40))
    obs, _ = venv.reset(seed=0)
    assert obs["image"].shape == (4, 24, 40, 3) and isinstance(venv, GridWorld3DVectorEnv)


def test_the_longest_instruction_fits_the_text_space():
    env = GridWorld3DEnv(**SMALL, tasks="sequence", sequence_length=3)
    tasks, space = env.core.tasks, env.observation_space["instruction"]
    names = [(c, s) for c in range(6) for s in range(3)]
    longest = sorted(names, key=lambda p: -len(describe(*p)))[:3]
    color = np.array([[c for c, _ in longest]])
    shape = np.array([[s for _, s in longest]])
    texts = [tasks.draw(np.full((1, 5), pick), color, shape)["text"][0] for pick in np.linspace(0.01, 0.99, 12)]
    assert len(set(texts)) > 3 and all(space.contains(t) for t in texts)
    assert max(len(t) for t in texts) <= space.max_length

