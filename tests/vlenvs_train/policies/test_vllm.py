"""vLLM backends (in-process engine and OpenAI-compatible server) on the tiny model, CPU.

Run only where vLLM is installed: ``bash scripts/setup_vllm_env.sh`` then
``.venv-vllm/bin/python -m pytest -m vllm tests/vlenvs_train``. The server listens on 127.0.0.1 only and is
stopped by its PID.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytestmark = pytest.mark.vllm
pytest.importorskip("vllm")
torch = pytest.importorskip("torch")
httpx = pytest.importorskip("httpx")

import vlenvs  # noqa: E402,F401
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent  # noqa: E402
from vlenvs_train.adapter.prompts import Turn, build_messages  # noqa: E402
from vlenvs_train.policies.base import PolicyRequest, SamplingConfig  # noqa: E402
from vlenvs_train.policies.hf import load_model  # noqa: E402
from vlenvs_train.policies.openai_server import OpenAIServerPolicy, ServerConfig  # noqa: E402
from vlenvs_train.policies.scoring import response_logprobs, unpad  # noqa: E402
from vlenvs_train.rollout.collect import collect_episodes  # noqa: E402

TOL = 1e-4  # fp32, same as the transformers backend


def requests(n, seed=0):
    rng = np.random.default_rng(seed)
    img = lambda: rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)  # noqa: E731
    return [PolicyRequest(build_messages("You are an agent.", [Turn(img(), "Step 0.", "<answer>up</answer>")] * (i % 2),
                                         img(), f"Step {i}." + " go" * i, True)) for i in range(n)]


def max_drift(model, encoder, outputs, temperature=1.0, suppress=True):
    from vlenvs_train.models.processor import vision_special_token_ids

    banned = vision_special_token_ids(encoder.tokenizer) if suppress else []
    with torch.no_grad():
        lp, mask = response_logprobs(model, outputs, pad_id=encoder.pad_id, temperature=temperature,
                                     suppress_ids=banned)
    return max(float(np.abs(a - o.logprobs).max()) for a, o in zip(unpad(lp, mask), outputs))


@pytest.fixture(scope="module")
def hf_model(tiny_model_path):
    return load_model(tiny_model_path, device="cpu")


@pytest.fixture(scope="module")
def engine(tiny_model_path):
    from vlenvs_train.policies.vllm_engine import VLLMEnginePolicy

    engine = VLLMEnginePolicy(tiny_model_path, SamplingConfig(max_new_tokens=12, seed=0))
    yield engine
    engine.close()  # the engine core shuts down now, not at garbage collection
    engine.close()  # idempotent
    with pytest.raises(AttributeError):
        engine.generate(requests(1))


@pytest.mark.parametrize("temperature", [1.0, 0.7, 0.0])
def test_engine_logprobs_match_rescoring(engine, hf_model, temperature):
    engine.sampling = SamplingConfig(max_new_tokens=12, seed=0, temperature=temperature)
    outs = engine.generate(requests(4))
    assert all(len(o.response_ids) == len(o.logprobs) > 0 for o in outs)
    assert {"pixel_values", "image_grid_thw", "mm_token_type_ids"} <= set(outs[0].mm_inputs)
    assert max_drift(hf_model, engine.encoder, outs, engine.sampling.scoring_temperature) < TOL
    if temperature > 0:  # the engine's logits processor does ban the vision tokens: without the ban, drift
        assert max_drift(hf_model, engine.encoder, outs, engine.sampling.scoring_temperature, suppress=False) > TOL


def test_engine_loads_new_weights_without_restart(engine, tiny_model_path):
    engine.sampling = SamplingConfig(max_new_tokens=12, seed=0)
    model = load_model(tiny_model_path, device="cpu")
    before = engine.generate(requests(3, seed=1))
    with torch.no_grad():
        for name, p in model.named_parameters():  # includes the (tied) embedding and a vision block
            if "embed_tokens" in name or "blocks.0.mlp" in name or "layers.0.mlp" in name:
                p.mul_(1.5)
    assert max_drift(model, engine.encoder, before) > 1e-2  # the old replies under the new weights differ
    engine.update_weights(model.named_parameters())
    after = engine.generate(requests(3, seed=1))
    assert engine.weight_version >= 1 and max_drift(model, engine.encoder, after) < TOL


def test_engine_is_a_sampler_the_trainer_can_check_and_checkpoint(engine):
    """The Sampler protocol on the engine: the scoring spec the trainer re-scores with, weight versions, state."""
    from vlenvs_train.models.processor import vision_special_token_ids
    from vlenvs_train.policies.sampler import Sampler, ScoringSpec, check_trainable_scoring

    engine.sampling = SamplingConfig(max_new_tokens=12, seed=0, temperature=0.7)
    assert isinstance(engine, Sampler)
    spec = engine.scoring_spec
    assert spec.temperature == 0.7 and spec.penalties() == {} and spec.logprobs_mode == "processed"
    assert spec.suppressed_ids == tuple(sorted(vision_special_token_ids(engine.encoder.tokenizer)))
    check_trainable_scoring(ScoringSpec(temperature=0.7, suppressed_ids=spec.suppressed_ids), spec, "engine")
    state = engine.state_dict()
    first = engine.generate(requests(2, seed=5))
    engine.generate(requests(2, seed=6))
    engine.load_state_dict(state)  # back to the saved call counter: the same seeded samples again
    again = engine.generate(requests(2, seed=5))
    assert [o.response_ids.tolist() for o in first] == [o.response_ids.tolist() for o in again]
    version = engine.weight_version
    assert engine.update_weights([]) == version + 1 == engine.weight_version


def test_engine_plays_maze2d(engine):
    engine.sampling = SamplingConfig(max_new_tokens=8, seed=0)
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, size=5, image_size=32, max_steps=3)
    episodes = collect_episodes(env, BatchedAgent(engine, env, AgentConfig(history_turns=1)), num_episodes=2)
    assert len(episodes) == 2 and all(len(r.logprobs) > 0 for e in episodes for r in e.records)


@pytest.fixture(scope="module")
def server(tiny_model_path, tmp_path_factory):
    from vlenvs_train.policies.vllm_server import start_vllm_server

    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    with start_vllm_server(tiny_model_path, log, served_name="tiny") as running:  # its process group stopped on exit
        yield running.url
    assert running.process.poll() is not None
    assert live_group_members(running.process.pid) == []  # no engine-core process outlives the server


@pytest.mark.parametrize("temperature", [1.0, 0.0])
def test_server_logprobs_match_rescoring(server, hf_model, tiny_model_path, temperature):
    client = OpenAIServerPolicy(ServerConfig(base_urls=(server,)), processor=tiny_model_path,
                                sampling=SamplingConfig(max_new_tokens=12, seed=0, temperature=temperature))
    outs = client.generate(requests(4))
    assert all(len(o.response_ids) == len(o.logprobs) > 0 for o in outs)
    assert "pixel_values" in outs[0].mm_inputs
    assert max_drift(hf_model, client.encoder, outs, client.sampling.scoring_temperature) < TOL


def test_server_plays_maze2d_with_failover(server, tiny_model_path):
    from vlenvs_train.policies.vllm_server import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there: every other request fails over
    client = OpenAIServerPolicy(ServerConfig(base_urls=(dead, server), model="tiny", max_retries=1, backoff_s=0.01),
                                processor=tiny_model_path, sampling=SamplingConfig(max_new_tokens=8, seed=0))
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, size=5, image_size=32, max_steps=3)
    episodes = collect_episodes(env, BatchedAgent(client, env), num_episodes=3)
    assert len(episodes) == 3 and all(len(r.response_ids) > 0 for e in episodes for r in e.records)


def test_engine_multi_turn_prompts_are_the_samplers_tokens_and_images(engine):
    """Token-in/token-out on a multi-turn Maze2D episode with history images: what the engine records for the
    trainer is vLLM's single rendering of each prompt (the engine generates from exactly that input), and it equals
    the model's own transformers processor: same prompt ids, image grids, token types, and pixel values (vLLM
    ships raw uint8 patches and normalises them in the model; the recorded ones went through that normalisation)."""
    engine.sampling = SamplingConfig(max_new_tokens=8, seed=0)
    seen = []
    real = engine.generate

    def recording(requests):
        outputs = real(requests)
        seen.extend(zip([engine.encoder.encode(r.messages) for r in requests], outputs))
        return outputs

    engine.generate = recording
    try:
        env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, size=5, image_size=32, max_steps=4)
        collect_episodes(env, BatchedAgent(engine, env, AgentConfig(history_turns=2, history_images=True)),
                         num_episodes=2)
    finally:
        del engine.generate
    multi = 0
    for enc, out in seen:
        assert np.array_equal(out.prompt_ids, enc.prompt_ids)
        assert set(out.mm_inputs) == set(enc.mm_inputs) == {"pixel_values", "image_grid_thw", "mm_token_type_ids"}
        multi += len(out.mm_inputs["image_grid_thw"]) > 1
        assert out.mm_inputs["pixel_values"].dtype == np.float32
        assert np.abs(out.mm_inputs["pixel_values"] - enc.mm_inputs["pixel_values"]).max() < 1e-5
        for key in ("image_grid_thw", "mm_token_type_ids"):
            assert np.array_equal(out.mm_inputs[key], enc.mm_inputs[key])
    assert multi > 0  # some prompts carried history images


def test_engine_records_every_image_when_vllm_has_cached_it(engine):
    """A repeated image (an unchanged frame, a history image) is a cache hit in vLLM's processor cache; its tensors
    are still recorded for the trainer."""
    engine.sampling = SamplingConfig(max_new_tokens=4, seed=0)
    batch = requests(3, seed=9)
    first, again = engine.generate(batch), engine.generate(batch)
    for a, b in zip(first, again):
        assert set(a.mm_inputs) == set(b.mm_inputs) and a.mm_inputs
        for key in a.mm_inputs:
            assert np.array_equal(a.mm_inputs[key], b.mm_inputs[key])


def live_group_members(pgid: int) -> list[int]:
    """PIDs of the processes of group ``pgid`` that are still running (zombies, which only wait to be reaped by
    whoever adopted them, do not count), waiting up to 15 s for them to exit."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + 15
    while True:
        live = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                live.append(int(stat.parent.name))
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.2)
