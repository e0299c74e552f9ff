"""InstructionIds: instructions as Gymnasium's own Text flattening, batched; round trips and typed errors."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.spaces import Text, flatten, unflatten
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs.core.spaces import INSTRUCTION_CHARSET
from vlenvs.wrappers import InstructionEncoder, InstructionIds, VectorInstructionIds

MAX_LEN = 40
ENCODER = InstructionEncoder(MAX_LEN)
TEXT = Text(max_length=MAX_LEN, min_length=0, charset=INSTRUCTION_CHARSET)
texts = st.text(alphabet=sorted(INSTRUCTION_CHARSET), max_size=MAX_LEN)


@given(st.lists(texts, min_size=1, max_size=6))
def test_encode_decode_round_trip_and_equal_gymnasium_flatten(batch):
    ids = ENCODER.encode(batch)
    assert ids.shape == (len(batch), MAX_LEN) and ids.dtype == np.int32
    assert all(ENCODER.space.contains(row) for row in ids)
    assert ENCODER.decode(ids) == batch
    for text, row in zip(batch, ids):
        assert np.array_equal(row, flatten(TEXT, text))
        assert unflatten(TEXT, row) == text


def test_ids_follow_the_charset_order_and_pad_with_its_size():
    enc = InstructionEncoder(5, charset="cab")  # a str keeps its order
    assert enc.encode(["ab", ""]).tolist() == [[1, 2, 3, 3, 3], [3, 3, 3, 3, 3]]
    assert InstructionEncoder(3, charset={"c", "a", "b"}).encode(["c"]).tolist() == [[2, 3, 3]]  # a set is sorted


def test_encoder_errors_name_the_bad_value():
    with pytest.raises(InvalidConfigError, match="has 41 characters; the encoder's max_length is 40"):
        ENCODER.encode(["a" * 41])
    with pytest.raises(InvalidConfigError, match="invalid instruction character '€'; valid characters"):
        ENCODER.encode(["ok", "price: 5€"])
    with pytest.raises(InvalidConfigError, match="invalid max_length 0; expected an integer in"):
        InstructionEncoder(0)
    with pytest.raises(InvalidConfigError, match="bad elements \\['ab'\\]"):
        InstructionEncoder(4, charset={"a", "ab"})
    with pytest.raises(InvalidConfigError, match="it is empty"):
        InstructionEncoder(4, charset="")
    with pytest.raises(InvalidConfigError, match="expected integers in 0..3"):
        InstructionEncoder(4, charset="abc").decode(np.array([[0, 4, 3, 3]]))


def test_wrapper_observation_and_flattened_box_match_gymnasium():
    env = InstructionIds(gym.make("vlenvs/Maze2D-v0", preset="easy", image_size=20))
    obs, _ = env.reset(seed=3)
    text = env.unwrapped.core.instructions()[0]
    text_space = env.env.observation_space["instruction"]
    assert env.observation_space["instruction"] == gym.spaces.flatten_space(text_space)
    assert np.array_equal(obs["instruction"], flatten(text_space, text))
    assert env.transform.encoder.decode(obs["instruction"][None]) == [text]
    # a fully flat Box for MLP policies: Gymnasium's FlattenObservation, on top or on the raw env alike
    flat_ids = gym.wrappers.FlattenObservation(env)
    flat_raw = gym.wrappers.FlattenObservation(gym.make("vlenvs/Maze2D-v0", preset="easy", image_size=20))
    a, b = flat_ids.reset(seed=3)[0], flat_raw.reset(seed=3)[0]
    assert a.shape == flat_ids.observation_space.shape == (20 * 20 * 3 + text_space.max_length,)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("env_id", ["vlenvs/Maze2D-v0", "vlenvs/GridWorld3D-v0"])
def test_gymnasium_check_env_passes(env_id):
    env = InstructionIds(gym.make(env_id, image_size=24, render_mode="rgb_array"), max_length=256)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        check_env(env)
        check_env(gym.wrappers.FlattenObservation(env))


def test_max_length_shorter_than_the_env_instructions_is_rejected():
    env = gym.make("vlenvs/Maze2D-v0", size=5, image_size=20)
    longest = env.observation_space["instruction"].max_length
    with pytest.raises(InvalidConfigError, match=f"invalid max_length 10; .* up to {longest} characters"):
        InstructionIds(env, max_length=10)
    with pytest.raises(InvalidConfigError, match="invalid max_length 'x'"):
        VectorInstructionIds(gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, size=5, image_size=20), max_length="x")
