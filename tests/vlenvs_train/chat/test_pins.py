"""The prompts and the tiny tokenizer's training texts are pinned: the CPU recipe's learning numbers depend on
them and the tiny model's cache key hashes them. A change here is deliberate: update the hashes and re-measure
the recipe (``benchmarks/learning.py``)."""

from __future__ import annotations

import hashlib
import json

import gymnasium as gym
import numpy as np
import pytest

from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.chat.types import PolicyOutput
from vlenvs_train.models.tiny import tokenizer_corpus

CORPUS_SHA256 = "e258f6ca9e8e528617a6be82229e4cf69cbf5f635b3a6fd2f95e7454b29d2cd5"
PROMPTS_SHA256 = {
    "vlenvs/Maze2D-v0": "04a1838ce42c588baa03079626638d7a8ec280fd554df9286c198489b6088de6",
    "vlenvs/GridWorld3D-v0": "752b650855900d6b0529883bcb657570e355f0a31e279dc76632d4585b94470d",
    "vlenvs/Geometry3k-v0": "da1a1d0684e736445983572bcae11df885482cb48fca4b5532c893318793a3ab",
}
ENV_IDS = ("vlenvs/Maze2D-v0", "vlenvs/GridWorld3D-v0", "vlenvs/Geometry3k-v0")


class Cycling:
    """Replies that cycle through the legal actions, with an invalid reply every third call."""

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, requests):
        outs = []
        for r in requests:
            self.calls += 1
            legal = r.legal_actions
            answer = legal[self.calls % len(legal)] if legal else "3"
            text = f"<think>x</think><answer>{answer}</answer>" if self.calls % 3 else "bogus reply"
            outs.append(PolicyOutput(text, np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.float32)))
        return outs


def texts(messages):
    return [[m["role"], [p["text"] if p["type"] == "text" else f"<image {p['image'].shape}>" for p in m["content"]]]
            for m in messages]


def rendered_prompts(env_id: str, style: str, fmt: str, history: int) -> dict:
    """The system prompt and four turns of user prompts (feedback, bumps and history included) of two envs."""
    env = gym.make_vec(env_id, num_envs=2)
    agent = BatchedAgent(Cycling(), env, AgentConfig(answer_format=fmt, prompt=style, history_turns=history,
                                                     history_images=bool(history)))
    obs, info = env.reset(seed=7)
    rows = []
    for _ in range(4):
        reqs = agent.requests(obs, info, np.arange(2))
        rows.append([texts(r.messages) for r in reqs] + [list(r.legal_actions) for r in reqs])
        actions, _ = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(actions)
        agent.observe(reward, terminated, truncated, info)
        if (terminated | truncated).any():
            break
    env.close()
    return {"system": agent.system, "rows": rows}


def sha256(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def test_tokenizer_corpus_is_pinned():
    assert sha256(tokenizer_corpus()) == CORPUS_SHA256


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_rendered_prompts_are_pinned(env_id):
    got = {f"{style}|{fmt}|{history}": rendered_prompts(env_id, style, fmt, history)
           for style in ("full", "compact") for fmt in ("think", "answer") for history in (0, 2)}
    if env_id != "vlenvs/Geometry3k-v0":  # one-step episodes there: no feedback turn
        assert any("Your last reply was invalid" in json.dumps(v) for v in got.values())
    assert sha256(got) == PROMPTS_SHA256[env_id]
