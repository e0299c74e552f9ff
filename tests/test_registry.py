"""Registry-wide checks every vlenvs env must pass: Gymnasium's env checker, determinism, pickling,
single-vs-vector equality, every observation inside the observation space."""

from __future__ import annotations

import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vlenvs

ENV_IDS = sorted(vlenvs.ENVS)
#: Small, fast settings per env so the registry tests stay quick; envs may add theirs here.
FAST_KWARGS: dict[str, dict] = {
    "vlenvs/Maze2D-v0": {"size": 7, "image_size": 32},
    "vlenvs/GridWorld3D-v0": {"image_size": 32},
    "vlenvs/Geometry3k-v0": {"image_size": 64, "source": "generated", "max_action_length": 256, "max_attempts": 16},
}


def make(env_id: str, **kw):
    return gym.make(env_id, **{**FAST_KWARGS.get(env_id, {}), **kw})


def make_vec(env_id: str, n: int, **kw):
    return gym.make_vec(env_id, num_envs=n, **{**FAST_KWARGS.get(env_id, {}), **kw})


def obs_equal(a: dict, b: dict) -> bool:
    return np.array_equal(a["image"], b["image"]) and a["instruction"] == b["instruction"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    for mode in (None, "rgb_array", "ansi"):
        env = make(env_id, render_mode=mode)
        check_env(env.unwrapped, skip_render_check=mode is None)
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_registered_with_native_vector_entry_point(env_id):
    spec = gym.spec(env_id)
    assert spec.entry_point and spec.vector_entry_point
    venv = make_vec(env_id, 2)
    assert not isinstance(venv, (gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv))
    assert venv.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert venv.single_observation_space == make(env_id).observation_space


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_reset_is_deterministic_and_unseeded_reset_continues(env_id):
    env = make(env_id)
    a, _ = env.reset(seed=123)
    b, _ = env.reset(seed=123)
    assert obs_equal(a, b)
    env.reset(seed=5)
    first = [env.reset()[0] for _ in range(3)]
    env.reset(seed=5)
    again = [env.reset()[0] for _ in range(3)]
    assert all(obs_equal(x, y) for x, y in zip(first, again))
    # an unseeded reset does not re-seed: consecutive episodes differ
    assert not all(obs_equal(first[0], x) for x in first[1:])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_roundtrip_mid_episode(env_id):
    env = make(env_id, render_mode="rgb_array")
    env.reset(seed=7)
    env.action_space.seed(0)
    for _ in range(3):
        if any(env.step(env.action_space.sample())[2:4]):
            env.reset()  # the episode ended: pickle a running one
    clone = pickle.loads(pickle.dumps(env))
    actions = [env.action_space.sample() for _ in range(5)]
    for act in actions:
        out_a, out_b = env.step(act), clone.step(act)
        assert obs_equal(out_a[0], out_b[0]) and out_a[1:4] == out_b[1:4]
        if out_a[2] or out_a[3]:
            break
    venv = make_vec(env_id, 3)
    venv.reset(seed=1)
    vclone = pickle.loads(pickle.dumps(venv))
    acts = venv.action_space.sample()
    assert obs_equal_batch(venv.step(acts)[0], vclone.step(acts)[0])


def obs_equal_batch(a: dict, b: dict) -> bool:
    return np.array_equal(a["image"], b["image"]) and tuple(a["instruction"]) == tuple(b["instruction"])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_equals_vector_with_same_seeds(env_id):
    n, seed, steps = 3, 11, 40
    venv = make_vec(env_id, n)
    singles = [make(env_id) for _ in range(n)]
    vobs, _ = venv.reset(seed=seed)
    sobs = [e.reset(seed=seed + i)[0] for i, e in enumerate(singles)]
    space = venv.single_action_space
    space.seed(3)
    done = np.zeros(n, dtype=bool)
    for _ in range(steps):
        acts = [space.sample() for _ in range(n)]
        vobs, vr, vte, vtr, _ = venv.step(np.array(acts) if not isinstance(acts[0], str) else tuple(acts))
        for i, env in enumerate(singles):
            if done[i]:  # NextStep autoreset: the vector env reset env i on this step
                o, _ = env.reset()
                r, te, tr = 0.0, False, False
            else:
                o, r, te, tr, _ = env.step(acts[i])
            assert np.array_equal(vobs["image"][i], o["image"]), f"env {i} image differs"
            assert vobs["instruction"][i] == o["instruction"]
            assert (vr[i], vte[i], vtr[i]) == (r, te, tr)
        done = vte | vtr
        assert venv.observation_space.contains(vobs)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_stay_in_space_under_random_actions(env_id):
    env = make(env_id)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(60):
        assert env.observation_space.contains(obs)
        obs, r, te, tr, info = env.step(env.action_space.sample())
        if te or tr:
            obs, _ = env.reset()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_action_names_exposed(env_id):
    env = make(env_id)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        names = env.unwrapped.action_names
        assert len(names) == space.n and len(set(names)) == space.n and all(isinstance(s, str) for s in names)


def test_import_is_light():
    code = "import sys, vlenvs; bad = [m for m in ('torch', 'vllm', 'pygame', 'transformers', 'sympy', 'math_verify', 'pyarrow') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_module_prefix_resolves_without_import():
    """Gymnasium 1.x dropped entry-point plugins, so ``vlenvs/...`` needs the import; the
    ``module:id`` form imports vlenvs for you."""
    code = "import gymnasium as gym; e = gym.make('vlenvs:vlenvs/Maze2D-v0'); print(type(e.unwrapped).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "Maze2DEnv"
