from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.base import PolicyError, PolicyOutput
from vlenvs_train.policies.oracle import scripted_output


class Scripted:
    """Replies with the given texts in turn (one list per call), recording the requests it got."""

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []

    def generate(self, requests):
        self.requests.append(list(requests))
        texts = self.replies.pop(0)
        return [PolicyOutput(t, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
                for t in texts[: len(requests)]]


def make_env(n=3, **kw):
    return gym.make_vec("vlenvs/Maze2D-v0", num_envs=n, size=7, image_size=32, **kw)


def test_one_policy_call_per_step_and_actions_from_replies():
    env = make_env()
    policy = Scripted([["<answer>up</answer>", "<answer>west</answer>", "Answer: down"]])
    agent = BatchedAgent(policy, env)
    obs, info = env.reset(seed=0)
    actions, records = agent.act(obs, info)
    assert len(policy.requests) == 1 and len(policy.requests[0]) == 3
    assert actions.tolist() == [0, 2, 1] and actions.dtype == np.int64
    assert [r.valid for r in records] == [True, True, True]
    assert policy.requests[0][0].legal_actions == ("up", "down", "left", "right")
    assert "oracle_action" in policy.requests[0][0].hints


def test_compact_prompt_reaches_the_policy():
    env = make_env()
    policy = Scripted([["<answer>up</answer>"] * 3])
    obs, info = env.reset(seed=0)
    BatchedAgent(policy, env, AgentConfig(prompt="compact", answer_format="answer")).act(obs, info)
    messages = policy.requests[0][1].messages
    assert messages[0]["content"][0]["text"] == "Maze2D. Actions: up down left right. Reply <answer>...</answer>"
    assert messages[-1]["content"][-1]["text"] == obs["instruction"][1]


def test_invalid_replies_are_counted_fall_back_penalised_and_fed_back():
    env = make_env()
    policy = Scripted([["<answer>fly</answer>", "<answer>up</answer>", "gibberish"], ["a", "b", "c"]])
    agent = BatchedAgent(policy, env, AgentConfig(fallback_action="right", invalid_penalty=0.5))
    obs, info = env.reset(seed=0)
    actions, records = agent.act(obs, info)
    assert actions.tolist() == [3, 0, 3]
    obs, reward, term, trunc, info = env.step(actions)
    agent.observe(reward, term, trunc, info)
    assert agent.invalid_counts.tolist() == [1, 0, 1]
    assert records[0].reward == pytest.approx(reward[0] - 0.5) and records[1].reward == pytest.approx(reward[1])
    assert "invalid" in records[0].parse_error or "names no legal action" in records[0].parse_error
    agent.act(obs, info)
    feedback = policy.requests[1][0].messages[-1]["content"][-1]["text"]
    assert feedback.startswith("Your last reply was invalid") and "up, down, left, right" in feedback
    assert not policy.requests[1][1].messages[-1]["content"][-1]["text"].startswith("Your last reply")
    assert agent.metrics()["invalid"] == 2


def test_random_fallback_is_seeded_and_legal():
    env = make_env(n=8)
    obs, info = env.reset(seed=0)
    runs = []
    for _ in range(2):
        agent = BatchedAgent(Scripted([["nope"] * 8]), env, AgentConfig(fallback="random", seed=3))
        runs.append(agent.act(obs, info)[0].tolist())
    assert runs[0] == runs[1] and all(0 <= a < 4 for a in runs[0])


def test_bad_config_names_the_choices():
    with pytest.raises(InvalidConfigError, match="fallback_action 'jump'.*'up'"):
        BatchedAgent(Scripted([]), make_env(), AgentConfig(fallback_action="jump"))
    with pytest.raises(InvalidConfigError, match="fallback"):
        AgentConfig(fallback="noop")
    with pytest.raises(InvalidConfigError, match="prompt 'short'.*'compact'"):
        AgentConfig(prompt="short")
    with pytest.raises(InvalidConfigError, match="policy"):
        BatchedAgent(object(), make_env())


def test_a_policy_that_drops_a_step_is_an_error():
    env = make_env()
    obs, info = env.reset(seed=0)
    with pytest.raises(PolicyError, match="2 outputs for 3 requests"):
        BatchedAgent(Scripted([["up", "up"]]), env).act(obs, info)


def test_history_window_and_env_feedback():
    env = make_env(n=1)
    replies = [["<answer>up</answer>"], ["<answer>left</answer>"], ["<answer>down</answer>"], ["x"]]
    policy = Scripted(replies)
    agent = BatchedAgent(policy, env, AgentConfig(history_turns=2, history_images=True))
    obs, info = env.reset(seed=1)
    for _ in range(4):
        actions, _ = agent.act(obs, info)
        obs, r, term, trunc, info = env.step(actions)
        agent.observe(r, term, trunc, info)
        bumped = bool(info["bumped"][0])
    last = policy.requests[-1][0].messages
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert last[2]["content"][0]["text"] == "<answer>left</answer>"  # window of 2: turns 1 and 2
    assert sum(p["type"] == "image" for m in last for p in m["content"]) == 3
    assert ("bumped into a wall" in agent.feedback_text[0]) == bumped


def test_inactive_envs_are_not_prompted():
    env = make_env()
    policy = Scripted([["<answer>up</answer>"]])
    agent = BatchedAgent(policy, env)
    obs, info = env.reset(seed=0)
    actions, records = agent.act(obs, info, active=np.array([False, True, False]))
    assert len(policy.requests[0]) == 1 and records[0] is None and records[2] is None
    assert records[1].output.text == scripted_output("up").text
