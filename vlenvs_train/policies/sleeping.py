"""SIMULATED policy latency for benchmarks and tests: sleep, then answer with a scripted policy.

:class:`SleepingPolicy` stands in for a model server: each call sleeps ``latency_s`` (plus ``per_request_s``
per request in the batch) and then returns what ``inner`` (the env's oracle by default) answers. It does no
inference at all; its numbers measure the rollout machinery, never a model. Calls from several threads
sleep concurrently, as requests to a server with continuous batching (vLLM) overlap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from vlenvs.core.config import check_float
from vlenvs_train.policies.base import BatchedPolicy, PolicyOutput, PolicyRequest
from vlenvs_train.policies.oracle import OraclePolicy
from vlenvs_train.policies.timing import BusyClock


class SleepingPolicy:
    """A :class:`BatchedPolicy` with a fixed, simulated latency per call (and optionally per request).

    Args:
        latency_s: seconds slept per call (0..60).
        per_request_s: extra seconds slept per request of the batch (0..10).
        inner: the scripted policy that answers after the sleep (default: :class:`OraclePolicy`).

    ``clock`` counts the calls, the requests (``clock.units``) and the wall time with at least one call in
    flight (``clock.busy_s``).
    """

    def __init__(self, latency_s: float = 0.02, per_request_s: float = 0.0, inner: BatchedPolicy | None = None) -> None:
        self.latency_s = check_float("latency_s", latency_s, 0.0, 60.0)
        self.per_request_s = check_float("per_request_s", per_request_s, 0.0, 10.0)
        self.inner = inner if inner is not None else OraclePolicy()
        self.clock = BusyClock()

    @property
    def calls(self) -> int:
        return self.clock.calls

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        with self.clock.running(len(requests)):
            time.sleep(self.latency_s + self.per_request_s * len(requests))
            return self.inner.generate(requests)
