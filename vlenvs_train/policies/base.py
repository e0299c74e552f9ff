"""The policy protocol and its records (defined in :mod:`vlenvs_train.chat.types` and
:mod:`vlenvs_train.adapter.records`, re-exported here), and how a policy samples (:class:`SamplingConfig`).

A :class:`PolicyRequest` is one env's chat prompt; a policy answers a whole batch of requests in ONE call with
one :class:`PolicyOutput` each, in request order. The adapter turns each output into a :class:`StepRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlenvs.core.config import check_float, check_int
from vlenvs_train.adapter.records import StepRecord
from vlenvs_train.chat.tokens import VISION_SPECIAL_TOKENS
from vlenvs_train.chat.types import BatchedPolicy, PolicyError, PolicyOutput, PolicyRequest, check_outputs

__all__ = ["VISION_SPECIAL_TOKENS", "BatchedPolicy", "PolicyError", "PolicyOutput", "PolicyRequest",
           "SamplingConfig", "StepRecord", "check_outputs"]


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

    record_inputs: bool = True
    """Return with each reply what the trainer re-scores it from: the multimodal tensors made for its prompt ids
    (``PolicyOutput.mm_inputs``; a server client also checks the server's prompt ids against its local
    processor). Evaluation turns it off: a server client then skips its local processor pass (the replies, prompt
    ids and log-probs are the same)."""

    def __post_init__(self) -> None:
        check_int("max_new_tokens", self.max_new_tokens, 1, 1_000_000)
        check_float("temperature", self.temperature, 0.0, 100.0)
        if self.seed is not None:
            check_int("seed", self.seed, 0, 2**63 - 1)

    @property
    def scoring_temperature(self) -> float:
        """The temperature log-probs are computed at (1 for greedy decoding)."""
        return self.temperature if self.temperature > 0 else 1.0
