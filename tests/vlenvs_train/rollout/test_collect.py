"""End-to-end episodes: every registered env, the tiny model through the transformers backend."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vlenvs
from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.oracle import OraclePolicy
from vlenvs_train.rollout.collect import collect_episodes

#: Small and short settings per env (tiny images: patch 4 x merge 2 -> sides multiple of 8).
FAST = {
    "vlenvs/Maze2D-v0": {"size": 5, "image_size": 32, "max_steps": 3},
    "vlenvs/GridWorld3D-v0": {"image_size": 32, "max_steps": 3},
    "vlenvs/Geometry3k-v0": {},
}


def make_vec(env_id, n, **kw):
    kwargs = {**FAST.get(env_id, {}), **kw}
    while True:
        try:
            return gym.make_vec(env_id, num_envs=n, **kwargs)
        except (InvalidConfigError, TypeError) as e:  # an env without one of the FAST keys
            bad = next((k for k in kwargs if repr(k) in str(e)), None)
            if bad is None:
                raise
            kwargs.pop(bad)


@pytest.mark.parametrize("env_id", sorted(vlenvs.ENVS))
def test_tiny_model_plays_every_env(env_id, hf_policy):
    env = make_vec(env_id, 2)
    agent = BatchedAgent(hf_policy, env, AgentConfig(history_turns=1, history_images=True))
    episodes = collect_episodes(env, agent, num_episodes=2, max_steps=8, seed=0)
    records = [r for e in episodes for r in e.records]
    assert agent.metrics()["replies"] >= len(records) >= 1
    for e in episodes:
        assert e.terminated or e.truncated
        assert [r.step for r in e.records] == list(range(e.length))
        assert len({r.episode_id for r in e.records}) == 1
    for r in records:
        assert np.isfinite(r.reward) and len(r.response_ids) == len(r.logprobs) > 0
        assert r.valid or r.parse_error
        if not isinstance(r.action, str):
            assert 0 <= r.action < len(agent.action_names)


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_every_autoreset_mode_gives_the_same_episodes(mode):
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, size=7, image_size=32, autoreset_mode=mode)
    episodes = collect_episodes(env, BatchedAgent(OraclePolicy(), env), num_episodes=9, seed=4)
    assert len(episodes) == 9 and all(e.success and e.terminated for e in episodes)
    reference = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, size=7, image_size=32)
    ref = collect_episodes(reference, BatchedAgent(OraclePolicy(), reference), num_episodes=9, seed=4)

    def per_env(eps):  # each env's episodes in order: (shortest path, length)
        out = {i: [] for i in range(3)}
        for e in eps:
            out[e.env_index].append((e.records[0].info["shortest_path_length"], e.length))
        return out

    got, want = per_env(episodes), per_env(ref)
    for i in range(3):
        k = min(len(got[i]), len(want[i]))
        assert k >= 1 and got[i][:k] == want[i][:k]


def test_mismatched_agent_and_env_is_an_error():
    env2 = gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, size=5, image_size=32)
    env3 = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, size=5, image_size=32)
    with pytest.raises(InvalidConfigError, match="3 envs but the env has 2"):
        collect_episodes(env2, BatchedAgent(OraclePolicy(), env3), num_episodes=1)
