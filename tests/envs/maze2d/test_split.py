"""Maze2D train/test splits: disjoint pairs and phrasings covering every colour and shape, and batched
episodes that only ever draw from their split."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs.envs.maze2d import PRESETS
from vlenvs.envs.maze2d.tasks import COLOR_NAMES, REACH_TEMPLATES, SHAPES, STOP_SUFFIXES, split_sets, task_vocab

DOCS = Path(__file__).parents[3] / "docs" / "envs" / "maze2d.md"


def test_train_and_test_are_disjoint_and_make_up_all():
    train, test, every = split_sets("train"), split_sets("test"), split_sets("all")
    assert set(every) == {"pairs", "templates", "suffixes"}
    for key in every:
        assert train[key] and test[key] and set(train[key]).isdisjoint(test[key])
        assert set(train[key]) | set(test[key]) == set(every[key])
    assert len(every["pairs"]) == len(COLOR_NAMES) * len(SHAPES)
    assert every["templates"] == REACH_TEMPLATES and every["suffixes"] == STOP_SUFFIXES
    assert len(test["pairs"]) / len(every["pairs"]) == 0.25


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_colour_and_shape_is_in_each_split(split):
    words = [p.split() for p in split_sets(split)["pairs"]]
    assert {c for c, _ in words} == set(COLOR_NAMES) and {s for _, s in words} == set(SHAPES)


def test_the_split_is_the_same_for_every_instance():
    before = {s: split_sets(s) for s in ("train", "test")}
    task_vocab.cache_clear()
    assert {s: split_sets(s) for s in ("train", "test")} == before


def rollout(split: str, success_mode: str, seeds: range, steps: int = 12):
    """Every (agent pair, goal pair, instruction) a batched rollout shows, reset and autoresets included."""
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=64, size=5, image_size=10, split=split,
                        success_mode=success_mode)
    core = venv.unwrapped.core
    seen = []
    for seed in seeds:
        obs, info = venv.reset(seed=seed)
        for _ in range(steps):
            t = core.tasks
            agent = (t.agent_look // len(SHAPES), t.agent_look % len(SHAPES))
            goal = (t.goal_look // len(SHAPES), t.goal_look % len(SHAPES))
            for i, text in enumerate(obs["instruction"]):
                seen.append((f"{COLOR_NAMES[agent[0][i]]} {SHAPES[agent[1][i]]}",
                             f"{COLOR_NAMES[goal[0][i]]} {SHAPES[goal[1][i]]}", text))
            act = np.where(info["oracle_action"] >= 0, info["oracle_action"], 0)
            obs, _, _, _, info = venv.step(act)
    return seen


@pytest.mark.parametrize("success_mode", ["reach", "stop"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_episodes_only_show_their_split(split, success_mode):
    sets = split_sets(split)
    seen = rollout(split, success_mode, range(4))
    assert len({text for *_, text in seen}) >= 50  # many episodes, not one repeated
    used_pairs, used_templates, used_suffixes = set(), set(), set()
    for agent, goal, text in seen:
        assert agent in sets["pairs"] and goal in sets["pairs"], text
        tpl = [t for t in sets["templates"] if text.startswith(t.format(agent=agent, goal=goal))]
        assert len(tpl) == 1, text
        rest = text[len(tpl[0].format(agent=agent, goal=goal)):]
        if success_mode == "stop":
            suffix = [s for s in sets["suffixes"] if rest == s.format(goal=goal)]
            assert len(suffix) == 1, text
            used_suffixes.add(suffix[0])
        else:
            assert rest == "", text
        used_pairs |= {agent, goal}
        used_templates.add(tpl[0])
    # and the split is not degenerate: everything in it does occur
    assert used_pairs == set(sets["pairs"]) and used_templates == set(sets["templates"])
    if success_mode == "stop":
        assert used_suffixes == set(sets["suffixes"])


def test_the_same_seed_gives_the_same_episodes_and_splits_differ():
    a, b = rollout("test", "reach", range(2, 3)), rollout("test", "reach", range(2, 3))
    assert a == b
    assert a != rollout("train", "reach", range(2, 3))


@pytest.mark.parametrize("split", ["train", "test"])
def test_env_checker_presets_and_spaces(split):
    env = gym.make("vlenvs/Maze2D-v0", size=7, image_size=32, split=split, render_mode="ansi")
    check_env(env.unwrapped)
    assert env.observation_space == gym.make("vlenvs/Maze2D-v0", size=7, image_size=32).observation_space
    for preset in PRESETS:
        env = gym.make("vlenvs/Maze2D-v0", preset=preset, split=split, image_size=64)
        obs, _ = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        assert env.step(0)[0]["instruction"] == obs["instruction"]


@pytest.mark.parametrize("bad", ["val", "Train", None])
def test_a_bad_split_is_refused_by_name(bad):
    with pytest.raises(InvalidConfigError, match=r"invalid split .*valid choices: 'all', 'train', 'test'"):
        gym.make("vlenvs/Maze2D-v0", split=bad)


def test_the_docs_list_the_test_split():
    text = DOCS.read_text()
    test = split_sets("test")
    for item in test["pairs"] + test["templates"] + test["suffixes"]:
        assert f"`{item.strip()}`" in text, f"docs/envs/maze2d.md does not list {item!r}"
