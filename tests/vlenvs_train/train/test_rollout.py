"""The trainer's rollout helpers: its env comes from EnvFactory; metrics of episodes."""

from __future__ import annotations

import pytest

from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.oracle import OraclePolicy
from vlenvs_train.rollout.envs import EnvFactory
from vlenvs_train.train.config import EnvConfig
from vlenvs_train.train.rollout import episode_limit, episode_metrics, make_env, play_many, play_seeds


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_make_env_is_the_factorys_env_in_every_mode(mode):
    config = EnvConfig(id="vlenvs/Maze2D-v0", preset="easy",
                       kwargs={"image_size": 16, "autoreset_mode": mode, "max_steps": 4})
    env = make_env(config, 3)
    ref = EnvFactory("vlenvs/Maze2D-v0", dict(config.kwargs), "easy").make(3)
    assert env.num_envs == 3 and env.metadata["autoreset_mode"].value == mode
    assert env.unwrapped.core.config == ref.unwrapped.core.config and episode_limit(env) == 4
    episodes = play_seeds(env, BatchedAgent(OraclePolicy(), env), [5, 6, 7])
    assert all(e.length <= 4 for e in episodes)


def test_episode_metrics_of_played_episodes():
    config = EnvConfig(id="vlenvs/Maze2D-v0", preset="easy", kwargs={"image_size": 16})
    episodes = play_many(config, AgentConfig(), OraclePolicy(), list(range(5)), batch=2)
    metrics = episode_metrics(episodes, prefix="eval_")
    assert metrics["eval_success_rate"] == 1.0 and metrics["eval_invalid_rate"] == 0.0
    assert metrics["eval_episodes"] == 5.0 and metrics["eval_mean_length"] == sum(e.length for e in episodes) / 5
    assert episode_metrics([])["success_rate"] == 0.0


def test_episode_metrics_count_ungradable_replies_per_reply():
    """Geometry3k flags answers its grader refuses (``info["ungradable"]``): counted apart, per reply."""
    from vlenvs_train.policies.oracle import scripted_output

    class Refused:
        def generate(self, requests):
            return [scripted_output("x^2" if k % 2 else "999") for k, _ in enumerate(requests)]

    config = EnvConfig(id="vlenvs/Geometry3k-v0", preset="easy", kwargs={"max_attempts": 2})
    episodes = play_many(config, AgentConfig(answer_format="answer"), Refused(), [0, 1], batch=2)
    flags = [r.info["ungradable"] for e in episodes for r in e.records]
    assert len(flags) == 4 and sum(flags) == 2  # env 1 (x^2) twice, never env 0 (a wrong number)
    assert episode_metrics(episodes)["ungradable_rate"] == sum(flags) / 4
    assert episode_metrics(play_many(config, AgentConfig(), OraclePolicy(), [0], batch=1))["ungradable_rate"] == 0.0
