"""ImageOnly / VectorImageOnly: the image as a plain array, and plugging Maze2D into Stable-Baselines3."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs.wrappers import ImageOnly, VectorImageOnly
from vlenvs.wrappers.image_only import transform_images


def test_image_only_observation():
    env = ImageOnly(gym.make("vlenvs/Maze2D-v0", size=5, image_size=40))
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (40, 40, 3) and env.observation_space.contains(obs)
    with pytest.raises(InvalidConfigError, match="Dict observation space"):
        ImageOnly(gym.make("CartPole-v1"))


@pytest.mark.parametrize("env_id", ["vlenvs/Maze2D-v0", "vlenvs/GridWorld3D-v0"])
@pytest.mark.parametrize("channels_first", [False, True])
def test_gymnasium_check_env_passes(env_id, channels_first):
    env = ImageOnly(gym.make(env_id, image_size=24, render_mode="rgb_array"), channels_first=channels_first)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        check_env(env)
    assert env.observation_space.shape == ((3, 24, 24) if channels_first else (24, 24, 3))


def test_channels_first_is_a_contiguous_transpose():
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, size=5, image_size=20)
    chw = VectorImageOnly(venv, channels_first=True)
    obs, _ = chw.reset(seed=1)
    images = venv.unwrapped.core.images()
    assert obs.shape == (2, 3, 20, 20) and obs.flags.c_contiguous
    assert np.array_equal(obs, images.transpose(0, 3, 1, 2))


@pytest.mark.parametrize("channels_first", [False, True])
def test_normalize_gives_float_images_in_unit_range(channels_first):
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, size=5, image_size=20)
    wrapped = VectorImageOnly(venv, channels_first=channels_first, normalize=True)
    obs, _ = wrapped.reset(seed=1)
    images = venv.unwrapped.core.images()
    expected = (images.transpose(0, 3, 1, 2) if channels_first else images) / 255
    assert obs.dtype == np.float32 and np.allclose(obs, expected)
    assert transform_images(np.full((1, 2, 2, 3), 255, np.uint8), channels_first, True).max() == 1.0  # not above
    assert wrapped.single_observation_space == gym.spaces.Box(0.0, 1.0, expected.shape[1:], np.float32)
    assert wrapped.observation_space.contains(obs)
    single = ImageOnly(gym.make("vlenvs/Maze2D-v0", size=5, image_size=20), normalize=True)
    one, _ = single.reset(seed=1)
    assert one.dtype == np.float32 and single.observation_space.contains(one)


@pytest.mark.slow
def test_sb3_ppo_cnn_policy_trains_a_few_thousand_steps():
    torch = pytest.importorskip("torch")
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_checker import check_env as sb3_check_env
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    factory = lambda: ImageOnly(gym.make("vlenvs/Maze2D-v0", preset="easy", image_size=40))  # noqa: E731
    sb3_check_env(factory())
    venv = make_vec_env(factory, n_envs=4, seed=0)
    model = sb3.PPO("CnnPolicy", venv, n_steps=256, batch_size=256, n_epochs=1, seed=0, verbose=0,
                    policy_kwargs={"features_extractor_kwargs": {"features_dim": 32}})
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (4,) and np.isin(action, range(4)).all()
