"""The observation wrappers share one batched transform: the vector wrapper equals the single one env by env,
under NextStep and SameStep autoreset, and every wrapper rejects envs it cannot serve with a typed error."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs.wrappers import ImageOnly, InstructionIds, VectorImageOnly, VectorInstructionIds

PAIRS = [
    (ImageOnly, VectorImageOnly, {}),
    (ImageOnly, VectorImageOnly, {"channels_first": True}),
    (InstructionIds, VectorInstructionIds, {}),
    (InstructionIds, VectorInstructionIds, {"channels_first": True, "max_length": 300}),
]
FAST = {"vlenvs/Maze2D-v0": {"preset": "easy", "image_size": 16}, "vlenvs/GridWorld3D-v0": {"image_size": 16}}


def assert_obs_equal(a, b, what: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for key in a:
            assert np.array_equal(a[key], b[key]), f"{what}: {key} differs"
    else:
        assert np.array_equal(a, b), what


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
@pytest.mark.parametrize("env_id", sorted(FAST))
@pytest.mark.parametrize("single_cls, vector_cls, opts", PAIRS, ids=lambda x: getattr(x, "__name__", str(x)))
def test_vector_wrapper_equals_single_wrapper_env_by_env(single_cls, vector_cls, opts, env_id, mode):
    n, seed = 3, 4
    venv = vector_cls(gym.make_vec(env_id, num_envs=n, autoreset_mode=mode, **FAST[env_id]), **opts)
    singles = [single_cls(gym.make(env_id, **FAST[env_id]), **opts) for _ in range(n)]
    assert venv.single_observation_space == singles[0].observation_space
    vobs, _ = venv.reset(seed=seed)
    for i, env in enumerate(singles):
        assert_obs_equal(_item(vobs, i), env.reset(seed=seed + i)[0], f"reset env {i}")
    rng = np.random.default_rng(0)
    done = np.zeros(n, dtype=bool)
    finished = 0
    for step in range(40):
        acts = rng.integers(0, venv.single_action_space.n, size=n)
        vobs, vr, vte, vtr, info = venv.step(acts)
        assert venv.observation_space.contains(vobs)
        for i, env in enumerate(singles):
            if done[i]:  # NextStep: this step reset env i
                obs, r, te, tr = env.reset()[0], 0.0, False, False
            else:
                obs, r, te, tr, _ = env.step(acts[i])
            if mode == "SameStep" and (te or tr):
                assert_obs_equal(info["final_obs"][i], obs, f"step {step} env {i} final obs")
                assert env.observation_space.contains(info["final_obs"][i])
                obs = env.reset()[0]
            assert_obs_equal(_item(vobs, i), obs, f"step {step} env {i}")
            assert (vr[i], vte[i], vtr[i]) == (r, te, tr)
        finished += int((vte | vtr).sum())
        done = (vte | vtr) if mode == "NextStep" else np.zeros(n, dtype=bool)
    assert finished > 0, "no episode ended: the autoreset path was not exercised"


def _item(batch, i):
    return {k: v[i] for k, v in batch.items()} if isinstance(batch, dict) else batch[i]


@pytest.mark.parametrize("single_cls, vector_cls, opts", PAIRS[::2], ids=lambda x: getattr(x, "__name__", str(x)))
def test_wrappers_reject_the_wrong_kind_of_env(single_cls, vector_cls, opts):
    with pytest.raises(InvalidConfigError, match=f"for a vector env use {vector_cls.__name__}"):
        single_cls(gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, **FAST["vlenvs/Maze2D-v0"]))
    with pytest.raises(InvalidConfigError, match=f"for a single env use {single_cls.__name__}"):
        vector_cls(gym.make("vlenvs/Maze2D-v0", **FAST["vlenvs/Maze2D-v0"]))
    with pytest.raises(InvalidConfigError, match="'image' key of uint8.*CartPole-v1"):
        single_cls(gym.make("CartPole-v1"))


def test_text_action_env_is_rejected_naming_the_problem():
    pytest.importorskip("math_verify")
    env = gym.make("vlenvs/Geometry3k-v0", source="generated", image_size=64)
    for wrapper in (ImageOnly, InstructionIds):
        with pytest.raises(InvalidConfigError, match=r"need a Discrete action space; vlenvs/Geometry3k-v0 has "
                                                     r"action space Text.*free-text answers"):
            wrapper(env)


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
@pytest.mark.parametrize("vector", [VectorImageOnly, VectorInstructionIds])
def test_vector_wrappers_expose_the_autoreset_mode_they_wrap(vector, mode):
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, autoreset_mode=mode, **FAST["vlenvs/Maze2D-v0"])
    wrapped = vector(venv)
    # the attribute (which TorchRL's GymWrapper reads) and the metadata, as on the env itself
    assert wrapped.autoreset_mode == venv.autoreset_mode == gym.vector.AutoresetMode(mode)
    assert wrapped.metadata["autoreset_mode"] == venv.metadata["autoreset_mode"]
