"""SB3VecEnv: Stable-Baselines3's VecEnv contract over the native batched env, checked against SB3's own
DummyVecEnv over single envs with the same seeds and actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs.wrappers import ImageOnly, InstructionIds, VectorImageOnly, VectorInstructionIds

pytest.importorskip("stable_baselines3")
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from vlenvs.wrappers import SB3VecEnv  # noqa: E402

ENV_ID = "vlenvs/Maze2D-v0"
KW = {"preset": "easy", "image_size": 20, "max_steps": 8}


def assert_obs_equal(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    else:
        assert np.array_equal(a, b)


@pytest.mark.parametrize("single, vector", [(ImageOnly, VectorImageOnly), (InstructionIds, VectorInstructionIds)])
def test_steps_like_dummy_vec_env_over_single_envs(single, vector):
    n = 3
    ours = SB3VecEnv(vector(gym.make_vec(ENV_ID, num_envs=n, autoreset_mode="SameStep", **KW)))
    theirs = DummyVecEnv([lambda: single(gym.make(ENV_ID, **KW)) for _ in range(n)])
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    assert ours.seed(9) == theirs.seed(9) == [9, 10, 11]
    assert_obs_equal(ours.reset(), theirs.reset())
    rng = np.random.default_rng(0)
    ended = successes = 0
    for _ in range(40):
        actions = rng.integers(0, 4, size=n)
        obs_a, rew_a, done_a, infos_a = ours.step(actions)
        obs_b, rew_b, done_b, infos_b = theirs.step(actions)
        assert_obs_equal(obs_a, obs_b)
        assert rew_a.dtype == np.float32 and np.array_equal(rew_a, rew_b) and np.array_equal(done_a, done_b)
        for i in range(n):
            a, b = dict(infos_a[i]), infos_b[i]
            if done_a[i]:
                assert_obs_equal(a.pop("terminal_observation"), b.pop("terminal_observation"))
                assert a["is_success"] == b["is_success"] == b["success"]  # SB3 reads is_success from both
                ended, successes = ended + 1, successes + b["success"]
                assert ours.reset_infos[i].keys() == theirs.reset_infos[i].keys()
            assert a.keys() == b.keys() and all(np.all(a[k] == b[k]) for k in a)
    assert ended > 0 and 0 < successes < ended  # both kinds of episode end were compared


def test_attributes_images_and_close():
    venv = gym.make_vec(ENV_ID, num_envs=2, autoreset_mode="SameStep", render_mode="rgb_array", **KW)
    env = SB3VecEnv(VectorImageOnly(venv))
    env.reset()
    assert env.render_mode == "rgb_array" and env.get_attr("num_envs") == [2, 2]
    assert env.get_attr("action_names", indices=[1]) == [("up", "down", "left", "right")]
    assert env.env_is_wrapped(gym.Wrapper) == [False, False]
    images = env.get_images()
    assert len(images) == 2 and images[0].shape == (20, 20, 3)
    assert env.render().shape == (40, 20, 3)  # SB3 tiles the 2 frames in 2 rows
    with pytest.raises(InvalidConfigError, match="invalid indices \\[0\\] for set_attr"):
        env.set_attr("copy", False, indices=[0])
    env.set_attr("copy", False)
    assert venv.unwrapped.copy is False
    env.close()


def test_typed_errors_name_the_problem():
    with pytest.raises(InvalidConfigError, match="invalid autoreset_mode .*NextStep.*needs .*SameStep"):
        SB3VecEnv(VectorImageOnly(gym.make_vec(ENV_ID, num_envs=2, **KW)))
    with pytest.raises(InvalidConfigError, match="needs array observations .* wrap the env with VectorImageOnly"):
        SB3VecEnv(gym.make_vec(ENV_ID, num_envs=2, autoreset_mode="SameStep", **KW))
    with pytest.raises(InvalidConfigError, match="for a single env use SB3's DummyVecEnv"):
        SB3VecEnv(ImageOnly(gym.make(ENV_ID, **KW)))


@pytest.mark.slow
def test_ppo_multi_input_policy_runs_on_instruction_ids():
    torch = pytest.importorskip("torch")
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    torch.set_num_threads(1)
    kw = {**KW, "image_size": 36}  # SB3's NatureCNN needs 36 pixels
    env = VecMonitor(SB3VecEnv(VectorInstructionIds(gym.make_vec(ENV_ID, num_envs=4, autoreset_mode="SameStep", **kw))))
    model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=64, n_epochs=1, seed=0, verbose=0,
                policy_kwargs={"features_extractor_kwargs": {"cnn_output_dim": 16}})
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256 and len(model.ep_info_buffer) > 0 and len(model.ep_success_buffer) > 0
    action, _ = model.predict(env.reset(), deterministic=True)
    assert action.shape == (4,)
