"""The server client against a local misbehaving socket server (and a real vLLM server, with -m vllm)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

pytest.importorskip("httpx")

from vlenvs.core.errors import InvalidConfigError  # noqa: E402
from vlenvs_train.adapter.prompts import build_messages  # noqa: E402
from vlenvs_train.policies.base import PolicyError, PolicyRequest, SamplingConfig  # noqa: E402
from vlenvs_train.policies.openai_server import OpenAIServerPolicy, ServerConfig  # noqa: E402

from .fake_server import FakeChatServer  # noqa: E402

IMG = np.zeros((16, 16, 3), dtype=np.uint8)
FAST = dict(backoff_s=0.01, backoff_max_s=0.02, timeout_s=5.0)


def reqs(*prompts):
    return [PolicyRequest(build_messages("sys", [], IMG, p, False), ("up",)) for p in prompts]


def dead_url() -> str:
    with socket.socket() as s:  # a port nothing listens on (bound, then released)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def policy(*urls, **kw):
    config = ServerConfig(base_urls=tuple(urls), **{**FAST, **kw})
    return OpenAIServerPolicy(config, sampling=SamplingConfig(max_new_tokens=4))


def test_batch_is_answered_in_order_across_several_servers():
    with FakeChatServer() as a, FakeChatServer() as b:
        outs = policy(a.url, b.url).generate(reqs(*[f"p{i}" for i in range(6)]))
    assert [o.text for o in outs] == [f"<answer>p{i}</answer>" for i in range(6)]
    assert all(o.response_ids.tolist() == [100, 101, 102] for o in outs)
    np.testing.assert_allclose(outs[0].logprobs, [-100.5, -101.5, -102.5])
    assert outs[0].finish_reason == "length" and outs[0].prompt_ids.tolist() == [1, 2, 3]
    assert len(a.log) == 3 and len(b.log) == 3  # round-robin


def test_retries_with_backoff_recover_from_errors_and_bad_replies():
    plan = {"p0": ["500", "garbage", "close", "missing", "short", "ok"]}
    with FakeChatServer(plan) as server:
        t0 = time.perf_counter()
        outs = policy(server.url, max_retries=5).generate(reqs("p0"))
        elapsed = time.perf_counter() - t0
    assert outs[0].text == "<answer>p0</answer>"
    assert [b for _, b in server.log] == ["500", "garbage", "close", "missing", "short", "ok"]
    assert elapsed >= 0.01 + 0.02 * 4  # waited between attempts


def test_a_server_that_is_gone_gives_a_clear_error():
    url = dead_url()
    t0 = time.perf_counter()
    with pytest.raises(PolicyError, match=r"after 3 attempts on .*server looks gone.*Connect"):
        policy(url, max_retries=2, model="m").generate(reqs("p0"))
    assert time.perf_counter() - t0 < 5
    with pytest.raises(PolicyError, match="could not list the served models"):
        policy(url).generate(reqs("p0"))


def test_timeouts_are_retried_then_reported():
    with FakeChatServer({"p0": ["hang"]}, hang_s=1.0) as server:
        with pytest.raises(PolicyError, match="ReadTimeout"):
            policy(server.url, timeout_s=0.2, max_retries=1).generate(reqs("p0"))
    with FakeChatServer({"p0": ["hang", "ok"]}, hang_s=1.0) as server:
        assert policy(server.url, timeout_s=0.3, max_retries=1).generate(reqs("p0"))[0].text


def test_failover_to_the_next_url():
    with FakeChatServer() as server:
        outs = policy(dead_url(), server.url, model="m").generate(reqs("p0", "p1", "p2"))
    assert len(outs) == 3 and len(server.log) == 3


def test_one_failing_env_fails_the_whole_batch_loudly():
    with FakeChatServer({"p1": ["500"]}) as server:
        with pytest.raises(PolicyError, match=r"1 of 3 requests of the batch failed \(first: request 1\).*HTTP 500"):
            policy(server.url, max_retries=2).generate(reqs("p0", "p1", "p2"))
    assert sum(p == "p1" for p, _ in server.log) == 3


def test_client_errors_are_not_retried():
    with FakeChatServer({"p0": ["400"]}) as server:
        with pytest.raises(PolicyError, match="HTTP 400"):
            policy(server.url, max_retries=3).generate(reqs("p0"))
    assert len(server.log) == 1


def test_request_body_asks_for_tokens_logprobs_and_suppression():
    p = OpenAIServerPolicy(ServerConfig(model="m"), sampling=SamplingConfig(max_new_tokens=5, seed=1, temperature=0.5))
    body = p._body(reqs("p0")[0], 0, 0)
    assert body["return_token_ids"] and body["logprobs"] and body["max_tokens"] == 5 and body["temperature"] == 0.5
    assert "<|image_pad|>" in body["bad_words"] and body["seed"] == 1
    image = body["messages"][-1]["content"][0]
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")


def test_config_is_validated():
    with pytest.raises(InvalidConfigError, match="base_urls"):
        ServerConfig(base_urls="http://x/v1")
    with pytest.raises(InvalidConfigError, match="base URL 'localhost:8000'"):
        ServerConfig(base_urls=("localhost:8000",))
    assert [ServerConfig(backoff_s=0.5, backoff_max_s=3).backoff(k) for k in range(4)] == [0.5, 1.0, 2.0, 3.0]


def test_prompt_tokens_are_checked_against_the_local_processor(tiny_model_path):
    from vlenvs_train.policies.encode import PromptEncoder

    encoder = PromptEncoder.from_pretrained(tiny_model_path)
    requests = reqs("p0", "p1")
    ids = {"p0": encoder.encode(requests[0].messages).prompt_ids.tolist()}
    with FakeChatServer(prompt_ids=ids) as server:
        client = OpenAIServerPolicy(ServerConfig(base_urls=(server.url,), **FAST), processor=encoder.processor)
        out = client.generate(requests[:1])[0]
        assert out.prompt_ids.tolist() == ids["p0"] and "pixel_values" in out.mm_inputs
        with pytest.raises(PolicyError, match="tokenized the prompt differently"):
            client.generate(requests[1:])


def test_evaluation_skips_the_local_processor_pass(tiny_model_path):
    """``record_inputs=False`` (what an evaluation samples with): same replies, no multimodal tensors, no local
    processor pass (the server's prompt ids are not checked, so a mismatch does not raise)."""
    from vlenvs_train.policies.encode import PromptEncoder
    from vlenvs_train.train.backends import evaluation_sampling

    encoder = PromptEncoder.from_pretrained(tiny_model_path)
    with FakeChatServer() as server:  # answers prompt ids [1, 2, 3]: not the local processor's
        client = OpenAIServerPolicy(ServerConfig(base_urls=(server.url,), **FAST), processor=encoder.processor,
                                    sampling=SamplingConfig(max_new_tokens=4, temperature=1.0))
        with evaluation_sampling(client, 0.0):
            assert client.sampling.temperature == 0.0 and not client.sampling.record_inputs
            out = client.generate(reqs("p0"))[0]
        assert client.sampling == SamplingConfig(max_new_tokens=4, temperature=1.0)  # restored
        assert out.text == "<answer>p0</answer>" and out.mm_inputs == {} and out.prompt_ids.tolist() == [1, 2, 3]
        with pytest.raises(PolicyError, match="tokenized the prompt differently"):
            client.generate(reqs("p0"))


def test_calls_from_inside_an_event_loop():
    """``generate`` from a coroutine (it blocks that loop's thread, as any sync call would) and ``agenerate`` on
    the caller's own loop both answer."""
    import asyncio

    with FakeChatServer() as server:
        client = policy(server.url)

        async def both():
            return client.generate(reqs("a"))[0].text, (await client.agenerate(reqs("b")))[0].text

        assert asyncio.run(both()) == ("<answer>a</answer>", "<answer>b</answer>")


class SlowLen(tuple):
    """URLs whose ``len()`` yields the GIL: a thread switch lands inside the client's counter update."""

    def __len__(self):
        time.sleep(0.002)
        return super().__len__()


class SeedLog(FakeChatServer):
    """Also records the sampling seed of every request."""

    def __init__(self):
        super().__init__()
        self.seeds = []

    def handle(self, h, body):
        with self.lock:
            self.seeds.append(body.get("seed"))
        super().handle(h, body)


def test_concurrent_calls_get_distinct_seeds_and_spread_over_the_urls():
    threads, barrier = 8, threading.Barrier(8)
    with SeedLog() as a, SeedLog() as b:
        config = ServerConfig(base_urls=SlowLen((a.url, b.url)), model="m", **FAST)
        client = OpenAIServerPolicy(config, sampling=SamplingConfig(max_new_tokens=4, seed=5))
        errors = []

        def call(i):
            barrier.wait()
            try:
                assert client.generate(reqs(f"p{i}"))[0].text == f"<answer>p{i}</answer>"
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        workers = [threading.Thread(target=call, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert not errors, errors
    seeds = a.seeds + b.seeds
    assert sorted(seeds) == [5 + c * 1_000_003 for c in range(threads)]  # one call number each
    # round-robin: every call got its own first URL (without the lock, calls that switch threads inside the
    # update read the same URL index and one server gets more than half)
    assert len(a.seeds) == len(b.seeds) == threads // 2
    assert client._calls == threads


def test_one_client_serves_the_concurrent_shards_of_a_rollout_pipeline():
    from vlenvs_train.rollout.pipeline import PipelineConfig, RolloutPipeline
    from vlenvs_train.rollout.workers import EnvFactory

    maze = EnvFactory("vlenvs/Maze2D-v0", {"size": 5, "image_size": 16, "max_steps": 3})
    config = PipelineConfig("inline", num_workers=1, num_shards=4, policy_concurrency=4)
    with SeedLog() as a, SeedLog() as b:
        client = OpenAIServerPolicy(ServerConfig(base_urls=(a.url, b.url), model="m", **FAST),
                                    sampling=SamplingConfig(max_new_tokens=4, seed=0))
        with RolloutPipeline(maze, client, config=config) as pipe:
            episodes = pipe.play_seeds(list(range(8)))
            stats = pipe.last_stats
    steps = sum(e.length for e in episodes)
    assert len(episodes) == 8 and steps == stats.env_steps and client._calls == stats.policy_calls[0]
    seeds = a.seeds + b.seeds
    assert len(seeds) == len(set(seeds)) == steps  # one request per env step, each with its own seed
    assert abs(len(a.seeds) - len(b.seeds)) <= 1  # one round-robin over the URLs across all the calls
