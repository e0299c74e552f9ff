"""The transformers backend and the trainer's re-scoring: same tokens, same log-probs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.adapter.prompts import Turn, build_messages  # noqa: E402
from vlenvs_train.policies.base import PolicyRequest, SamplingConfig  # noqa: E402
from vlenvs_train.policies.hf import HFPolicy  # noqa: E402
from vlenvs_train.policies.scoring import response_logprobs, unpad  # noqa: E402

TOL = 1e-4  # fp32


def requests(n, seed=0, history=0):
    rng = np.random.default_rng(seed)
    img = lambda: rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)  # noqa: E731
    out = []
    for i in range(n):
        past = [Turn(img(), f"Step {k}. Instruction: go", "<answer>up</answer>") for k in range(history)]
        out.append(PolicyRequest(build_messages("You are an agent.", past, img(), f"Step {i}." + " go" * i, True)))
    return out


def rescore(policy, outputs):
    with torch.no_grad():
        lp, mask = response_logprobs(policy.model, outputs, pad_id=policy.pad_id,
                                     temperature=policy.sampling.scoring_temperature, suppress_ids=policy.suppress_ids)
    return unpad(lp, mask)


def test_generation_records_tokens_logprobs_and_mm_inputs(hf_policy):
    outs = hf_policy.generate(requests(3))
    assert len(outs) == 3
    for o in outs:
        assert o.prompt_ids.dtype == np.int64 and len(o.response_ids) == len(o.logprobs) >= 1
        assert np.all(o.logprobs <= 0) and np.all(np.isfinite(o.logprobs))
        assert {"pixel_values", "image_grid_thw", "mm_token_type_ids"} <= set(o.mm_inputs)
        assert len(o.mm_inputs["mm_token_type_ids"]) == len(o.prompt_ids)
        assert o.finish_reason in ("stop", "length")
        assert not set(o.response_ids.tolist()) & set(hf_policy.suppress_ids)


@pytest.mark.parametrize("temperature", [1.0, 0.7, 0.0])
def test_recomputed_logprobs_match_generation(tiny_model_path, temperature):
    policy = HFPolicy(tiny_model_path, sampling=SamplingConfig(max_new_tokens=10, temperature=temperature, seed=1),
                      device="cpu")
    outs = policy.generate(requests(4, history=1))  # prompts of different lengths: left padding in both passes
    for o, again in zip(outs, rescore(policy, outs)):
        assert again.shape == o.logprobs.shape
        np.testing.assert_allclose(again, o.logprobs, atol=TOL, rtol=0)


def test_qwen3_vl_architecture_takes_the_same_path(tmp_path_factory):
    from vlenvs_train.models.tiny import TinyVLMConfig, build_tiny_vlm

    path = build_tiny_vlm(tmp_path_factory.mktemp("tiny-qwen3-vl"), TinyVLMConfig(architecture="qwen3_vl"))
    policy = HFPolicy(path, sampling=SamplingConfig(max_new_tokens=8, seed=2), device="cpu")
    assert type(policy.model).__name__ == "Qwen3VLForConditionalGeneration"
    outs = policy.generate(requests(3, history=1))
    for o, again in zip(outs, rescore(policy, outs)):
        np.testing.assert_allclose(again, o.logprobs, atol=TOL, rtol=0)


def test_rescoring_needs_the_recorded_mm_token_type_ids(hf_policy):
    """Without mm_token_type_ids the 3D positions of the image tokens are lost and log-probs drift."""
    outs = hf_policy.generate(requests(2))
    for o in outs:
        o.mm_inputs = {k: v for k, v in o.mm_inputs.items() if k != "mm_token_type_ids"}
    drift = max(float(np.abs(a - o.logprobs).max()) for a, o in zip(rescore(hf_policy, outs), outs))
    assert drift > 10 * TOL


def test_batched_rescoring_equals_one_by_one(hf_policy):
    outs = hf_policy.generate(requests(3, seed=5))
    together = rescore(hf_policy, outs)
    alone = [rescore(hf_policy, [o])[0] for o in outs]
    for a, b in zip(together, alone):
        np.testing.assert_allclose(a, b, atol=TOL, rtol=0)


def test_seeded_sampling_is_reproducible(tiny_model_path):
    texts = []
    for _ in range(2):
        policy = HFPolicy(tiny_model_path, sampling=SamplingConfig(max_new_tokens=8, seed=7), device="cpu")
        texts.append([o.text for o in policy.generate(requests(2))])
    assert texts[0] == texts[1]


def test_rescoring_is_differentiable(hf_policy):
    outs = hf_policy.generate(requests(2))
    lp, mask = response_logprobs(hf_policy.model, outs, pad_id=hf_policy.pad_id, suppress_ids=hf_policy.suppress_ids)
    lp[mask].sum().backward()
    grads = [p.grad for p in hf_policy.model.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    hf_policy.model.zero_grad(set_to_none=True)
