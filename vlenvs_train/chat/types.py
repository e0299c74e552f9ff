"""What a policy is asked and what it answers: the one small protocol every policy backend implements.

A :class:`PolicyRequest` is one env's chat prompt (messages in the canonical form of
:mod:`vlenvs_train.chat.messages`). A policy answers a whole batch of requests in ONE call with one
:class:`PolicyOutput` each, in request order: the exact tokens the sampler saw and produced, its log-probs,
and the multimodal tensors the processor made — everything a trainer needs to recompute log-probs without
re-rendering or re-tokenizing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vlenvs.core.errors import VlenvsError


class PolicyError(VlenvsError, RuntimeError):
    """A policy backend failed to answer a batch (server gone, malformed reply, token mismatch, ...)."""


@dataclass
class PolicyRequest:
    """One env's prompt: canonical chat messages plus what a scripted policy may look at."""

    messages: list[dict[str, Any]]
    """Chat messages; content parts are ``{"type": "text", "text": str}`` or
    ``{"type": "image", "image": uint8[H,W,3]}`` (see :mod:`vlenvs_train.chat.messages`)."""

    legal_actions: tuple[str, ...] = ()
    """Names of the legal discrete actions (empty for text-answer envs)."""

    hints: Mapping[str, Any] = field(default_factory=dict)
    """Per-env info of the current state (e.g. ``oracle_action``); scripted policies only."""


@dataclass
class PolicyOutput:
    """One reply: its text, the exact token ids, the behaviour log-probs and the processor's multimodal inputs."""

    text: str
    prompt_ids: np.ndarray  # int64[P] the prompt tokens as the sampler saw them (image placeholders expanded)
    response_ids: np.ndarray  # int64[R] sampled tokens (end-of-turn token included when emitted)
    logprobs: np.ndarray  # float32[R] log-prob of each sampled token under the sampling distribution
    mm_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    """Processor outputs besides ``input_ids``/``attention_mask`` (``pixel_values``, ``image_grid_thw``,
    ``mm_token_type_ids``, ...), exactly as made for ``prompt_ids``."""
    finish_reason: str = "stop"  # "stop" (end-of-turn token) or "length" (max_new_tokens reached)
    weight_version: int | None = None
    """The sampler's weight version this reply was sampled with (``Sampler.weight_version``; ``None``: a
    policy that is not trained, e.g. scripted). Older than the trainer's current version = a stale sample."""

    def __post_init__(self) -> None:
        assert len(self.response_ids) == len(self.logprobs), "one log-prob per response token"


@runtime_checkable
class BatchedPolicy(Protocol):
    """Anything that answers a batch of prompts in one call."""

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        """One :class:`PolicyOutput` per request, in order; raises :class:`PolicyError` rather than drop one."""
        ...


def check_outputs(requests: Sequence[PolicyRequest], outputs: Sequence[PolicyOutput], who: str) -> list[PolicyOutput]:
    """Raise :class:`PolicyError` unless there is exactly one output per request (no step silently lost)."""
    outputs = list(outputs)
    if len(outputs) != len(requests) or any(not isinstance(o, PolicyOutput) for o in outputs):
        raise PolicyError(f"{who} returned {len(outputs)} outputs for {len(requests)} requests")
    return outputs
