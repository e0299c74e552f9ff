"""The one small protocol every policy backend implements, and the records that flow through it.

A :class:`PolicyRequest` is one env's chat prompt (messages in the canonical form of
:mod:`vlenvs_train.adapter.prompts`). A policy answers a whole batch of requests in ONE call with one
:class:`PolicyOutput` each, in request order. The adapter turns each output into a :class:`StepRecord`:
the exact tokens the sampler saw and produced, its log-probs, and the multimodal tensors the processor
made — everything the trainer needs to recompute log-probs without re-rendering or re-tokenizing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vlenvs.core.config import check_float, check_int
from vlenvs.core.errors import VlenvsError


#: Vision special tokens of the Qwen-VL family: a sampled one would be taken for an image placeholder when
#: the reply is re-scored, so samplers suppress them (``SamplingConfig.suppress_vision_tokens``).
VISION_SPECIAL_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")


class PolicyError(VlenvsError, RuntimeError):
    """A policy backend failed to answer a batch (server gone, malformed reply, token mismatch, ...)."""


@dataclass(frozen=True)
class SamplingConfig:
    """How a policy samples. Log-probs are those of the distribution actually sampled from."""

    max_new_tokens: int = 64
    """Most tokens generated per reply (the reply ends earlier at the end-of-turn token)."""

    temperature: float = 1.0
    """Sampling temperature; ``0`` is greedy decoding (log-probs then use temperature 1)."""

    seed: int | None = None
    """Seed of the sampler (``None``: not reproducible)."""

    suppress_vision_tokens: bool = True
    """Never sample the vision special tokens (``<|image_pad|>``, ``<|vision_start|>``, ...): a reply
    containing them cannot be re-scored, since they would be taken for image placeholders."""

    def __post_init__(self) -> None:
        check_int("max_new_tokens", self.max_new_tokens, 1, 1_000_000)
        check_float("temperature", self.temperature, 0.0, 100.0)
        if self.seed is not None:
            check_int("seed", self.seed, 0, 2**63 - 1)

    @property
    def scoring_temperature(self) -> float:
        """The temperature log-probs are computed at (1 for greedy decoding)."""
        return self.temperature if self.temperature > 0 else 1.0


@dataclass
class PolicyRequest:
    """One env's prompt: canonical chat messages plus what a scripted policy may look at."""

    messages: list[dict[str, Any]]
    """Chat messages; content parts are ``{"type": "text", "text": str}`` or
    ``{"type": "image", "image": uint8[H,W,3]}`` (see :mod:`vlenvs_train.adapter.prompts`)."""

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

    def __post_init__(self) -> None:
        assert len(self.response_ids) == len(self.logprobs), "one log-prob per response token"


@runtime_checkable
class BatchedPolicy(Protocol):
    """Anything that answers a batch of prompts in one call."""

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        """One :class:`PolicyOutput` per request, in order; raises :class:`PolicyError` rather than drop one."""
        ...


@dataclass
class StepRecord:
    """Everything about one env step of one episode, as the trainer needs it."""

    env_index: int
    episode_id: int
    step: int
    output: PolicyOutput
    action: int | str
    """The action sent to the env (the fallback action when the reply was invalid)."""
    valid: bool
    """Whether the reply parsed to a legal action."""
    parse_error: str = ""
    answer: str = ""
    """The answer text the parser extracted (before mapping to an action)."""
    tagged: bool = False
    """Whether the reply put its answer inside ``<answer>...</answer>`` (format compliance)."""
    reward: float = math.nan
    """Env reward of this step minus the invalid-reply penalty; NaN until the env has stepped."""
    terminated: bool = False
    truncated: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt_ids(self) -> np.ndarray:
        return self.output.prompt_ids

    @property
    def response_ids(self) -> np.ndarray:
        return self.output.response_ids

    @property
    def logprobs(self) -> np.ndarray:
        return self.output.logprobs

    @property
    def mm_inputs(self) -> dict[str, np.ndarray]:
        return self.output.mm_inputs


def check_outputs(requests: Sequence[PolicyRequest], outputs: Sequence[PolicyOutput], who: str) -> list[PolicyOutput]:
    """Raise :class:`PolicyError` unless there is exactly one output per request (no step silently lost)."""
    outputs = list(outputs)
    if len(outputs) != len(requests) or any(not isinstance(o, PolicyOutput) for o in outputs):
        raise PolicyError(f"{who} returned {len(outputs)} outputs for {len(requests)} requests")
    return outputs
