"""The native vector env's Gymnasium 1.x contract: autoreset modes, info masks, seeding, copying."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import vlenvs  # noqa: F401
from vlenvs import InvalidConfigError, ResetNeededError

KW = {"size": 5, "image_size": 10, "max_steps": 3}


def make_vec(n=4, **kw):
    return gym.make_vec("vlenvs/Maze2D-v0", num_envs=n, **{**KW, **kw})


def blocked_actions(core):
    acts = []
    for i in range(core.num_envs):
        r, c = core.state.agent_rc[i]
        acts.append(next(a for a, (dr, dc) in enumerate([(-1, 0), (1, 0), (0, -1), (0, 1)])
                         if core.state.walls[i, r + dr, c + dc]))
    return np.array(acts)


def test_spaces_and_info_masks():
    venv = make_vec()
    obs, info = venv.reset(seed=0)
    assert venv.single_observation_space["image"].shape == (10, 10, 3)
    assert venv.observation_space["image"].shape == (4, 10, 10, 3)
    assert venv.observation_space.contains(obs)
    for key in ("success", "oracle_action", "shortest_path_length", "bumped"):
        assert info[key].shape == (4,) and info[f"_{key}"].all()


def test_next_step_autoreset():
    venv = make_vec()
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    venv.reset(seed=0)
    core = venv.unwrapped.core
    for _ in range(3):
        obs, r, te, tr, info = venv.step(blocked_actions(core))
    assert tr.all() and (info["steps"] == 3).all()
    terminal = obs["image"].copy()
    obs, r, te, tr, info = venv.step(blocked_actions(core))  # the reset step: action ignored
    assert (r == 0).all() and not te.any() and not tr.any() and (info["steps"] == 0).all()
    assert not np.array_equal(obs["image"], terminal)


def test_same_step_autoreset_reports_final_obs_and_info():
    venv = make_vec(autoreset_mode="SameStep")
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    venv.reset(seed=0)
    core = venv.unwrapped.core
    for _ in range(2):
        venv.step(blocked_actions(core))
    before = venv.unwrapped.core.images().copy()
    obs, r, te, tr, info = venv.step(blocked_actions(core))
    assert tr.all() and info["_final_obs"].all() and info["_final_info"].all()
    assert (info["final_info"]["steps"] == 3).all() and (info["steps"] == 0).all()
    for i in range(4):
        assert np.array_equal(info["final_obs"][i]["image"], before[i])  # bumping changed nothing
    assert not np.array_equal(obs["image"], before)


def test_same_step_masks_only_finished_envs():
    venv = make_vec(n=2, autoreset_mode="SameStep", max_steps=50)
    venv.reset(seed=4)
    core = venv.unwrapped.core
    info = core.info()
    acts = np.array([info["oracle_action"][0], blocked_actions(core)[1]])
    while True:
        obs, r, te, tr, info = venv.step(acts)
        if te[0]:
            break
        acts = np.array([info["oracle_action"][0], blocked_actions(core)[1]])
    assert info["_final_obs"].tolist() == [True, False] and info["final_obs"][1] is None
    assert info["final_info"]["success"][0] and r[0] == 1.0


def test_disabled_autoreset_needs_reset_mask():
    venv = make_vec(autoreset_mode=AutoresetMode.DISABLED)
    venv.reset(seed=0)
    core = venv.unwrapped.core
    for _ in range(3):
        venv.step(blocked_actions(core))
    with pytest.raises(ResetNeededError, match=r"envs \[0, 1, 2, 3\]"):
        venv.step(blocked_actions(core))
    mask = np.array([True, True, False, False])
    venv.reset(options={"reset_mask": mask})
    with pytest.raises(ResetNeededError, match=r"envs \[2, 3\]"):
        venv.step(blocked_actions(core))
    venv.reset(options={"reset_mask": ~mask})
    venv.step(blocked_actions(core))


def test_reset_seeds_each_env_with_seed_plus_index():
    a = make_vec(n=3)
    obs_a, _ = a.reset(seed=10)
    b = make_vec(n=3)
    obs_b, _ = b.reset(seed=[10, 11, 12])
    assert np.array_equal(obs_a["image"], obs_b["image"])
    single = gym.make("vlenvs/Maze2D-v0", **KW)
    assert np.array_equal(single.reset(seed=12)[0]["image"], obs_a["image"][2])


def test_copy_false_returns_the_live_buffer():
    venv = make_vec(copy=False)
    obs, _ = venv.reset(seed=0)
    assert np.shares_memory(obs["image"], venv.unwrapped.core.images())
    venv2 = make_vec()
    obs2, _ = venv2.reset(seed=0)
    assert not np.shares_memory(obs2["image"], venv2.unwrapped.core.images())


def test_render_modes_of_the_vector_env():
    venv = make_vec(render_mode="rgb_array")
    obs, _ = venv.reset(seed=0)
    frames = venv.render()  # one frame per env, as Gymnasium's own vector envs return them
    assert isinstance(frames, tuple) and len(frames) == 4
    assert all(np.array_equal(f, o) for f, o in zip(frames, obs["image"]))
    venv = make_vec(render_mode="ansi")
    venv.reset(seed=0)
    texts = venv.render()
    assert isinstance(texts, tuple) and len(texts) == 4 and all("Legend" in t for t in texts)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"autoreset_mode": "Sometimes"}, r"autoreset_mode 'Sometimes'.*NextStep"),
        ({"render_mode": "human"}, r"render_mode for a vector env 'human'.*rgb_array"),
        ({"size": 8}, r"size 8.*odd"),
    ],
)
def test_bad_vector_arguments(kwargs, match):
    with pytest.raises(InvalidConfigError, match=match):
        make_vec(**kwargs)


def test_bad_reset_options():
    venv = make_vec()
    with pytest.raises(ResetNeededError):
        venv.step(np.zeros(4, dtype=int))
    with pytest.raises(InvalidConfigError, match="reset_mask"):
        venv.reset(options={"reset_mask": [1, 0]})
    with pytest.raises(InvalidConfigError, match="'mask'.*reset_mask"):
        venv.reset(options={"mask": np.ones(4, bool)})
    with pytest.raises(ResetNeededError):
        venv.reset(options={"reset_mask": np.array([True, False, False, False])})


@pytest.mark.parametrize("env_id", sorted(vlenvs.ENVS))
@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_make_vec_honours_max_episode_steps_as_make_does(env_id, mode):
    """``max_episode_steps`` truncates the episodes of ``gym.make_vec`` exactly where ``gym.make``'s TimeLimit
    does (the same steps, rewards and flags), in every autoreset mode."""
    kw = {"vlenvs/Geometry3k-v0": {"max_attempts": 4}}.get(env_id, {"image_size": 16, "max_steps": 50})
    limit = 2
    single = gym.make(env_id, max_episode_steps=limit, **kw)
    assert single.spec.max_episode_steps == limit
    vec = gym.make_vec(env_id, num_envs=1, max_episode_steps=limit, autoreset_mode=mode, **kw)
    assert vec.unwrapped.max_episode_steps == limit
    single.reset(seed=3)
    vec.reset(seed=3)
    wrong = "0" if env_id == "vlenvs/Geometry3k-v0" else 0  # Geometry3k: a wrong answer keeps the episode going
    for t in range(limit):
        _, r1, te1, tr1, _ = single.step(wrong)
        _, r2, te2, tr2, _ = vec.step((wrong,) if isinstance(wrong, str) else np.array([wrong]))
        assert (float(r1), bool(te1), bool(tr1)) == (float(r2[0]), bool(te2[0]), bool(tr2[0]))
    assert tr1 and not te1
    if mode == "Disabled":
        with pytest.raises(ResetNeededError):
            vec.step((wrong,) if isinstance(wrong, str) else np.array([wrong]))
        vec.reset(options={"reset_mask": np.array([True])})
    else:  # the next episode gets the full limit again
        if mode == "NextStep":
            vec.step((wrong,) if isinstance(wrong, str) else np.array([wrong]))  # the reset step
    for t in range(limit):
        _, _, te, tr, _ = vec.step((wrong,) if isinstance(wrong, str) else np.array([wrong]))
        assert bool(tr[0]) == (t == limit - 1) and not te[0]


def test_max_episode_steps_is_validated():
    with pytest.raises(InvalidConfigError, match="max_episode_steps"):
        make_vec(max_episode_steps=0)
    assert make_vec().unwrapped.max_episode_steps is None


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_is_success_at_episode_end_like_the_single_env(mode):
    venv = make_vec(n=3, autoreset_mode=mode, max_steps=4)
    singles = [gym.make("vlenvs/Maze2D-v0", **{**KW, "max_steps": 4}) for _ in range(3)]
    venv.reset(seed=2)
    for i, env in enumerate(singles):
        env.reset(seed=2 + i)
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(4):  # the first episode of every env ends by step 4
        acts = rng.integers(0, 4, size=3)
        _, _, term, trunc, info = venv.step(acts)
        done = term | trunc
        ends = info.get("final_info", info) if mode == "SameStep" else info
        if not done.any():
            assert "is_success" not in info and "is_success" not in info.get("final_info", {})
        for i, env in enumerate(singles):
            if env.unwrapped._state == "done":
                continue
            *_, single_info = env.step(acts[i])
            if done[i]:
                ended += 1
                assert ends["_is_success"][i] and ends["is_success"][i] == single_info["is_success"]
            else:
                assert "is_success" not in single_info
                assert "_is_success" not in ends or not ends["_is_success"][i]
    assert ended == 3
