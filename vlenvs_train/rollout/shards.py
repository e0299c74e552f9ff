"""The pieces the pipeline's shard threads share: a timed, gated policy; a shard; what a rollout call wants.

Internal to :mod:`vlenvs_train.rollout.pipeline`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vlenvs_train.policies.base import BatchedPolicy, PolicyOutput, PolicyRequest, StepRecord
from vlenvs_train.rollout.collect import Episode
from vlenvs_train.policies.timing import BusyClock
from vlenvs_train.rollout.workers import ShardInfo


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


class Task:
    """What a rollout call wants from each shard: seeds, stopping rule, and where finished episodes go."""

    one_per_env = True
    """Each env plays one episode, then idles (``play_seeds``); else envs go on into new episodes."""

    def __init__(self, frames: bool = False) -> None:
        self.lock, self.restarted, self.frames = threading.Lock(), 0, frames
        self.episodes: list[Episode | None] = []

    def reset_seed(self, shard: Shard, attempt: int) -> int | list[int] | None:
        """Seed(s) of the shard's reset on its ``attempt``-th start (0, then 1 after a worker death, ...)."""
        raise NotImplementedError

    def max_steps(self, shard: Shard) -> int:
        raise NotImplementedError

    def enough(self) -> bool:
        """Whether the call has all it needs (every shard stops)."""
        return False

    def finished(self, shard: Shard) -> np.ndarray:
        """``bool[k]``: the shard's envs whose episode is done for good (not played again after a restart)."""
        return np.zeros(shard.size, dtype=bool)

    def finish(self, shard: Shard, i: int, records: list[StepRecord], frames: list[np.ndarray] | None) -> None:
        raise NotImplementedError


class PlaySeedsTask(Task):
    def __init__(self, seeds: Sequence[int], frames: bool) -> None:
        super().__init__(frames)
        self.seeds = [int(s) for s in seeds]
        self.episodes = [None] * len(self.seeds)
        self.all_frames: list[list[np.ndarray]] = [[] for _ in self.seeds]

    def reset_seed(self, shard: Shard, attempt: int) -> list[int]:
        return self.seeds[shard.offset:shard.offset + shard.size]

    def max_steps(self, shard: Shard) -> int:
        return shard.info.episode_limit + 1 if shard.info is not None else 1

    def finished(self, shard: Shard) -> np.ndarray:
        return np.array([self.episodes[shard.offset + i] is not None for i in range(shard.size)], dtype=bool)

    def finish(self, shard, i, records, frames) -> None:
        g = shard.offset + i
        self.episodes[g] = Episode(g, g, renumber(records, g, g))
        if frames is not None:
            self.all_frames[g] = frames


class CollectTask(Task):
    one_per_env = False

    def __init__(self, num_episodes: int, seed: int | None, max_steps: int) -> None:
        super().__init__()
        self.num_episodes, self.seed, self.steps = num_episodes, seed, max_steps

    def reset_seed(self, shard: Shard, attempt: int) -> int | None:
        return None if self.seed is None else self.seed + shard.offset + 1_000_003 * attempt

    def max_steps(self, shard: Shard) -> int:
        return self.steps

    def enough(self) -> bool:
        return len(self.episodes) >= self.num_episodes

    def finish(self, shard, i, records, frames) -> None:
        with self.lock:
            if len(self.episodes) < self.num_episodes:
                eid = len(self.episodes)
                self.episodes.append(Episode(shard.offset + i, eid, renumber(records, shard.offset + i, eid)))


def renumber(records: list[StepRecord], env_index: int, episode_id: int) -> list[StepRecord]:
    """Give a shard's records their global env index and episode id."""
    for r in records:
        r.env_index, r.episode_id = env_index, episode_id
    return records
