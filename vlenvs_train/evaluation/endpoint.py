"""Any OpenAI-compatible chat endpoint as an evaluation policy: text replies, no token ids needed.

:class:`~vlenvs_train.policies.openai_server.OpenAIServerPolicy` is written for the trainer's vLLM servers:
it asks for vLLM-only fields (``top_k``, ``return_token_ids``, ``bad_words``) and rejects replies without
token ids and log-probs, which hosted VLM APIs neither accept nor return. Evaluation needs only the text,
so :class:`TextReplyServerPolicy` keeps the client (concurrency limit, timeouts, retries with backoff,
round-robin URLs, per-request seeds) and changes two things: the request body holds only standard OpenAI
chat fields, and a reply without token ids is read as text with empty token ids and log-probs.
"""

from __future__ import annotations

from typing import Any

from vlenvs_train.policies.base import PolicyRequest
from vlenvs_train.policies.openai_server import OpenAIServerPolicy

#: The request fields every OpenAI-compatible chat endpoint accepts.
STANDARD_FIELDS = ("model", "messages", "max_tokens", "temperature", "top_p", "seed")


def with_token_fields(reply: Any) -> Any:
    """``reply`` with empty ``token_ids``/``prompt_token_ids``/log-probs where the server sent none (a plain
    OpenAI chat completion); replies that carry token ids, and non-dict replies, are returned unchanged."""
    try:
        choice = reply["choices"][0]
    except (KeyError, IndexError, TypeError):
        return reply  # malformed: the client's own parser reports it
    if not isinstance(choice, dict) or "token_ids" in choice:
        return reply
    return {**reply, "prompt_token_ids": reply.get("prompt_token_ids") or [],
            "choices": [{**choice, "token_ids": [], "logprobs": {"content": []}}, *reply["choices"][1:]]}


class _Reply:
    """An HTTP response whose JSON body goes through :func:`with_token_fields`."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)

    def json(self) -> Any:
        return with_token_fields(self._response.json())


class _Client:
    """The HTTP client as the server policy uses it, with chat replies wrapped in :class:`_Reply`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return _Reply(await self._client.post(url, **kwargs))


class TextReplyServerPolicy(OpenAIServerPolicy):
    """:class:`OpenAIServerPolicy` for any OpenAI-compatible chat endpoint (hosted VLM APIs, vLLM, SGLang,
    llama.cpp, Ollama...): standard request fields only; text-only replies accepted (their outputs have
    empty ``response_ids``/``logprobs``, so they are for evaluation, not training)."""

    def _body(self, request: PolicyRequest, k: int, call: int) -> dict[str, Any]:
        body = super()._body(request, k, call)
        return {key: value for key, value in body.items() if key in STANDARD_FIELDS}

    async def _one(self, client: Any, *args: Any) -> Any:
        return await super()._one(_Client(client), *args)
