"""A real learning signal: a few GRPO updates raise the probability of rewarded replies.

A bandit over the sampler's first reply token on Maze2D prompts: replies whose token id is even are
rewarded. The transformers sampler samples groups, records behaviour log-probs, and
:func:`grpo_update` (re-scoring, clipped loss, importance weights) must move probability mass onto the
rewarded tokens, measured exactly from the model's next-token distribution before and after.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import vlenvs  # noqa: E402,F401
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent  # noqa: E402
from vlenvs_train.algos.grpo import group_advantages  # noqa: E402
from vlenvs_train.policies.base import SamplingConfig  # noqa: E402
from vlenvs_train.policies.hf import HFPolicy, load_model  # noqa: E402
from vlenvs_train.policies.scoring import collate, mask_logits  # noqa: E402
from vlenvs_train.train.config import GRPOConfig  # noqa: E402
from vlenvs_train.train.update import Scoring, grpo_update  # noqa: E402

GROUP = 8


def rewarded_mass(policy, requests) -> float:
    """Mean probability (over prompts) that the first reply token has an even id."""
    enc = [policy.encoder.encode(r.messages) for r in requests]
    batch = collate([e.prompt_ids for e in enc], [e.mm_inputs for e in enc], policy.pad_id)
    with torch.no_grad():
        logits = policy.model(**batch, use_cache=False, logits_to_keep=1).logits[:, -1]
    probs = torch.softmax(mask_logits(logits, 1.0, policy.suppress_ids), -1)
    return float(probs[:, 0::2].sum(-1).mean())


@pytest.mark.parametrize("old_logprobs, is_level", [("behaviour", "token"), ("recompute", "sequence")])
def test_grpo_steps_raise_the_probability_of_rewarded_replies(tiny_model_path, old_logprobs, is_level):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = load_model(tiny_model_path, device="cpu")
    policy = HFPolicy(model, tiny_model_path, SamplingConfig(max_new_tokens=1, temperature=1.0, seed=0))
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=4, size=5, image_size=40)
    obs, info = env.reset(seed=0)
    prompts = BatchedAgent(policy, env, AgentConfig(answer_format="answer")).requests(obs, info, np.arange(4))
    config = GRPOConfig(lr=2e-2, old_logprobs=old_logprobs, is_level=is_level, micro_batch_size=32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    scoring = Scoring(policy.pad_id, 1.0, tuple(policy.suppress_ids))
    rng = np.random.default_rng(0)
    before = rewarded_mass(policy, prompts)
    for _ in range(5):
        requests = [p for p in prompts for _ in range(GROUP)]
        outs = policy.generate(requests)
        rewards = np.array([float(o.response_ids[0] % 2 == 0) for o in outs])
        advantages = group_advantages(rewards, np.arange(len(outs)) // GROUP)
        stats = grpo_update(model, optimizer, outs, advantages, config, scoring, rng)
        assert stats["turns_used"] > 0 and np.isfinite(stats["loss"])
    after = rewarded_mass(policy, prompts)
    assert 0.3 < before < 0.7  # about half the vocabulary is rewarded
    assert after > before + 0.15, (before, after)
