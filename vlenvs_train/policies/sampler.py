"""What the trainer relies on in a sampler: the :class:`Sampler` protocol and its :class:`ScoringSpec`.

A trainer samples rollouts with one object and re-scores the sampled tokens with its own model. That works
only when both compute the same distribution, and when the sampler's randomness and weights can be restored
from a checkpoint. A :class:`Sampler` states all of it explicitly:

- :meth:`Sampler.generate` answers a batch of requests (the :class:`~vlenvs_train.policies.base.BatchedPolicy`
  protocol);
- :attr:`Sampler.scoring_spec` says which distribution the reported log-probs are of (temperature, banned
  token ids, penalties, log-prob mode), so the trainer can check at start-up that it re-scores the same one;
- :meth:`Sampler.update_weights` takes the trained weights and returns the new :attr:`Sampler.weight_version`;
- :meth:`Sampler.state_dict` / :meth:`Sampler.load_state_dict` hold what a checkpoint must restore: the call
  counter (per-call sampling seeds derive from it), the seed and the weight version (JSON-able values only).

The transformers (:class:`~vlenvs_train.policies.hf.HFPolicy`), vLLM engine and OpenAI-server policies
implement it; the scripted baselines (oracle, random) do not need to (nothing trains them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, Protocol, runtime_checkable

from vlenvs.core.errors import InvalidConfigError, VlenvsError
from vlenvs_train.policies.base import PolicyOutput, PolicyRequest, SamplingConfig

LogprobsMode = Literal["processed", "raw"]


class ScoringMismatchError(VlenvsError, ValueError):
    """The trainer would re-score replies under another distribution than the sampler sampled them from."""


@dataclass(frozen=True)
class ScoringSpec:
    """The distribution a sampler's reported log-probs are of (what the trainer must reproduce exactly)."""

    temperature: float = 1.0
    """Temperature the log-probs are computed at (1 for greedy decoding)."""
    suppressed_ids: tuple[int, ...] = ()
    """Token ids never sampled (their logits are -inf), sorted."""
    repetition_penalty: float = 1.0
    """Multiplicative repetition penalty (1: none)."""
    presence_penalty: float = 0.0
    """Additive presence penalty (0: none)."""
    frequency_penalty: float = 0.0
    """Additive frequency penalty (0: none)."""
    logprobs_mode: LogprobsMode = "processed"
    """``"processed"``: log-probs of the distribution sampled from (after temperature and banned ids);
    ``"raw"``: of the model's unmodified logits."""

    def __post_init__(self) -> None:
        if self.logprobs_mode not in ("processed", "raw"):
            raise InvalidConfigError(f"invalid logprobs_mode {self.logprobs_mode!r}; valid: 'processed', 'raw'")
        object.__setattr__(self, "suppressed_ids", tuple(sorted(int(i) for i in self.suppressed_ids)))

    def penalties(self) -> dict[str, float]:
        """The penalties that are not neutral (the trainer's re-scoring cannot reproduce any of them)."""
        neutral = {"repetition_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0}
        return {k: getattr(self, k) for k, v in neutral.items() if getattr(self, k) != v}

    def differences(self, other: ScoringSpec) -> dict[str, tuple[Any, Any]]:
        """``{field: (self's, other's)}`` for every field that differs."""
        return {f.name: (getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
                if getattr(self, f.name) != getattr(other, f.name)}


def check_trainable_scoring(expected: ScoringSpec, sampler_spec: ScoringSpec, who: str) -> None:
    """Raise :class:`ScoringMismatchError` unless the trainer's re-scoring (``expected``) is exactly the
    sampler's distribution: neutral penalties, processed log-probs, same temperature and banned ids."""
    problems = []
    for name, value in sampler_spec.penalties().items():
        problems.append(f"{name}={value} (the trainer re-scores without penalties; use a neutral value)")
    if sampler_spec.logprobs_mode != "processed":
        problems.append("logprobs_mode='raw' (the behaviour log-probs must be of the distribution sampled from; "
                        "for vLLM: logprobs_mode=processed_logprobs)")
    for name, (want, got) in expected.differences(sampler_spec).items():
        if name not in ("repetition_penalty", "presence_penalty", "frequency_penalty", "logprobs_mode"):
            problems.append(f"{name}: trainer {want!r} vs sampler {got!r}")
    if problems:
        raise ScoringMismatchError(f"{who} samples from a distribution the trainer cannot re-score: "
                                   + "; ".join(problems))


@runtime_checkable
class Sampler(Protocol):
    """A policy the trainer can train: sample, state its scoring, take weights, checkpoint its state."""

    sampling: SamplingConfig

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        """One output per request, in order (see :class:`~vlenvs_train.policies.base.BatchedPolicy`)."""
        ...

    @property
    def scoring_spec(self) -> ScoringSpec:
        """The distribution of the log-probs :meth:`generate` reports, at the current ``sampling``."""
        ...

    @property
    def weight_version(self) -> int:
        """How many weight updates this sampler has taken (restored by :meth:`load_state_dict`)."""
        ...

    def update_weights(self, named_params: Iterable[tuple[str, Any]]) -> int:
        """Take new weights (Hugging Face parameter names); returns the new :attr:`weight_version`."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state a checkpoint restores: ``{"calls", "seed", "weight_version"}`` at least."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s values (the seed stays the one this sampler was made with)."""
        ...


@runtime_checkable
class ReportsHealth(Protocol):
    """A sampler that reports its recoveries and weight syncs (e.g.
    :class:`~vlenvs_train.policies.openai_server.OpenAIServerPolicy`)."""

    counters: dict[str, int]
    """Running totals, e.g. failed request attempts, servers re-synced, servers a weight sync missed."""
    last_sync: dict[str, float]
    """The last weight sync's timing and reach (empty before the first)."""


def sampler_state(calls: int, seed: int | None, weight_version: int) -> dict[str, Any]:
    """The common state of every sampler, as :meth:`Sampler.state_dict` returns it."""
    return {"calls": int(calls), "seed": seed, "weight_version": int(weight_version)}


def read_sampler_state(state: Mapping[str, Any], who: str) -> tuple[int, int]:
    """``(calls, weight_version)`` from a :func:`sampler_state` mapping, checked."""
    try:
        calls, version = state["calls"], state["weight_version"]
    except (KeyError, TypeError):
        raise InvalidConfigError(f"{who}: sampler state {state!r} lacks 'calls'/'weight_version'") from None
    if not isinstance(calls, int) or not isinstance(version, int) or calls < 0 or version < 0:
        raise InvalidConfigError(f"{who}: invalid sampler state {dict(state)!r}; expected non-negative integers")
    return calls, version
