"""The Tinker-API service driven by the official ``tinker`` SDK: losses and gradients equal the trainer's,
Adam steps equal torch's, sampled log-probs equal the trainer's re-scoring, image chunks become the
processor's tokens, errors name what is unsupported."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
tinker = pytest.importorskip("tinker")
pytest.importorskip("fastapi")
from tinker.types import ImageChunk  # noqa: E402

from vlenvs_train.adapter.prompts import Turn, build_messages  # noqa: E402
from vlenvs_train.algos.grpo import grpo_token_loss, sft_token_loss  # noqa: E402
from vlenvs_train.algos.sft import reply_ids  # noqa: E402
from vlenvs_train.policies.base import PolicyOutput  # noqa: E402
from vlenvs_train.policies.encode import PromptEncoder  # noqa: E402
from vlenvs_train.policies.hf import load_model  # noqa: E402
from vlenvs_train.policies.scoring import response_logprobs  # noqa: E402
from vlenvs_train.tinker_api.client import to_model_input, turn_datum  # noqa: E402
from vlenvs_train.tinker_api.inputs import InputBuilder  # noqa: E402
from vlenvs_train.tinker_api.wire import ImagePart  # noqa: E402

TOL = 1e-4  # fp32 log-probs


def prompts(encoder, n, seed=0):
    """Encoded multi-turn prompts with a history image and the current image (2 images each)."""
    rng = np.random.default_rng(seed)
    img = lambda: rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)  # noqa: E731
    return [encoder.encode(build_messages("You are an agent.", [Turn(img(), "Go to the goal.", "<answer>up</answer>")],
                                          img(), f"Step {i}. Go to the goal.", True)) for i in range(n)]


@pytest.fixture(scope="module")
def encoder(tiny_model_path):
    return PromptEncoder.from_pretrained(tiny_model_path)


@pytest.fixture(scope="module")
def pad_id(encoder):
    return int(encoder.tokenizer.convert_tokens_to_ids("<|image_pad|>"))


def our_chunks(model_input):
    return [ImagePart(c.data, c.format, c.expected_tokens) if isinstance(c, ImageChunk)
            else np.asarray(c.tokens, dtype=np.int64) for c in model_input.chunks]


def test_image_chunks_become_the_processors_tokens_and_tensors(encoder, pad_id):
    builder = InputBuilder(encoder.processor, max_tokens=4096, vocab_size=len(encoder.tokenizer))
    for enc in prompts(encoder, 3):
        mi = to_model_input(enc.prompt_ids, enc.images, pad_id)
        assert sum(isinstance(c, ImageChunk) for c in mi.chunks) == 2
        built = builder.build(our_chunks(mi), "prompt")
        np.testing.assert_array_equal(built.ids, enc.prompt_ids)
        assert set(built.mm_inputs) == set(enc.mm_inputs)
        for key, value in enc.mm_inputs.items():
            np.testing.assert_allclose(built.mm_inputs[key], value, atol=1e-6, err_msg=key)


def test_bad_image_chunks_are_refused_with_the_reason(encoder, pad_id):
    from vlenvs.core.errors import RequestError

    builder = InputBuilder(encoder.processor, max_tokens=4096, vocab_size=len(encoder.tokenizer))
    enc = prompts(encoder, 1)[0]
    chunks = our_chunks(to_model_input(enc.prompt_ids, enc.images, pad_id))
    k = next(i for i, c in enumerate(chunks) if isinstance(c, ImagePart))
    wrong = list(chunks)
    wrong[k] = ImagePart(chunks[k].data, "png", chunks[k].expected_tokens + 1)
    with pytest.raises(RequestError, match="expected_tokens"):
        builder.build(wrong, "prompt")
    wrong[k] = ImagePart(b"not an image", "png", None)
    with pytest.raises(RequestError, match="cannot be decoded"):
        builder.build(wrong, "prompt")
    wrong[k] = np.array([pad_id])
    with pytest.raises(RequestError, match="image pads only through image chunks"):
        builder.build(wrong, "prompt")


def test_tinker_paths_stay_under_the_root(tinker_service):
    from vlenvs.core.errors import RequestError

    service, _ = tinker_service
    folder, kind = service.folder("tinker://s-1:train:0/weights/step-1")
    assert kind == "weights" and folder.is_relative_to(service.root)
    for bad in ("tinker://../weights/x", "tinker://m/weights/..", "tinker://m/other/x", "tinker://m/weights/a/b",
                "file:///etc/passwd", 3):
        with pytest.raises(RequestError, match="invalid path"):
            service.folder(bad)


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def assert_same_grads(a, b, rtol=1e-5):
    """Equal up to float rounding: the largest difference within ``rtol`` of the largest gradient entry."""
    assert set(a) == set(b)
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    scale = max(float(a[k].abs().max()) for k in a)
    assert worst <= rtol * scale, (worst, scale)


def test_sdk_trains_and_samples_like_the_trainer(tinker_service, service_client, tiny_model_path, encoder, pad_id):
    service, url = tinker_service
    name = service.config.model
    caps = tinker.RestClient(base_url=url, api_key="tml-vlenvs-test").get_server_capabilities().result()
    assert [m.model_name for m in caps.supported_models] == [name]
    with pytest.raises(tinker.BadRequestError, match="lora_config.rank"):
        service_client.create_lora_training_client(base_model=name, rank=-1).result()
    with pytest.raises(tinker.BadRequestError, match="not served here"):
        service_client.create_lora_training_client(base_model="org/other", rank=0).result()
    tc = service_client.create_lora_training_client(base_model=name, rank=0).result()
    served = service.models[tc.model_id].model
    local = load_model(tiny_model_path, "float32", "cpu")
    suppress = service.base.suppress_ids
    tok = encoder.tokenizer

    # ---- cross-entropy: Tinker's weighted sum with weights 1/T is the trainer's token-mean SFT loss
    encs = prompts(encoder, 3)
    replies = [reply_ids(tok, t) for t in ("<answer>up</answer>", "<answer>left</answer>", "<answer>down</answer>")]
    total = sum(len(r) for r in replies)
    data = [turn_datum(e.prompt_ids, e.images, r, pad_id, weights=1.0 / total) for e, r in zip(encs, replies)]
    out = tc.forward_backward(data, "cross_entropy").result()
    examples = [PolicyOutput(text="", prompt_ids=e.prompt_ids, response_ids=r, logprobs=np.zeros(len(r), np.float32),
                             mm_inputs=e.mm_inputs) for e, r in zip(encs, replies)]
    logp, mask = response_logprobs(local, examples, pad_id=encoder.pad_id, suppress_ids=suppress)
    ours = sft_token_loss(logp, mask)
    ours.backward()
    assert out.metrics["loss:sum"] == pytest.approx(float(ours.detach()), rel=1e-5)
    for i, r in enumerate(replies):  # the reply positions' log-probs are the trainer's
        got = np.asarray(out.loss_fn_outputs[i]["logprobs"].tolist())[-len(r):]
        np.testing.assert_allclose(got, logp[i][mask[i]].detach().numpy(), atol=TOL)
    assert_same_grads(grads(served), grads(local))

    # ---- an Adam step with the request's hyper-parameters equals torch's AdamW
    adam = dict(learning_rate=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.0)
    metrics = tc.optim_step(tinker.AdamParams(**adam)).result().metrics
    assert metrics["step:max"] == 1
    opt = torch.optim.AdamW(local.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    worst = max(float((p.detach() - q.detach()).abs().max()) for p, q in zip(served.parameters(), local.parameters()))
    assert worst <= 1e-6, worst

    # ---- sampling with image inputs: tokens and log-probs the trainer's re-scoring reproduces
    sampler = tc.save_weights_and_get_sampling_client().result()
    turns, sampled = [], []
    for k, e in enumerate(encs):
        res = sampler.sample(prompt=to_model_input(e.prompt_ids, e.images, pad_id), num_samples=3,
                             sampling_params=tinker.SamplingParams(max_tokens=8, seed=100 + k)).result()
        assert len(res.sequences) == 3
        for s in res.sequences:
            assert set(s.tokens).isdisjoint(suppress)
            turns.append(PolicyOutput(text="", prompt_ids=e.prompt_ids, response_ids=np.asarray(s.tokens),
                                      logprobs=np.asarray(s.logprobs, np.float32), mm_inputs=e.mm_inputs))
            sampled.append((e, s))
    again = sampler.sample(prompt=to_model_input(encs[0].prompt_ids, encs[0].images, pad_id), num_samples=3,
                           sampling_params=tinker.SamplingParams(max_tokens=8, seed=100)).result()
    assert [s.tokens for s in again.sequences] == [s.tokens for _, s in sampled[:3]]  # seeded: reproducible
    with torch.no_grad():
        lp, m = response_logprobs(local, turns, pad_id=encoder.pad_id, suppress_ids=suppress)
    for b, t in enumerate(turns):
        np.testing.assert_allclose(lp[b][m[b]].numpy(), t.logprobs, atol=TOL)

    # ---- importance sampling and PPO: the trainer's GRPO loss code, same loss and gradients
    adv = np.array([1.0, -1.0, 0.5] * 3)
    for loss_fn, shift, clip in (("importance_sampling", 0.0, float("inf")), ("ppo", 0.5, 0.2)):
        behaviour = [t.logprobs - shift for t in turns]  # shifted: ratios e^0.5 outside PPO's clip range
        data = [turn_datum(e.prompt_ids, e.images, s.tokens, pad_id, logprobs=b, advantage=a)
                for (e, s), b, a in zip(sampled, behaviour, adv)]
        out = tc.forward_backward(data, loss_fn).result()
        local.zero_grad(set_to_none=True)
        logp, mask = response_logprobs(local, turns, pad_id=encoder.pad_id, suppress_ids=suppress)
        width = logp.shape[1]
        beh = torch.zeros_like(logp)
        for b, row in enumerate(behaviour):
            beh[b, width - len(row):] = torch.as_tensor(row)
        a = torch.as_tensor(adv, dtype=torch.float32)[:, None].expand_as(logp)
        ours, _ = grpo_token_loss(logp, mask, old_logp=beh, behaviour_logp=beh, advantages=a, clip_low=clip,
                                  clip_high=clip, is_level="none", normalizer=1.0)
        ours.backward()
        assert out.metrics["loss:sum"] == pytest.approx(float(ours.detach()), rel=1e-5), loss_fn
        assert_same_grads(grads(served), grads(local))
        served.zero_grad(set_to_none=True)  # the next loss starts from no gradient, like the local model

    # ---- saved sampler weights: a new sampling client's prompt log-probs are the forward pass's
    path = tc.save_weights_for_sampler("after-step").result().path
    assert path.endswith("/sampler_weights/after-step")
    client = service_client.create_sampling_client(model_path=path).result()
    e, s = sampled[0]
    full = np.concatenate([e.prompt_ids, s.tokens])
    prompt_lp = client.compute_logprobs(to_model_input(full, e.images, pad_id)).result()
    assert prompt_lp[0] is None and len(prompt_lp) == len(full)
    np.testing.assert_allclose(np.asarray(prompt_lp[-len(s.tokens):], dtype=np.float64), s.logprobs, atol=TOL)
    assert all(prompt_lp[i] is None for i in np.flatnonzero(full == pad_id))

    # ---- unsupported requests: the API's error shapes, naming what is missing
    with pytest.raises(tinker.RequestFailedError, match="valid choices: cross_entropy, importance_sampling, ppo"):
        tc.forward_backward(data, "dro").result()
    with pytest.raises(tinker.BadRequestError, match="top_k"):
        client.sample(prompt=to_model_input(e.prompt_ids, e.images, pad_id), num_samples=1,
                      sampling_params=tinker.SamplingParams(max_tokens=4, top_k=5)).result()
    with pytest.raises(tinker.RequestFailedError, match="shape"):
        bad = tinker.Datum(model_input=data[0].model_input, loss_fn_inputs={"target_tokens": np.array([1, 2])})
        tc.forward_backward([bad], "cross_entropy").result()

    # ---- saved state (the trainer's checkpoint format) -> a new training client with the same weights
    state = tc.save_state("st").result().path
    tc2 = service_client.create_training_client_from_state_with_optimizer(state).result()
    restored = service.models[tc2.model_id]
    assert restored.steps == 1 and restored.optimizer is not None
    for p, q in zip(restored.model.parameters(), served.parameters()):
        assert torch.equal(p, q)
    assert tc2.get_tokenizer().encode("<answer>up</answer>") == tok.encode("<answer>up</answer>")


def test_consecutive_sample_requests_share_a_batch_and_keep_their_samples(tinker_service, encoder, pad_id):
    """Sample requests waiting together run as one generate; each sample still comes from its own seeded stream,
    so it equals the same request sampled alone."""
    import threading

    from vlenvs_train.tinker_api.models import SampleSpec
    from vlenvs_train.tinker_api.service import SampleWork
    from vlenvs_train.tinker_api.wire import proto

    service, _ = tinker_service
    spec = SampleSpec(temperature=1.0, max_tokens=6, stop_ids=None)
    works = [SampleWork("base", our_chunks(to_model_input(e.prompt_ids, e.images, pad_id)), 2, spec, 7 + i, False)
             for i, e in enumerate(prompts(encoder, 3, seed=5))]
    sizes = []
    original = service.base.sample_many

    def counting(prompts, spec):
        sizes.append(len(prompts))
        return original(prompts, spec)

    def tokens(rid):
        msg = proto().SampleResponse()
        msg.ParseFromString(service.job(rid).future.result(timeout=120))
        return [np.frombuffer(s.tokens, "<i4").tolist() for s in msg.sequences]

    service.base.sample_many = counting
    try:
        gate = threading.Event()
        service.submit("json", lambda: gate.wait(60))  # holds the worker while the three queue up
        together = [service.submit("proto", sample=w) for w in works]
        gate.set()
        batched = [tokens(r) for r in together]
        alone = [tokens(service.submit("proto", sample=w)) for w in works]
    finally:
        service.base.sample_many = original
    assert sizes[0] == 3 and sizes[1:] == [1, 1, 1]
    assert batched == alone
    assert batched[0] != batched[1]


def test_lora_training_clients_train_adapters_only(tinker_service, service_client, encoder, pad_id):
    """rank > 0: peft LoRA adapters on the language model; sampled log-probs equal the forward pass's; the
    sampler folder holds the merged weights; a saved state restores the adapters."""
    pytest.importorskip("peft")
    service, _ = tinker_service
    tc = service_client.create_lora_training_client(base_model=service.config.model, rank=4, seed=3).result()
    info = tc.get_info()
    assert info.is_lora and info.lora_rank == 4
    held = service.models[tc.model_id]
    trainable = {n for n, p in held.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n and ("language_model" in n or "lm_head" in n) for n in trainable)
    before = {n: p.detach().clone() for n, p in held.model.named_parameters()}
    e = prompts(encoder, 1, seed=3)[0]
    reply = reply_ids(encoder.tokenizer, "<answer>up</answer>")
    tc.forward_backward([turn_datum(e.prompt_ids, e.images, reply, pad_id)], "cross_entropy").result()
    tc.optim_step(tinker.AdamParams(learning_rate=1e-2)).result()
    changed = {n for n, p in held.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and changed <= trainable and any("lora_B" in n for n in changed)  # B starts at 0: A gets no gradient yet

    sampler = tc.save_weights_and_get_sampling_client().result()  # the adapters merged into a copy
    res = sampler.sample(prompt=to_model_input(e.prompt_ids, e.images, pad_id), num_samples=2,
                         sampling_params=tinker.SamplingParams(max_tokens=6, seed=1)).result()
    path = tc.save_weights_for_sampler("lora").result().path  # ... and into a servable folder
    folder, _ = service.folder(path)
    assert not any("lora" in n for n, _ in load_model(folder, "float32", "cpu").named_parameters())
    from_folder = service_client.create_sampling_client(model_path=path).result()
    for s in res.sequences:
        datum = turn_datum(e.prompt_ids, e.images, s.tokens, pad_id)
        forward = np.asarray(tc.forward([datum], "cross_entropy").result().loss_fn_outputs[0]["logprobs"].tolist())
        np.testing.assert_allclose(forward[-len(s.tokens):], s.logprobs, atol=TOL)
        full = np.concatenate([e.prompt_ids, s.tokens])
        scored = from_folder.compute_logprobs(to_model_input(full, e.images, pad_id)).result()
        np.testing.assert_allclose(np.asarray(scored[-len(s.tokens):], dtype=np.float64), s.logprobs, atol=TOL)

    state = tc.save_state("lora-state").result().path
    tc2 = service_client.create_training_client_from_state(state).result()
    assert tc2.get_info().is_lora
    for (n, p), (m, q) in zip(service.models[tc2.model_id].model.named_parameters(), held.model.named_parameters()):
        assert n == m and torch.equal(p, q)


def test_the_model_bound_counts_models_whose_weights_have_not_loaded_yet(tiny_model_path, tmp_path):
    from vlenvs.core.errors import RequestError
    from vlenvs_train.tinker_api.config import TinkerServiceConfig
    from vlenvs_train.tinker_api.service import TinkerService

    service = TinkerService(TinkerServiceConfig(model=str(tiny_model_path), root=str(tmp_path), max_models=2))
    try:
        sid = service.create_session()
        for seq in range(2):  # registered; their load jobs were never submitted
            service.create_model(sid, seq, str(tiny_model_path), None)
        assert not service.models
        with pytest.raises(RequestError, match="at most 2 training models"):
            service.create_model(sid, 2, str(tiny_model_path), None)
        service.finish_session(sid)
        service.create_model(service.create_session(), 0, str(tiny_model_path), None)  # room again
    finally:
        service.close()
