"""The shared train/test partition: disjoint, covering every colour and shape, a fixed function of the names."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlenvs.core.errors import InvalidConfigError
from vlenvs.core.split import (
    SPLITS,
    allowed,
    allowed_ids,
    check_split,
    hash_order,
    held_out_items,
    held_out_pairs,
    pair_names,
    pick,
)

names = st.lists(st.text(min_size=1, max_size=8), min_size=2, max_size=12, unique=True)


@given(names)
def test_hash_order_is_a_permutation_that_ignores_list_order(words):
    order = hash_order(words)
    assert sorted(order) == list(range(len(words)))
    shuffled = words[::-1]
    assert [shuffled[i] for i in hash_order(shuffled)] == [words[i] for i in order]


@given(names)
def test_items_hold_out_a_quarter_never_none_or_all(words):
    test = held_out_items(words)
    assert test.sum() == max(1, int(len(words) / 4 + 0.5))
    assert 1 <= test.sum() < len(words)
    ids = {s: set(allowed_ids(words, s).tolist()) for s in SPLITS}
    assert ids["train"].isdisjoint(ids["test"]) and ids["train"] | ids["test"] == ids["all"]
    assert ids["all"] == set(range(len(words)))


@given(st.integers(2, 12), st.integers(2, 12))
def test_pairs_cover_every_colour_and_shape_in_both_splits(n_colors, n_shapes):
    colors, shapes = [f"c{i}" for i in range(n_colors)], [f"s{i}" for i in range(n_shapes)]
    test = held_out_pairs(colors, shapes)
    assert test.sum() == max(n_colors, n_shapes)
    train = allowed(test, "train")
    assert not (train & test).any() and (train | test).all() and allowed(test, "all").all()
    for mask in (train, test):
        assert mask.any(axis=1).all(), "a colour missing from a split"
        assert mask.any(axis=0).all(), "a shape missing from a split"


def test_the_partition_does_not_depend_on_the_process():
    """SHA-256, not Python's per-process string hash: other hash seeds give the same split."""
    code = ("from vlenvs.envs.maze2d.tasks import split_sets as a; from vlenvs.envs.gridworld3d.tasks import "
            "split_sets as b; from vlenvs.envs.gridworld3d.generate import wall_colors as w; "
            "print(repr((a('test'), b('test'), w('test').tolist())))")
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outs.add(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env=env).stdout)
    from vlenvs.envs.gridworld3d.generate import wall_colors
    from vlenvs.envs.gridworld3d.tasks import split_sets as gw
    from vlenvs.envs.maze2d.tasks import split_sets as maze

    assert outs == {repr((maze("test"), gw("test"), wall_colors("test").tolist())) + "\n"}


def test_pair_names_and_pick():
    mask = np.array([[True, False], [False, True]])
    assert pair_names(mask, ["red", "blue"], ["ball", "box"]) == ("red ball", "blue box")
    u = np.array([0.0, 0.49, 0.5, 0.999999])
    assert pick(u, 2).tolist() == [0, 0, 1, 1]
    assert pick(u, np.array([1, 2, 3, 4])).tolist() == [0, 0, 1, 3]


@pytest.mark.parametrize("bad", ["val", "ALL", None, 1])
def test_a_bad_split_names_the_value_and_the_choices(bad):
    with pytest.raises(InvalidConfigError, match=r"invalid split .*; valid choices: 'all', 'train', 'test'"):
        check_split(bad)
    with pytest.raises(InvalidConfigError):
        allowed_ids(["a", "b"], bad)
