"""The record of one env step as the agent saw it: the policy's reply, the action sent, the env's answer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlenvs_train.chat.types import PolicyOutput


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
