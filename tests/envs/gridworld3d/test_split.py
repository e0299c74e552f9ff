"""GridWorld3D train/test splits: disjoint pairs, phrasings and wall colours covering every colour and shape,
and batched episodes that only ever draw from their split."""

from __future__ import annotations

import itertools
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs.envs.gridworld3d import PRESETS
from vlenvs.envs.gridworld3d.generate import WALL_NAMES, WALL_RGB, wall_colors
from vlenvs.envs.gridworld3d.tasks import KINDS, OBJ_COLORS, OBJ_SHAPES, PHRASES, describe, pair_mask, split_sets

DOCS = Path(__file__).parents[3] / "docs" / "envs" / "gridworld3d.md"


def test_train_and_test_are_disjoint_and_make_up_all():
    train, test, every = split_sets("train"), split_sets("test"), split_sets("all")
    assert set(every) == {"pairs", *PHRASES}
    for key in every:
        assert train[key] and test[key] and set(train[key]).isdisjoint(test[key])
        assert set(train[key]) | set(test[key]) == set(every[key])
    assert len(every["pairs"]) == len(OBJ_COLORS) * len(OBJ_SHAPES) == 3 * len(test["pairs"])
    walls = {s: set(wall_colors(s).tolist()) for s in ("all", "train", "test")}
    assert walls["train"].isdisjoint(walls["test"]) and walls["train"] | walls["test"] == walls["all"]
    assert walls["all"] == set(range(len(WALL_RGB))) and walls["test"]


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_colour_and_shape_is_in_each_split(split):
    words = [p.split() for p in split_sets(split)["pairs"]]
    assert {c for c, _ in words} == set(OBJ_COLORS) and {s for _, s in words} == set(OBJ_SHAPES)


def test_the_split_is_the_same_for_every_instance():
    before = {s: (split_sets(s), wall_colors(s).tolist()) for s in ("train", "test")}
    for cached in (pair_mask, wall_colors):
        cached.cache_clear()
    assert {s: (split_sets(s), wall_colors(s).tolist()) for s in ("train", "test")} == before


def renderings(kind: str, names: list[str], sets: dict[str, tuple[str, ...]]) -> set[str]:
    """Every text the grammar can say for these targets with the split's phrases."""
    if kind == "find":
        return {f.format(o=names[0]) + "." + h for f, h in itertools.product(sets["find"], sets["hint"])}
    hints = sets["hint_seq"] if len(names) > 1 else sets["hint"]
    out = set()
    for go, h, *thens in itertools.product(sets["go"], hints, *[sets["then"]] * (len(names) - 1)):
        out.add(f"{go} the {names[0]}" + "".join(t.format(o=n) for t, n in zip(thens, names[1:])) + "." + h)
    return out


def episodes(split: str, seeds: range, **kw):
    """Every episode a batched env starts over ``seeds``: (objects, wall colour ids, kind, targets, text)."""
    venv = gym.make_vec("vlenvs/GridWorld3D-v0", num_envs=64, image_size=16, split=split,
                        **{"preset": "hard", **kw})
    core = venv.unwrapped.core
    s = core.state
    for seed in seeds:
        obs, _ = venv.reset(seed=seed)
        for i, text in enumerate(obs["instruction"]):
            objs = [describe(c, k) for c, k in zip(s.obj_color[i].tolist(), s.obj_shape[i].tolist())]
            walls = set((s.grid[i][s.grid[i] > 0] - 1).tolist())
            yield objs, walls, KINDS[core.tasks.kind[i]], objs[: core.tasks.stages[i]], text


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("kw", [{}, {"preset": "medium", "tasks": "mixed", "sequence_length": 3}])
def test_episodes_only_show_their_split(split, kw):
    sets, other = split_sets(split), split_sets("test" if split == "train" else "train")
    max_targets = {**PRESETS["hard"], **kw}["sequence_length"]
    used = {"pairs": set(), "walls": set(), "tasks": []}
    for objs, walls, kind, targets, text in episodes(split, range(6), **kw):
        assert len(set(objs)) == len(objs), "two objects with the same description"
        assert set(objs[:max_targets]) <= set(sets["pairs"]), text  # every target slot
        if split == "train":
            assert set(objs).isdisjoint(other["pairs"]), "a held-out pair shown in train"
        assert text in renderings(kind, targets, sets), text
        assert walls <= set(wall_colors(split).tolist())
        used["pairs"] |= set(targets)
        used["walls"] |= walls
        used["tasks"].append((kind, targets, text))
    # and the split is not degenerate: every pair, wall colour and phrase of it does occur
    assert used["pairs"] == set(sets["pairs"]) and used["walls"] == set(wall_colors(split).tolist())
    for key in PHRASES:
        for phrase in sets[key]:
            only = {**sets, key: (phrase,)}
            assert any(t in renderings(k, n, only) for k, n, t in used["tasks"]), f"{phrase!r} never said"


def test_test_distractors_come_from_every_pair():
    seen = {o for objs, *_ in episodes("test", range(3)) for o in objs[PRESETS["hard"]["sequence_length"]:]}
    assert seen & set(split_sets("train")["pairs"]) and seen & set(split_sets("test")["pairs"])


def test_the_same_seed_gives_the_same_episodes_and_splits_differ():
    a, b = list(episodes("test", range(1))), list(episodes("test", range(1)))
    assert a == b and a != list(episodes("train", range(1)))


@pytest.mark.parametrize("split", ["train", "test"])
def test_env_checker_presets_and_spaces(split):
    env = gym.make("vlenvs/GridWorld3D-v0", image_size=32, split=split, render_mode="ansi")
    check_env(env.unwrapped)
    assert env.observation_space == gym.make("vlenvs/GridWorld3D-v0", image_size=32).observation_space
    for preset in PRESETS:
        env = gym.make("vlenvs/GridWorld3D-v0", preset=preset, split=split, image_size=16)
        obs, info = env.reset(seed=0)
        assert env.observation_space.contains(obs)
        assert env.step(info["oracle_action"])[0]["instruction"] == obs["instruction"]


@pytest.mark.parametrize("bad", ["val", "Test", None])
def test_a_bad_split_is_refused_by_name(bad):
    with pytest.raises(InvalidConfigError, match=r"invalid split .*valid choices: 'all', 'train', 'test'"):
        gym.make("vlenvs/GridWorld3D-v0", split=bad)


def test_train_refuses_more_objects_than_train_pairs():
    pairs = len(split_sets("train")["pairs"])
    kw = {"size": 41, "rooms": 1, "tasks": "go_to"}
    gym.make("vlenvs/GridWorld3D-v0", split="train", num_distractors=pairs - 1, **kw)
    with pytest.raises(InvalidConfigError, match=r"num_distractors 12.*split='train'"):
        gym.make("vlenvs/GridWorld3D-v0", split="train", num_distractors=pairs, **kw)
    gym.make("vlenvs/GridWorld3D-v0", split="test", num_distractors=12, **kw)


def test_the_docs_list_the_test_split():
    text = DOCS.read_text()
    test = split_sets("test")
    items = test["pairs"] + tuple(p for key in PHRASES for p in test[key])
    items += tuple(f"RGB {WALL_NAMES[i]}" for i in wall_colors("test"))
    for item in items:
        assert f"`{item.strip(' ,.')}`" in text, f"docs/envs/gridworld3d.md does not list {item!r}"
