"""Any OpenAI-compatible endpoint: standard request fields, text-only replies, the key from an env var,
at most --concurrency requests in flight."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("httpx")

from vlenvs_train.adapter.prompts import build_messages  # noqa: E402
from vlenvs_train.evaluation.cli import main  # noqa: E402
from vlenvs_train.evaluation.endpoint import STANDARD_FIELDS, TextReplyServerPolicy, with_token_fields  # noqa: E402
from vlenvs_train.policies.base import PolicyRequest, SamplingConfig  # noqa: E402
from vlenvs_train.policies.openai_server import OpenAIServerPolicy, ServerConfig  # noqa: E402

from .text_server import TextChatServer  # noqa: E402

KEY = "sk-test-0123456789-secret"


def test_text_only_replies_are_read_where_the_trainer_client_gives_up():
    req = [PolicyRequest(build_messages("sys", [], np.zeros((8, 8, 3), np.uint8), "go", False), ("up",))]
    with TextChatServer(reply="up") as server:
        config = ServerConfig(base_urls=(server.url,), max_retries=0, backoff_s=0.0)
        out = TextReplyServerPolicy(config, sampling=SamplingConfig(max_new_tokens=5, seed=3)).generate(req)[0]
        with pytest.raises(Exception, match="token ids"):
            OpenAIServerPolicy(config).generate(req)
    assert out.text == "<answer>up</answer>" and out.response_ids.size == 0 and out.logprobs.size == 0
    body = server.bodies[0]
    assert set(body) <= set(STANDARD_FIELDS) and body["max_tokens"] == 5 and body["seed"] == 3
    assert body["messages"][1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_replies_with_token_ids_pass_unchanged():
    reply = {"choices": [{"message": {"content": "x"}, "token_ids": [1]}], "prompt_token_ids": [2]}
    assert with_token_fields(reply) is reply
    assert with_token_fields({"nothing": 1}) == {"nothing": 1}
    plain = with_token_fields({"choices": [{"message": {"content": "x"}}]})
    assert plain["choices"][0]["token_ids"] == [] and plain["prompt_token_ids"] == []


def test_eval_against_an_endpoint_limits_concurrency_and_never_writes_the_key(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EVAL_TEST_KEY", KEY)
    out = tmp_path / "out"
    with TextChatServer(reply="right", delay_s=0.05) as server:
        code = main(["--env", "vlenvs/Maze2D-v0", "--preset", "easy", "--env-kwarg", "max_steps=2",
                     "--base-url", server.url, "--model", "my-vlm", "--api-key-env", "EVAL_TEST_KEY",
                     "--concurrency", "3", "--episodes", "8", "--batch", "8", "--out", str(out)])
    assert code == 0
    assert server.max_in_flight == 3  # 8 envs per step, never more than 3 requests at once
    assert set(server.auth) == {f"Bearer {KEY}"} and {b["model"] for b in server.bodies} == {"my-vlm"}
    assert all(b["temperature"] == 0.0 for b in server.bodies)  # greedy by default
    written = "".join(p.read_text() for p in out.iterdir() if p.is_file())
    printed = capsys.readouterr()
    assert KEY not in written and KEY not in printed.out + printed.err
    recs = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(recs) == 8 and all(t["reply"] == "<answer>right</answer>" for r in recs for t in r["turns"])


def test_a_missing_key_variable_is_a_typed_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EVAL_NO_SUCH_KEY", raising=False)
    assert main(["--env", "vlenvs/Maze2D-v0", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env",
                 "EVAL_NO_SUCH_KEY", "--out", str(tmp_path)]) == 2
    assert "EVAL_NO_SUCH_KEY" in capsys.readouterr().err
