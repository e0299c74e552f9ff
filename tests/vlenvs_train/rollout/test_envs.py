"""EnvFactory, the one env builder of vlenvs_train, and the step limit the episode loop reads off an env."""

from __future__ import annotations

import numpy as np
import pytest

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import BatchedAgent
from vlenvs_train.policies.oracle import RandomPolicy
from vlenvs_train.rollout.envs import EnvFactory, episode_limit
from vlenvs_train.rollout.play import play_seeds


def test_env_factory_validates_and_builds():
    env = EnvFactory("vlenvs/GridWorld3D-v0", {"image_size": 32}, preset="easy").make(3)
    assert env.num_envs == 3 and env.single_observation_space["image"].shape == (32, 32, 3)
    with pytest.raises(InvalidConfigError, match="invalid env id 'vlenvs/Nope-v0'.*Maze2D"):
        EnvFactory("vlenvs/Nope-v0")
    with pytest.raises(InvalidConfigError, match="must be a mapping"):
        EnvFactory("vlenvs/Maze2D-v0", kwargs=[("size", 5)])  # type: ignore[arg-type]


def test_from_config_reads_id_preset_kwargs():
    class Cfg:
        id, preset, kwargs = "vlenvs/Maze2D-v0", "easy", {"image_size": 32}

    assert EnvFactory.from_config(Cfg()) == EnvFactory("vlenvs/Maze2D-v0", {"image_size": 32}, "easy")


def test_episode_limit_reads_the_config_and_max_episode_steps():
    assert episode_limit(EnvFactory("vlenvs/Maze2D-v0", {"size": 7, "max_steps": 9}).make(1)) == 9
    assert episode_limit(EnvFactory("vlenvs/Maze2D-v0", {"size": 7}).make(1)) == 36  # (size - 1) ** 2
    assert episode_limit(EnvFactory("vlenvs/Geometry3k-v0", {"max_attempts": 3}).make(1)) == 3
    limited = EnvFactory("vlenvs/Maze2D-v0", {"size": 7, "max_steps": 9, "max_episode_steps": 4}).make(1)
    assert episode_limit(limited) == 4
    assert episode_limit(object()) == 1000


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_play_seeds_stops_at_max_episode_steps(mode):
    env = EnvFactory("vlenvs/Maze2D-v0", {"size": 9, "image_size": 16, "max_episode_steps": 3,
                                          "autoreset_mode": mode}).make(4)
    episodes = play_seeds(env, BatchedAgent(RandomPolicy(seed=1), env), [1, 2, 3, 4])
    assert all(e.length <= 3 for e in episodes)
    assert all(e.truncated for e in episodes if e.length == 3 and not e.terminated)
    assert np.mean([e.length for e in episodes]) > 1
