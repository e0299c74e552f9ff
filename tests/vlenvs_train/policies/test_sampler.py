"""The sampler Protocol: scoring specs the trainer checks, private sampling randomness, weight sync, state."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlenvs_train.policies.base import PolicyError, SamplingConfig
from vlenvs_train.policies.openai_server import OpenAIServerPolicy, ServerConfig
from vlenvs_train.policies.sampler import Sampler, ScoringMismatchError, ScoringSpec, check_trainable_scoring

specs = st.builds(ScoringSpec, temperature=st.sampled_from([0.5, 1.0]),
                  suppressed_ids=st.lists(st.integers(0, 5), max_size=2, unique=True).map(tuple),
                  repetition_penalty=st.sampled_from([1.0, 1.05]), presence_penalty=st.sampled_from([0.0, 0.3]),
                  frequency_penalty=st.sampled_from([0.0, -0.2]), logprobs_mode=st.sampled_from(["processed", "raw"]))


@given(specs, specs)
def test_the_trainer_accepts_exactly_the_distribution_it_can_rescore(trainer, sampler):
    reproducible = not sampler.penalties() and sampler.logprobs_mode == "processed"
    same = (trainer.temperature, trainer.suppressed_ids) == (sampler.temperature, sampler.suppressed_ids)
    if reproducible and same:
        check_trainable_scoring(trainer, sampler, "S")
    else:
        with pytest.raises(ScoringMismatchError) as e:
            check_trainable_scoring(trainer, sampler, "S")
        for name in sampler.penalties():
            assert name in str(e.value)


def test_openai_server_policy_is_a_sampler_with_neutral_penalties_and_restorable_seeds():
    p = OpenAIServerPolicy(ServerConfig(model="m"), sampling=SamplingConfig(max_new_tokens=5, seed=1, temperature=0.5))
    assert isinstance(p, Sampler)
    assert p.scoring_spec == ScoringSpec(temperature=0.5)  # no processor: banned ids unknown here
    body = p._body(_request(), 0, 3)
    assert (body["repetition_penalty"], body["presence_penalty"], body["frequency_penalty"]) == (1.0, 0.0, 0.0)
    p.load_state_dict({"calls": 7, "seed": 1, "weight_version": 0})
    assert p._reserve(1)[0] == 7 and p.state_dict()["calls"] == 8
    with pytest.raises(PolicyError, match="weight_sync_dir"):  # training through servers needs a shared folder
        p.update_weights([])
    with pytest.raises(Exception, match="calls"):
        p.load_state_dict({"seed": 1})


def _request():
    from vlenvs_train.policies.base import PolicyRequest

    return PolicyRequest([{"role": "user", "content": [{"type": "text", "text": "go"}]}])


torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.policies.hf import HFPolicy, load_model  # noqa: E402
from vlenvs_train.policies.scoring import response_logprobs  # noqa: E402

from .test_hf import requests  # noqa: E402


def tokens(outputs):
    return [(o.response_ids.tolist(), o.logprobs.tolist()) for o in outputs]


def test_hf_policy_samples_on_its_own_stream_and_restores_it_from_its_state(tiny_model_path):
    policy = HFPolicy(tiny_model_path, sampling=SamplingConfig(max_new_tokens=6, seed=3), device="cpu")
    assert isinstance(policy, Sampler)
    spec = policy.scoring_spec
    assert spec.temperature == 1.0 and spec.suppressed_ids == tuple(sorted(policy.suppress_ids)) and spec.suppressed_ids
    reqs = requests(4)
    torch.manual_seed(123)
    want_global = torch.rand(5)
    torch.manual_seed(123)
    state = policy.state_dict()
    first = tokens(policy.generate(reqs))
    assert torch.equal(torch.rand(5), want_global)  # the global stream is untouched by sampling
    torch.manual_seed(999)  # ... and does not affect it
    policy.load_state_dict(state)
    assert tokens(policy.generate(reqs)) == first
    assert policy.state_dict() == {"calls": 1, "seed": 3, "weight_version": 0}
    assert tokens(policy.generate(reqs)) != first  # the next call samples anew
    greedy = dataclasses.replace(policy.sampling, temperature=0.0)
    policy.sampling = greedy
    assert policy.scoring_spec.temperature == 1.0


def test_hf_policy_overrides_generation_config_penalties(tiny_model_path):
    policy = HFPolicy(tiny_model_path, sampling=SamplingConfig(max_new_tokens=8, seed=0), device="cpu")
    reqs = requests(3)
    plain = tokens(policy.generate(reqs))
    cfg = policy.model.generation_config
    cfg.repetition_penalty, cfg.no_repeat_ngram_size, cfg.min_new_tokens = 3.0, 1, 8
    policy.load_state_dict({"calls": 0, "weight_version": 0})
    outs = policy.generate(reqs)
    assert tokens(outs) == plain and policy.scoring_spec.penalties() == {}
    lp, mask = response_logprobs(policy.model, outs, pad_id=policy.pad_id, suppress_ids=policy.suppress_ids)
    for b, o in enumerate(outs):
        np.testing.assert_allclose(lp[b][mask[b]].detach().numpy(), o.logprobs, atol=1e-4)


def test_hf_policy_takes_weights_by_name_and_counts_versions(tiny_model_path):
    policy = HFPolicy(tiny_model_path, sampling=SamplingConfig(max_new_tokens=4, seed=0), device="cpu")
    other = load_model(tiny_model_path, device="cpu")
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.01)
    assert policy.update_weights(other.named_parameters()) == 1
    for (name, a), b in zip(policy.model.named_parameters(), other.parameters()):
        assert torch.equal(a, b) and a is not b, name
    before = [p.clone() for p in policy.model.parameters()]
    assert policy.update_weights(policy.model.named_parameters()) == 2  # its own parameters: nothing copied
    assert all(torch.equal(a, b) for a, b in zip(before, policy.model.parameters()))
    with pytest.raises(Exception, match="parameter name"):
        policy.update_weights([("nope.weight", torch.zeros(1))])
    policy.load_state_dict({"calls": 5, "seed": 0, "weight_version": 9})
    assert policy.weight_version == 9 and policy.state_dict()["calls"] == 5


def test_trainer_refuses_a_sampler_whose_scoring_it_cannot_reproduce(tmp_path, tiny_model_path, monkeypatch):
    from vlenvs_train.train.config import load_recipe
    from vlenvs_train.train.trainer import Trainer

    monkeypatch.setattr(HFPolicy, "scoring_spec", property(lambda self: ScoringSpec(repetition_penalty=1.05)))
    config = load_recipe("maze2d_tiny_cpu", [f"out_dir={tmp_path / 'r'}", f"model.path={tiny_model_path}",
                                             "progress=false", "tensorboard=false"])
    with pytest.raises(ScoringMismatchError, match="repetition_penalty=1.05.*suppressed_ids"):
        Trainer(config, ["rl"])
    Trainer(config, ["eval_final"])  # evaluation only: nothing is re-scored
