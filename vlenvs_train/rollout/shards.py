"""The pieces the pipeline's shard threads share: a timed, gated policy, and a shard.

Internal to :mod:`vlenvs_train.rollout.pipeline`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from vlenvs_train.policies.base import BatchedPolicy, PolicyOutput, PolicyRequest
from vlenvs_train.policies.timing import BusyClock
from vlenvs_train.rollout.envs import ShardInfo
from vlenvs_train.rollout.episodes import Part


class TimedPolicy:
    """A policy behind a gate of ``concurrency`` slots, timing its calls and the waits for a slot."""

    def __init__(self, policy: BatchedPolicy, concurrency: int) -> None:
        self.policy, self.gate, self.clock = policy, threading.Semaphore(concurrency), BusyClock()
        self.lock, self.wait_s = threading.Lock(), 0.0

    def reset_stats(self) -> None:
        self.clock.reset()
        self.wait_s = 0.0

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        t0 = time.perf_counter()
        with self.gate:
            with self.lock:
                self.wait_s += time.perf_counter() - t0
            with self.clock.running(len(requests)):
                return self.policy.generate(requests)


@dataclass
class Shard:
    """One vector env on one worker, with the policy that serves it."""

    index: int
    worker: int
    policy: TimedPolicy
    offset: int = 0
    size: int = 0
    generation: int = -1  # the worker generation it is open on (-1: not open)
    info: ShardInfo | None = None
    env_wait_s: float = 0.0
    env_steps: int = 0

    @property
    def part(self) -> Part:
        """The envs of the call this shard plays."""
        return Part(self.index, self.offset, self.size, self.info.episode_limit if self.info is not None else 0)
