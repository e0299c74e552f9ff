"""GRPO updates on the tiny VLM: every loss aggregation gives the same step whatever the micro-batch size, and the
update pass reports the policy's entropy and the importance weights exactly."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import vlenvs  # noqa: E402,F401
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent  # noqa: E402
from vlenvs_train.algos.grpo import LOSS_AGGS  # noqa: E402
from vlenvs_train.policies.base import SamplingConfig  # noqa: E402
from vlenvs_train.policies.hf import HFPolicy, load_model  # noqa: E402
from vlenvs_train.train.config import GRPOConfig  # noqa: E402
from vlenvs_train.train.update import Scoring, grpo_update  # noqa: E402


@pytest.fixture(scope="module")
def turns(tiny_model_path):
    """Eight sampled replies cut to 1..3 tokens (unequal turns), with their policy and scoring."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = HFPolicy(load_model(tiny_model_path, device="cpu"), tiny_model_path,
                      SamplingConfig(max_new_tokens=3, temperature=1.0, seed=0))
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=4, size=5, image_size=40)
    obs, info = env.reset(seed=0)
    prompts = BatchedAgent(policy, env, AgentConfig(answer_format="answer")).requests(obs, info, np.arange(4))
    outs = policy.generate([p for p in prompts for _ in range(2)])
    cut = [1 + k % 3 for k in range(len(outs))]
    outs = [dataclasses.replace(o, response_ids=o.response_ids[:n], logprobs=o.logprobs[:n]) for o, n in zip(outs, cut)]
    assert all(len(o.response_ids) == n for o, n in zip(outs, cut))
    return policy, outs, Scoring(policy.pad_id, 1.0, tuple(policy.suppress_ids))


def step(policy, outs, scoring, config, episodes):
    """The parameters after one SGD step of :func:`grpo_update` from the policy's weights, and its statistics."""
    start = {k: v.detach().clone() for k, v in policy.model.state_dict().items()}
    optimizer = torch.optim.SGD(policy.model.parameters(), lr=0.5)
    advantages = np.array([1.0, -1.0, 0.5, 0.5, -0.25, 2.0, -1.5, 0.75])
    stats = grpo_update(policy.model, optimizer, outs, advantages, config, scoring, np.random.default_rng(0),
                        episodes=episodes, norm_tokens=7)
    after = {k: v.detach().clone() for k, v in policy.model.state_dict().items()}
    policy.model.load_state_dict(start)
    return after, stats


@pytest.mark.parametrize("loss_agg", LOSS_AGGS)
def test_every_loss_aggregation_steps_the_same_under_micro_batching(turns, loss_agg):
    policy, outs, scoring = turns
    episodes = [0, 0, 0, 1, 2, 2, 3, 3]
    config = GRPOConfig(loss_agg=loss_agg, max_grad_norm=0.0)
    whole, _ = step(policy, outs, scoring, dataclasses.replace(config, micro_batch_size=64), episodes)
    for micro in (1, 3):
        parts, _ = step(policy, outs, scoring, dataclasses.replace(config, micro_batch_size=micro), episodes)
        for name, value in whole.items():
            torch.testing.assert_close(parts[name], value, atol=2e-6, rtol=1e-4, msg=name)
    moved = sum(float((whole[k] - v).abs().sum()) for k, v in policy.model.state_dict().items())
    assert moved > 0


def test_aggregations_differ_and_episode_mean_ignores_episode_length(turns):
    policy, outs, scoring = turns
    steps = {agg: step(policy, outs, scoring, GRPOConfig(loss_agg=agg, max_grad_norm=0.0), [0, 0, 0, 1, 2, 2, 3, 3])[0]
             for agg in ("token_mean", "turn_mean", "episode_mean")}
    name = next(k for k, v in steps["token_mean"].items() if v.is_floating_point() and v.numel() > 1)
    assert not torch.allclose(steps["token_mean"][name], steps["turn_mean"][name])
    assert not torch.allclose(steps["turn_mean"][name], steps["episode_mean"][name])
    # every turn its own episode: episode_mean is turn_mean
    own = list(range(8))
    a = step(policy, outs, scoring, GRPOConfig(loss_agg="episode_mean", max_grad_norm=0.0), own)[0]
    b = step(policy, outs, scoring, GRPOConfig(loss_agg="turn_mean", max_grad_norm=0.0), own)[0]
    for k in a:
        torch.testing.assert_close(a[k], b[k])


def test_update_statistics_entropy_and_importance_weights(turns):
    policy, outs, scoring = turns
    with torch.no_grad():
        _, mask, entropy = scoring.scores(policy.model, outs, entropy=True)
    expected = float(entropy.sum() / mask.sum())
    assert 0 < expected < np.log(policy.model.get_output_embeddings().weight.shape[0])
    _, stats = step(policy, outs, scoring, GRPOConfig(), None)
    assert stats["turns_used"] == 8
    assert stats["entropy"] == pytest.approx(expected, rel=1e-5)
    # the sampler is the trained model: pi_old = pi_behaviour, every weight is 1, nothing is clipped
    assert stats["is_weight"] == pytest.approx(1.0) and stats["is_weight_max"] == pytest.approx(1.0)
    assert stats["clip_frac"] == 0.0
    _, stats = step(policy, outs, scoring, GRPOConfig(old_logprobs="recompute"), None)
    assert stats["is_weight_max"] == pytest.approx(1.0, abs=1e-4)
    nothing = grpo_update(policy.model, torch.optim.SGD(policy.model.parameters(), lr=0.1), outs, np.zeros(8),
                          GRPOConfig(), scoring, np.random.default_rng(0))
    assert nothing == {"turns_used": 0.0}
