"""Client of OpenAI-compatible chat servers (``vllm serve``/vLLM's api_server, or any compatible one).

One batch = concurrent async requests (images as base64 PNG data URLs), spread round-robin over several
base URLs, each with a timeout and retries with exponential backoff (a failed attempt moves on to the
next URL). Token ids and log-probs come back through vLLM's ``return_token_ids`` and ``logprobs``. Every
request of a batch either yields its :class:`PolicyOutput` or the whole call raises :class:`PolicyError`
naming the envs, URLs and last errors: a batch never silently loses an env's step. One policy object may
serve several threads at once (e.g. the shards of a :class:`~vlenvs_train.rollout.pipeline.RolloutPipeline`
with ``policy_concurrency > 1``): each call takes its own call number (sampling seeds) and first URL.

For log-probs of the distribution actually sampled (temperature, suppressed tokens), start vLLM with
``--logprobs-mode processed_logprobs``; with ``processor`` given, the multimodal tensors are made locally
and the server's prompt tokens are checked against them (so the trainer can re-score the same tokens).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlenvs.core.config import check_float, check_int
from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.chat.messages import to_openai_messages
from vlenvs_train.policies.base import (
    VISION_SPECIAL_TOKENS,
    PolicyError,
    PolicyOutput,
    PolicyRequest,
    SamplingConfig,
    check_outputs,
)
from vlenvs_train.policies.encode import PromptEncoder
from vlenvs_train.policies.sampler import ScoringSpec, read_sampler_state, sampler_state
from vlenvs_train.policies.server_sync import ServerWeightSync, write_weights


class MalformedReply(ValueError):
    """The server answered, but not with a usable chat completion (retryable)."""


class Retryable(Exception):
    """An HTTP status worth retrying (5xx, 429, 408)."""


@dataclass(frozen=True)
class ServerConfig:
    """Where the servers are and how hard to try."""

    base_urls: tuple[str, ...] = ("http://127.0.0.1:8000/v1",)
    """OpenAI API roots (``.../v1``); requests go round-robin, a retry moves to the next one."""
    model: str | None = None
    """Served model name; ``None``: the first one ``GET /models`` lists."""
    timeout_s: float = 120.0
    """Per-attempt timeout of one request (connect + generate + read)."""
    max_retries: int = 3
    """Retries per request after the first attempt (connection errors, timeouts, 5xx/429, malformed replies)."""
    backoff_s: float = 0.5
    """Wait before the first retry; doubles on each further retry up to ``backoff_max_s``."""
    backoff_max_s: float = 8.0
    """Longest wait between retries."""
    max_concurrency: int = 64
    """Requests in flight at once (over all URLs)."""
    api_key: str | None = None
    """Sent as ``Authorization: Bearer ...`` if set."""
    weight_sync_dir: str | None = None
    """Training through the servers: the folder the trainer writes each update's weights to and the servers load
    them from (the same path on both sides: local servers or a shared file system). ``None``: the trainer uses
    ``OUT/sampler_weights``. See :mod:`~vlenvs_train.policies.server_sync`."""
    sync_timeout_s: float = 600.0
    """Per-call timeout of a weight sync (loading a large model's weights takes a while)."""

    def __post_init__(self) -> None:
        if isinstance(self.base_urls, str) or not self.base_urls:
            raise InvalidConfigError(f"invalid base_urls {self.base_urls!r}; expected a non-empty tuple of URLs")
        for url in self.base_urls:
            if not str(url).startswith(("http://", "https://")):
                raise InvalidConfigError(f"invalid base URL {url!r}; expected http://host:port/v1")
        check_float("timeout_s", self.timeout_s, 1e-3, 86_400)
        check_int("max_retries", self.max_retries, 0, 100)
        check_float("backoff_s", self.backoff_s, 0.0, 3600)
        check_float("backoff_max_s", self.backoff_max_s, 0.0, 3600)
        check_int("max_concurrency", self.max_concurrency, 1, 100_000)
        check_float("sync_timeout_s", self.sync_timeout_s, 1e-3, 86_400)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return min(self.backoff_s * 2.0**retry, self.backoff_max_s)


def parse_completion(reply: Any) -> tuple[str, list[int], list[int], list[float], str]:
    """``(text, prompt_ids, response_ids, logprobs, finish_reason)`` of a vLLM chat completion, or raise
    :class:`MalformedReply` saying what is missing."""
    try:
        choice = reply["choices"][0]
        text = choice["message"]["content"] or ""
        ids = choice["token_ids"]
        prompt = reply["prompt_token_ids"]
        content = (choice.get("logprobs") or {}).get("content") or []
        logprobs = [float(c["logprob"]) for c in content]
        finish = choice.get("finish_reason") or "stop"
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise MalformedReply(f"not a chat completion with token ids and log-probs ({type(e).__name__}: {e})") from None
    if not isinstance(ids, list) or not isinstance(prompt, list) or not all(isinstance(t, int) for t in ids + prompt):
        raise MalformedReply("token_ids/prompt_token_ids missing or not integer lists (is return_token_ids supported?)")
    if len(logprobs) != len(ids) or not all(math.isfinite(x) or x == -math.inf for x in logprobs):
        raise MalformedReply(f"{len(logprobs)} log-probs for {len(ids)} tokens")
    if not isinstance(text, str):
        raise MalformedReply("message content is not text")
    return text, prompt, ids, logprobs, str(finish)


class OpenAIServerPolicy:
    """Sample replies from one or more OpenAI-compatible servers.

    Args:
        config: server URLs, model name, timeouts and retries.
        processor: the served model's processor or folder/hub id (recommended): multimodal inputs are then
            recorded and the server's prompt tokens verified; ``None`` records the server's tokens only.
        sampling: temperature, reply length, seed, vision-token suppression (sent as ``bad_words``).
        weight_sync_dir: where synced weights go when ``config.weight_sync_dir`` is unset (the trainer passes
            ``OUT/sampler_weights``).
    """

    def __init__(self, config: ServerConfig = ServerConfig(), processor: Any = None,
                 sampling: SamplingConfig = SamplingConfig(), weight_sync_dir: str | Path | None = None) -> None:
        self.config, self.sampling = config, sampling
        if processor is not None and not hasattr(processor, "apply_chat_template"):
            processor = PromptEncoder.from_pretrained(processor).processor
        self.encoder = PromptEncoder(processor) if processor is not None else None
        self._model = config.model
        self._lock = threading.Lock()  # guards the counters and versions below: calls may come from several threads
        self._next_url = 0
        self._calls = 0
        sync_dir = config.weight_sync_dir or weight_sync_dir  # the config's folder, else the caller's default
        # absolute: the servers resolve the path from their own working directory
        self.weight_sync_dir = Path(sync_dir).expanduser().resolve() if sync_dir else None
        self._label_prefix = secrets.token_hex(4)  # this client's weight labels: <prefix>-<version>
        self._version = 0
        self._weights: Path | None = None  # the folder holding the current version's weights (once synced)
        self._served: dict[str, int | None] = {url: None for url in config.base_urls}  # None: not verified
        self._url_locks = {url: threading.Lock() for url in config.base_urls}
        self._sync = ServerWeightSync(config.sync_timeout_s, config.api_key)
        self.counters = {"failed_attempts": 0, "resyncs": 0, "sync_failures": 0}
        """Running totals: request attempts that failed (and moved on to another URL), servers brought up to
        date before sampling (restarted or missed an update), servers a weight sync could not reach."""
        self.last_sync: dict[str, float] = {}
        self._tls_context: Any = None

    # ------------------------------------------------------------ Sampler protocol
    @property
    def scoring_spec(self) -> ScoringSpec:
        """Assumes a server started with ``--logprobs-mode processed_logprobs`` (the requests send neutral
        penalties, so the model's generation-config defaults do not apply; banned ids need ``processor``)."""
        banned: tuple[int, ...] = ()
        if self.sampling.suppress_vision_tokens and self.encoder is not None:
            vocab = self.encoder.tokenizer.get_vocab()
            banned = tuple(vocab[t] for t in VISION_SPECIAL_TOKENS if t in vocab)
        return ScoringSpec(temperature=self.sampling.scoring_temperature, suppressed_ids=banned)

    @property
    def weight_version(self) -> int:
        return self._version

    def update_weights(self, named_params: Iterable[tuple[str, Any]]) -> int:
        """Write the weights to ``weight_sync_dir`` and load them into every server (in turn); returns the new
        version. A server that cannot be reached is reported (``counters["sync_failures"]``) and brought up to
        date before it samples again; :class:`PolicyError` if no server took the update."""
        if self.weight_sync_dir is None:
            raise PolicyError("OpenAIServerPolicy.update_weights needs a weight_sync_dir (sampler.server."
                              "weight_sync_dir, shared with the servers) to train through servers")
        t0 = time.perf_counter()
        with self._lock:
            version = self._version + 1
        folder = write_weights(named_params, self.weight_sync_dir, version)
        written = time.perf_counter() - t0
        with self._lock:
            self._version, self._weights = version, folder
            self._served = {url: None for url in self.config.base_urls}
        errors = []
        for url in self.config.base_urls:
            try:
                self._bring_up_to_date(url, count=False)
            except Exception as e:  # noqa: BLE001 - a dead server is reported, the others carry on
                errors.append(f"{url}: {type(e).__name__}: {e}")
        with self._lock:
            self.counters["sync_failures"] += len(errors)
        self.last_sync = {"seconds": time.perf_counter() - t0, "write_seconds": written,
                          "servers": len(self.config.base_urls) - len(errors), "failed": len(errors)}
        if len(errors) == len(self.config.base_urls):
            raise PolicyError(f"weight version {version} reached no server: " + " | ".join(errors))
        return version

    def state_dict(self) -> dict[str, Any]:
        with self._lock:
            return sampler_state(self._calls, self.sampling.seed, self._version)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        calls, version = read_sampler_state(state, "OpenAIServerPolicy")
        with self._lock:
            if version != self._version:  # e.g. a resumed run: what the servers hold must be checked again
                self._served = {url: None for url in self.config.base_urls}
            self._calls, self._version = calls, version

    def label(self, version: int) -> str:
        """The weight-version label servers carry for this client's ``version`` (vLLM's ``/weight_info``)."""
        return f"{self._label_prefix}-{version}"

    def _bring_up_to_date(self, url: str, count: bool = True) -> None:
        """Make sure the server at ``url`` serves the current version (its label, read back); load the current
        weights into it if it does not (a restarted server, or one a sync missed). Thread-safe, blocking."""
        with self._url_locks[url]:
            with self._lock:
                version, folder = self._version, self._weights
                if self._served.get(url) == version:
                    return
            served = self._sync.served_version(url)
            if served != self.label(version):
                if folder is None:
                    raise PolicyError(f"{url} serves weights labelled {served!r}, not this client's version "
                                      f"{version}, and this client has no weights to send it (no update_weights yet)")
                self._sync.push(url, folder, self.label(version))
                if count:
                    with self._lock:
                        self.counters["resyncs"] += 1
            with self._lock:
                if self._version == version:
                    self._served[url] = version

    # ------------------------------------------------------------------ API
    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        if not requests:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.agenerate(requests))
        result: list[Any] = []  # called from inside an event loop: run ours in a worker thread
        worker = threading.Thread(target=lambda: result.append(_capture(asyncio.run, self.agenerate(requests))))
        worker.start()
        worker.join()
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    async def agenerate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        import httpx

        # the local processor pass (the trainer's image tensors) runs in a thread while the requests are in
        # flight: the servers' prompt processing and ours overlap instead of ours delaying the first request;
        # sampling without record_inputs (evaluation) skips it
        encoding = (asyncio.ensure_future(asyncio.to_thread(self._encode_all, requests))
                    if self.encoder is not None and self.sampling.record_inputs else None)
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        limits = httpx.Limits(max_connections=self.config.max_concurrency)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=self.config.timeout_s,
                                     verify=self._tls()) as client:
            if self._model is None:
                self._model = await self._discover_model(client)
            gate = asyncio.Semaphore(self.config.max_concurrency)
            call, start = self._reserve(len(requests))
            with self._lock:  # every batch re-reads each server's label first (a server may have restarted since)
                if self._weights is not None:
                    self._served = {url: None for url in self.config.base_urls}
            tasks = [self._one(client, gate, k, r, start + k, call) for k, r in enumerate(requests)]
            results = await asyncio.gather(*tasks, return_exceptions=True)
        encoded = await encoding if encoding is not None else None  # (a thread cannot be cancelled: wait for it)
        failed = [(k, e) for k, e in enumerate(results) if isinstance(e, BaseException)]
        if failed:
            k, err = failed[0]
            raise PolicyError(f"{len(failed)} of {len(requests)} requests of the batch failed (first: request {k}): "
                              f"{err}") from (err if isinstance(err, Exception) else None)
        outputs = []
        for k, (out, url) in enumerate(results):  # type: ignore[misc]
            if encoded is not None:
                self.encoder.check_same_prompt(encoded[k].prompt_ids, out.prompt_ids, f"the server at {url}")
                out = dataclasses.replace(out, mm_inputs=encoded[k].mm_inputs)
            outputs.append(out)
        return check_outputs(requests, outputs, "OpenAIServerPolicy")

    def _encode_all(self, requests: Sequence[PolicyRequest]) -> list[Any]:
        assert self.encoder is not None
        return [self.encoder.encode(r.messages) for r in requests]

    # ------------------------------------------------------------ internals
    def _tls(self) -> Any:
        """One TLS context for all calls (httpx's default: certifi, ``SSL_CERT_FILE``/``SSL_CERT_DIR``; building one
        loads the CA bundle: ~0.1 s, per call otherwise)."""
        with self._lock:
            if self._tls_context is None:
                import httpx

                self._tls_context = httpx.create_ssl_context()
            return self._tls_context

    def _reserve(self, num_requests: int) -> tuple[int, int]:
        """This call's number (its requests' sampling seeds derive from it) and the URL index of its first
        request; the next call starts ``num_requests`` URLs further (round-robin). Thread-safe."""
        with self._lock:
            call, start = self._calls, self._next_url
            self._calls += 1
            self._next_url = (start + num_requests) % len(self.config.base_urls)
        return call, start

    def _body(self, request: PolicyRequest, k: int, call: int) -> dict[str, Any]:
        s = self.sampling
        body: dict[str, Any] = {
            "model": self._model, "messages": to_openai_messages(request.messages), "max_tokens": s.max_new_tokens,
            "temperature": s.temperature, "top_p": 1.0, "top_k": 0, "logprobs": True, "top_logprobs": 0,
            "return_token_ids": True, "skip_special_tokens": True,
            # explicit neutral values: vLLM's server would otherwise apply the model's generation-config defaults
            "repetition_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0, "min_p": 0.0,
        }
        if s.seed is not None:
            body["seed"] = (s.seed + call * 1_000_003 + k) % (2**63)
        if s.suppress_vision_tokens:
            body["bad_words"] = list(VISION_SPECIAL_TOKENS)
        return body

    async def _discover_model(self, client: Any) -> str:
        errors = []
        for url in self.config.base_urls:
            try:
                resp = await client.get(f"{url}/models")
                resp.raise_for_status()
                return str(resp.json()["data"][0]["id"])
            except Exception as e:  # noqa: BLE001 - any failure here means "try the next URL"
                errors.append(f"{url}: {type(e).__name__}: {e}")
        raise PolicyError("could not list the served models at any base URL (is the server running?): "
                          + "; ".join(errors))

    async def _one(self, client: Any, gate: asyncio.Semaphore, k: int, request: PolicyRequest,
                   url_index: int, call: int) -> tuple[PolicyOutput, str]:
        """Request ``k``'s reply (its multimodal inputs are added by the caller) and the URL that gave it."""
        import httpx

        body = self._body(request, k, call)
        urls = self.config.base_urls
        errors: list[str] = []
        for attempt in range(self.config.max_retries + 1):
            url = urls[(url_index + attempt) % len(urls)]
            if attempt:
                await asyncio.sleep(self.config.backoff(attempt - 1))
            with self._lock:
                version, synced, served = self._version, self._weights is not None, self._served.get(url)
            try:
                if synced and served != version:  # restarted, or missed a sync
                    try:
                        await asyncio.to_thread(self._bring_up_to_date, url)
                    except (PolicyError, httpx.HTTPError, KeyError, ValueError) as e:
                        raise Retryable(f"not at weight version {version}: {e}") from None
                async with gate:
                    resp = await client.post(f"{url}/chat/completions", json=body)
                if resp.status_code in (408, 429) or resp.status_code >= 500:
                    raise Retryable(f"HTTP {resp.status_code}: {resp.text[:200]}")
                if resp.status_code != 200:
                    raise PolicyError(f"{url} rejected request {k} with HTTP {resp.status_code}: {resp.text[:500]}")
                try:
                    reply = resp.json()
                except ValueError:
                    raise MalformedReply(f"reply is not JSON: {resp.text[:100]!r}") from None
                text, prompt, ids, logprobs, finish = parse_completion(reply)
            except (httpx.TimeoutException, httpx.TransportError, Retryable, MalformedReply) as e:
                errors.append(f"{url}: {type(e).__name__}: {e}")
                with self._lock:
                    self._served[url] = None  # verify it again before its next request (it may restart)
                    self.counters["failed_attempts"] += 1
                continue
            return PolicyOutput(text=text, prompt_ids=np.asarray(prompt, dtype=np.int64),
                                response_ids=np.asarray(ids, dtype=np.int64),
                                logprobs=np.asarray(logprobs, dtype=np.float32),
                                finish_reason="length" if finish == "length" else "stop", weight_version=version), url
        raise PolicyError(f"request {k} failed after {self.config.max_retries + 1} attempts on "
                          f"{', '.join(urls)}; the server looks gone or broken. Errors: " + " | ".join(errors))


def _capture(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except BaseException as e:  # noqa: BLE001 - handed back to the calling thread
        return e
