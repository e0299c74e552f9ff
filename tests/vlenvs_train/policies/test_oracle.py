from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vlenvs
from vlenvs_train.adapter.agent import BatchedAgent
from vlenvs_train.policies.base import PolicyError, PolicyRequest
from vlenvs_train.policies.oracle import OraclePolicy, RandomPolicy
from vlenvs_train.rollout.collect import collect_episodes


@pytest.mark.parametrize("success_mode", ["reach", "stop"])
def test_oracle_solves_maze2d_along_shortest_paths(success_mode):
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=4, size=9, image_size=32, success_mode=success_mode)
    agent = BatchedAgent(OraclePolicy(), env)
    episodes = collect_episodes(env, agent, num_episodes=12, seed=0)
    assert len(episodes) == 12 and all(e.success for e in episodes)
    extra = 1 if success_mode == "stop" else 0
    assert all(e.length == e.records[0].info["shortest_path_length"] + extra for e in episodes)
    assert agent.metrics()["invalid"] == 0


@pytest.mark.parametrize("env_id", sorted(set(vlenvs.ENVS) - {"vlenvs/Maze2D-v0"}))
def test_oracle_on_other_registered_envs(env_id):
    env = gym.make_vec(env_id, num_envs=2)
    obs, info = env.reset(seed=0)
    if "oracle_action" not in info and "oracle_answer" not in info and "answer" not in info:
        pytest.skip(f"{env_id} exposes no oracle in its info")
    episodes = collect_episodes(env, BatchedAgent(OraclePolicy(), env), num_episodes=4, seed=0, max_steps=500)
    assert len(episodes) == 4 and all(e.success for e in episodes)


def test_oracle_without_oracle_info_is_a_clear_error():
    with pytest.raises(PolicyError, match="no 'oracle_action'"):
        OraclePolicy().generate([PolicyRequest([], ("up",), {"steps": 1})])


def test_random_policy_answers_legal_actions():
    outs = RandomPolicy(seed=0).generate([PolicyRequest([], ("a", "b"))] * 20)
    assert {o.text for o in outs} == {"<answer>a</answer>", "<answer>b</answer>"}
    assert all(len(o.response_ids) == 0 == len(o.logprobs) for o in outs)
    assert np.all([o.prompt_ids.size == 0 for o in outs])
