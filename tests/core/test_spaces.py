"""The instruction space: Gymnasium's Text, whose batch survives AsyncVectorEnv's shared memory."""

from __future__ import annotations

import copy
import multiprocessing as mp

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory
from hypothesis import given, settings
from hypothesis import strategies as st

import vlenvs  # noqa: F401  (registers the ids)
from vlenvs.core.spaces import INSTRUCTION_CHARSET, InstructionText, SharedTexts, instruction_space

KW = {"size": 5, "image_size": 16}
texts = st.text(alphabet=sorted(INSTRUCTION_CHARSET), min_size=1, max_size=12)


def test_instruction_space_is_a_text_space_equal_to_gymnasiums():
    space = instruction_space(12)
    assert isinstance(space, spaces.Text) and isinstance(space, InstructionText)
    assert space == spaces.Text(max_length=12, min_length=1, charset=INSTRUCTION_CHARSET)
    assert space.contains(space.sample())


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(texts, min_size=1, max_size=4), later=st.lists(texts, min_size=4, max_size=4))
def test_shared_memory_reads_what_was_written_last(batch, later):
    space, n = instruction_space(12), len(batch)
    buffer = create_shared_memory(space, n=n, ctx=mp)
    view = read_from_shared_memory(space, buffer, n=n)  # read once, as AsyncVectorEnv does
    assert isinstance(view, SharedTexts) and len(view) == n
    for i, text in enumerate(batch):
        write_to_shared_memory(space, i, text, buffer)
    assert view == tuple(batch) and list(view) == batch and view[-1] == batch[-1]
    snapshot = copy.deepcopy(view)
    assert type(snapshot) is tuple and snapshot == tuple(batch) and copy.copy(view) == snapshot
    for i in range(n):  # later writes show in the view, not in the snapshot
        write_to_shared_memory(space, i, later[i], buffer)
    assert view == tuple(later[:n]) and snapshot == tuple(batch)


def test_gymnasium_text_alone_goes_stale_in_shared_memory():
    # why InstructionText exists: Gymnasium's own handler decodes the buffer once (if this fails, Gymnasium
    # fixed it upstream and InstructionText can go)
    space = spaces.Text(max_length=4, min_length=1, charset="ab")
    buffer = create_shared_memory(space, n=1, ctx=mp)
    view = read_from_shared_memory(space, buffer, n=1)
    write_to_shared_memory(space, 0, "ba", buffer)
    assert view == ("aaaa",)


@pytest.mark.slow
def test_async_vector_env_returns_each_envs_instruction_like_sync():
    kwargs = {"num_envs": 2, "max_episode_steps": 3, **KW}
    sync = gym.make_vec("vlenvs/Maze2D-v0", vectorization_mode="sync", **kwargs)
    async_ = gym.make_vec("vlenvs/Maze2D-v0", vectorization_mode="async", **kwargs)
    try:
        obs_s, _ = sync.reset(seed=3)
        obs_a, _ = async_.reset(seed=3)
        seen = set()
        for _ in range(5):  # crosses an episode end (3 steps), so the instructions change
            assert type(obs_a["instruction"]) is tuple and obs_a["instruction"] == obs_s["instruction"]
            np.testing.assert_array_equal(obs_a["image"], obs_s["image"])
            assert async_.observation_space.contains(obs_a)
            seen.update(obs_a["instruction"])
            actions = async_.action_space.sample()
            obs_s, *_ = sync.step(actions)
            obs_a, *_ = async_.step(actions)
        assert len(seen) > 2
    finally:
        sync.close()
        async_.close()
