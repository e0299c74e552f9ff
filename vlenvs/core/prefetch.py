"""Episodes generated ahead, in large batches, from each env's own random stream.

Level generation (mazes, BFS fields, tasks) is batched numpy code whose cost is mostly per call.
Under autoreset a few envs reset on every step, so generating their levels one call per step would
dominate the step time. :class:`EpisodeQueue` instead keeps a small ring of future episodes per env and
refills the rings of *all* envs in one batched call when any runs dry.

Determinism is untouched: env ``i``'s ``k``-th episode is always generated from the ``k``-th block of
``draws`` uniforms of env ``i``'s generator (``rng.random(b * draws)`` is the same stream as ``b`` calls
of ``rng.random(draws)``), whoever asked and whenever. Re-seeding an env clears its ring.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


#: Default memory budget of one core's queued episodes.
PREFETCH_BYTES = 32 << 20


class EpisodeQueue:
    """Per-env rings of pre-generated episodes (each a dict of arrays with a leading episode axis)."""

    @classmethod
    def within(cls, num_envs: int, draws: int, episode_bytes: int,
               generate: Callable[[np.ndarray], dict[str, np.ndarray]], budget: int = PREFETCH_BYTES) -> EpisodeQueue:
        """A queue whose rings (up to 32 episodes each) hold about ``budget`` bytes in all."""
        capacity = int(np.clip(budget // (num_envs * episode_bytes), 1, 32))
        return cls(num_envs, draws, capacity, generate)

    def __init__(self, num_envs: int, draws: int, capacity: int,
                 generate: Callable[[np.ndarray], dict[str, np.ndarray]]) -> None:
        assert capacity >= 1 and draws >= 1
        self.num_envs, self.draws, self.capacity, self.generate = num_envs, draws, capacity, generate
        self.head = np.zeros(num_envs, dtype=np.int64)  # ring slot of the next episode
        self.count = np.zeros(num_envs, dtype=np.int64)  # episodes waiting
        self.target = np.ones(num_envs, dtype=np.int64)  # fill level of the next refill (doubles)
        self.store: dict[str, np.ndarray] | None = None  # arrays [num_envs, capacity, ...]

    def clear(self, idx: np.ndarray | slice) -> None:
        """Forget the queued episodes of ``idx`` (their generators were replaced)."""
        self.count[idx] = 0
        self.head[idx] = 0
        self.target[idx] = 1

    def pop(self, idx: np.ndarray, rngs: list[np.random.Generator]) -> dict[str, np.ndarray]:
        """The next episode of each env in ``idx`` (distinct ids), as arrays with a leading ``len(idx)`` axis."""
        if (self.count[idx] == 0).any():
            self._refill(rngs)
        slot = self.head[idx]
        self.head[idx] = (slot + 1) % self.capacity
        self.count[idx] -= 1
        assert self.store is not None
        return {k: v[idx, slot] for k, v in self.store.items()}

    def _refill(self, rngs: list[np.random.Generator]) -> None:
        """Top every env up to its target in one batched ``generate`` call."""
        add = np.maximum(self.target - self.count, 0)
        envs = np.flatnonzero(add)
        u = np.concatenate([rngs[j].random(add[j] * self.draws).reshape(add[j], self.draws) for j in envs])
        episodes = self.generate(u)
        if self.store is None:
            self.store = {k: np.zeros((self.num_envs, self.capacity, *v.shape[1:]), v.dtype)
                          for k, v in episodes.items()}
        env_of = np.repeat(envs, add[envs])
        k = np.arange(len(env_of)) - np.repeat(np.cumsum(add[envs]) - add[envs], add[envs])
        slot = (self.head[env_of] + self.count[env_of] + k) % self.capacity
        for key, arr in episodes.items():
            self.store[key][env_of, slot] = arr
        self.count[envs] += add[envs]
        self.target[envs] = np.minimum(self.target[envs] * 2, self.capacity)
