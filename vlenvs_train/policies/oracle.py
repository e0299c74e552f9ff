"""Scripted policies behind the same protocol: the env's oracle (an upper bound) and uniform random.

They answer in the adapter's format (``<answer>...</answer>``) with no tokens or log-probs, so the whole
adapter path (prompt, parse, step, record) runs without a model.

The oracle reads the env's info of the current state (``PolicyRequest.hints``): ``oracle_action`` (index
into the legal actions; ``-1`` = nothing left to do, answered with ``done_action`` if legal) for discrete
envs, ``oracle_answer`` (or ``answer``) for text envs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vlenvs_train.policies.base import PolicyError, PolicyOutput, PolicyRequest

_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float32)
#: Names a "finished" action goes by, in order of preference.
DONE_ACTIONS = ("done", "stop")


def scripted_output(answer: str) -> PolicyOutput:
    return PolicyOutput(text=f"<answer>{answer}</answer>", prompt_ids=_EMPTY_I, response_ids=_EMPTY_I,
                        logprobs=_EMPTY_F)


class OraclePolicy:
    """Answers with the env's oracle action; raises :class:`PolicyError` if the env exposes no oracle."""

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        return [scripted_output(self.answer(r)) for r in requests]

    @staticmethod
    def answer(request: PolicyRequest) -> str:
        hints = request.hints
        if request.legal_actions:
            if "oracle_action" not in hints:
                raise PolicyError(f"the env's info has no 'oracle_action' (keys: {sorted(hints)})")
            a = int(hints["oracle_action"])
            if 0 <= a < len(request.legal_actions):
                return request.legal_actions[a]
            done = [d for d in DONE_ACTIONS if d in request.legal_actions]
            return done[0] if done else request.legal_actions[0]
        for key in ("oracle_answer", "answer"):
            if key in hints:
                return str(hints[key])
        raise PolicyError(f"the env's info has no 'oracle_answer'/'answer' (keys: {sorted(hints)})")


class RandomPolicy:
    """A uniformly random legal action per request (text envs: a random digit)."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        out = []
        for r in requests:
            legal = r.legal_actions
            out.append(scripted_output(legal[self.rng.integers(len(legal))] if legal else str(self.rng.integers(10))))
        return out
