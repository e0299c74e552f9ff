"""The bridge to the trainer: each policy kind becomes the right backend with the run's sampling settings."""

from __future__ import annotations

import pytest

from vlenvs_train.evaluation import play
from vlenvs_train.evaluation.config import PolicyConfig
from vlenvs_train.policies.base import PolicyRequest


@pytest.mark.parametrize("kind", ["hf", "vllm_engine"])
def test_model_backends_get_the_trainer_sampler_with_eval_settings(kind, monkeypatch):
    import vlenvs_train.train.backends as backends

    seen = {}
    monkeypatch.setattr(backends, "make_sampler", lambda s, m: seen.update(sampler=s, model=m) or "policy")
    config = PolicyConfig(kind, model="some/folder", temperature=0.3, max_new_tokens=77, sample_seed=4,
                          dtype="bfloat16", device="cpu")
    assert play.make_policy(config) == "policy"
    s, m = seen["sampler"], seen["model"]
    assert (s.backend, s.temperature, s.max_new_tokens, s.seed) == (kind, 0.3, 77, 4)
    assert (m.path, m.dtype, m.device) == ("some/folder", "bfloat16", "cpu")


def test_endpoint_policy_carries_concurrency_key_and_sampling(monkeypatch):
    monkeypatch.setenv("EVAL_PLAY_KEY", "k-123")
    config = PolicyConfig("openai", base_urls=("http://a/v1", "http://b/v1"), model="m", api_key_env="EVAL_PLAY_KEY",
                          concurrency=5, timeout_s=9.0, max_retries=1, max_new_tokens=33, temperature=0.5)
    policy = play.make_policy(config)
    assert policy.config.base_urls == ("http://a/v1", "http://b/v1") and policy.config.model == "m"
    assert (policy.config.max_concurrency, policy.config.api_key, policy.config.timeout_s) == (5, "k-123", 9.0)
    assert (policy.sampling.max_new_tokens, policy.sampling.temperature) == (33, 0.5)


def test_random_policy_is_seeded_per_batch():
    reqs = [PolicyRequest([], ("up", "down", "left", "right"))] * 20
    config = PolicyConfig("random", sample_seed=3)

    def texts(chunk_seed):
        return [o.text for o in play.make_policy(config, chunk_seed).generate(reqs)]

    assert texts(100) == texts(100) != texts(104)
