"""Env configs reject numbers given as strings (or bools) up front, naming the key; and the unknown-keyword
error is Python's TypeError as well as our InvalidConfigError."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vlenvs  # noqa: F401
from vlenvs import InvalidConfigError, UnexpectedArgumentError
from vlenvs.core.config import check_float, check_int
from vlenvs.envs.geometry3k.config import Geometry3kConfig
from vlenvs.envs.gridworld3d.config import GridWorld3DConfig
from vlenvs.envs.maze2d.config import Maze2DConfig

CONFIGS = {"vlenvs/Maze2D-v0": Maze2DConfig, "vlenvs/GridWorld3D-v0": GridWorld3DConfig,
           "vlenvs/Geometry3k-v0": Geometry3kConfig}


def numeric_fields(cls) -> list[tuple[str, float | int]]:
    """Every field typed int or float (alone or in a union), with a valid value for it."""
    out = []
    for f in dataclasses.fields(cls):
        kinds = {part.strip() for part in str(f.type).replace("[", "|").replace("]", "|").replace(",", "|").split("|")}
        if kinds & {"int", "float"}:
            out.append((f.name, f.default if f.default is not None else 10))
    return out


FIELDS = [(cls, name, valid) for cls in CONFIGS.values() for name, valid in numeric_fields(cls)]


def test_every_numeric_field_is_found():
    names = {(cls.__name__, name) for cls, name, _ in FIELDS}
    assert {("Maze2DConfig", "step_penalty"), ("Maze2DConfig", "max_steps"), ("GridWorld3DConfig", "fov"),
            ("GridWorld3DConfig", "rooms"), ("Geometry3kConfig", "format_reward"),
            ("Geometry3kConfig", "max_instruction_length")} <= names
    assert len(FIELDS) == 4 + 8 + 5
    for cls, name, valid in FIELDS:
        cls(**{name: valid})  # the valid value really is valid


@given(field=st.sampled_from(FIELDS), form=st.sampled_from(["str", "float_str", "padded", "text", "bool"]),
       text=st.text(max_size=8))
def test_numbers_as_strings_or_bools_are_rejected_naming_the_key(field, form, text):
    cls, name, valid = field
    bad = {"str": str(valid), "float_str": str(float(valid)), "padded": f" {valid} ", "text": text,
           "bool": True}[form]
    with pytest.raises(InvalidConfigError, match=name):
        cls(**{name: bad})


@given(field=st.sampled_from(FIELDS))
def test_env_construction_rejects_a_string_number_before_any_step(field):
    cls, name, valid = field
    env_id = next(k for k, v in CONFIGS.items() if v is cls)
    with pytest.raises(InvalidConfigError, match=f"invalid {name}"):
        gym.make(env_id, **{name: str(valid)})


@given(value=st.one_of(st.floats(0, 1), st.integers(0, 1), st.floats(0, 1).map(np.float32)))
def test_float_fields_are_stored_as_python_floats(value):
    assert type(Maze2DConfig(step_penalty=value).step_penalty) is float
    assert type(GridWorld3DConfig(step_penalty=value).step_penalty) is float
    assert type(Geometry3kConfig(format_reward=value).format_reward) is float


@pytest.mark.parametrize("bad", ["0.5", b"1", True, None, [0.5], complex(1, 0)])
def test_check_helpers_take_numbers_only(bad):
    with pytest.raises(InvalidConfigError, match="invalid x"):
        check_float("x", bad, 0.0, 2.0)
    with pytest.raises(InvalidConfigError, match="invalid x"):
        check_int("x", bad, 0, 2)
    assert check_float("x", np.int64(1), 0.0, 2.0) == 1.0 and check_int("x", np.int64(1), 0, 2) == 1


def test_unknown_keyword_is_a_type_error_worded_like_pythons():
    with pytest.raises(TypeError, match=r"Maze2DConfig.__init__\(\) got an unexpected keyword argument 'frameskip'") as e:
        gym.make("vlenvs/Maze2D-v0", frameskip=1)
    assert isinstance(e.value, InvalidConfigError) and isinstance(e.value, UnexpectedArgumentError)
    assert "valid choices: 'size', 'image_size'" in str(e.value)
    with pytest.raises(TypeError, match="unexpected keyword argument 'frameskip'"):
        gym.make_vec("vlenvs/GridWorld3D-v0", num_envs=2, frameskip=1)
