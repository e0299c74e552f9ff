"""Asynchronous, disaggregated rollouts: env shards on CPU workers, policy calls overlapped with env steps.

The ``N`` envs are split into ``S`` shards (each one vector env on a worker, see
:mod:`vlenvs_train.rollout.workers`), each driven by its own thread with its own
:class:`~vlenvs_train.adapter.agent.BatchedAgent`. A shard alternates "policy call for my ``k`` envs" and
"step/render my ``k`` envs on my worker", so while the policy generates for one shard the workers step
and render the others: with enough shards the policy never waits on the envs. Policy calls release the
GIL (HTTP, torch, sleep), env work runs in other processes (or Ray actors), so the threads overlap.

Several policies (e.g. one :class:`~vlenvs_train.policies.openai_server.OpenAIServerPolicy` per vLLM
server) are used at once: shard ``j`` uses policy ``j % P``. Each policy takes at most
``policy_concurrency`` calls at a time (1: safe for an in-process model; more for servers that batch
concurrent requests).

A worker that dies is replaced and the episodes that were running on it are restarted (from their seeds
in :meth:`RolloutPipeline.play_seeds`), never dropped; :class:`RolloutStats` and the log report it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from vlenvs.core.config import check_choice, check_float, check_int
from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.base import BatchedPolicy
from vlenvs_train.rollout.episodes import CollectTask, Episode, EpisodeLoop, PlaySeedsTask, Task
from vlenvs_train.rollout.shards import Shard, TimedPolicy
from vlenvs_train.rollout.workers import (
    BACKENDS,
    START_METHODS,
    EnvFactory,
    ShardView,
    WorkerDiedError,
    WorkerPool,
    WorkerSettings,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    """Where the envs run and how the rollout overlaps them with the policy."""

    backend: Literal["inline", "process", "ray"] = "process"
    """``"inline"``: envs in this process (threads); ``"process"``: local worker processes; ``"ray"``: Ray actors."""
    num_workers: int = 2
    """Env workers (processes or actors); shards are spread over them round-robin."""
    num_shards: int = 0
    """Vector envs the ``N`` envs are split into, i.e. policy batches per round; ``0``: ``max(2 * num_workers,
    number of policies)``, at most ``N``. At least 2 are needed to overlap the policy with the envs."""
    policy_concurrency: int = 1
    """Calls one policy object may have in flight at once (1 for an in-process model; more for a server)."""
    start_method: Literal["forkserver", "spawn"] = "forkserver"
    """How worker processes start (``backend="process"``)."""
    ray_address: str | None = None
    """Ray cluster to connect to (``backend="ray"``): ``"HOST:PORT"``, ``"auto"``, ``"ray://..."``, ``"local"``
    (a new in-process instance), or ``None`` (Ray's default: ``RAY_ADDRESS``, else a local cluster)."""
    ray_num_cpus: float = 1.0
    """Logical CPUs each Ray actor reserves (Ray's scheduling resource; fractions allowed)."""
    worker_timeout_s: float = 600.0
    """A worker that does not answer a call within this many seconds is killed and replaced."""
    max_worker_restarts: int = 10
    """Worker replacements allowed per rollout call before it gives up with :class:`WorkerDiedError`."""

    def __post_init__(self) -> None:
        check_choice("backend", self.backend, BACKENDS)
        check_choice("start_method", self.start_method, START_METHODS)
        check_int("num_workers", self.num_workers, 1, 4096)
        check_int("num_shards", self.num_shards, 0, 1 << 20)
        check_int("policy_concurrency", self.policy_concurrency, 1, 4096)
        check_float("ray_num_cpus", self.ray_num_cpus, 0.0, 1024.0)
        check_float("worker_timeout_s", self.worker_timeout_s, 1e-3, 86_400.0)
        check_int("max_worker_restarts", self.max_worker_restarts, 0, 1_000_000)
        if self.num_shards and self.num_shards < self.num_workers:
            raise InvalidConfigError(f"num_shards={self.num_shards} < num_workers={self.num_workers} leaves "
                                     "workers idle; use at least one shard per worker (or 0 for automatic)")


@dataclass
class RolloutStats:
    """What one rollout call did and where its time went."""

    episodes: int = 0
    """Episodes returned."""
    env_steps: int = 0
    """Env steps that carried a policy action (the replies recorded), those of restarted episodes included."""
    wall_s: float = 0.0
    policy_calls: tuple[int, ...] = ()
    """Calls per policy, in the order the policies were given."""
    policy_busy_s: tuple[float, ...] = ()
    """Per policy: wall time with at least one of its calls in flight."""
    policy_wait_s: float = 0.0
    """Summed over shards: time a shard waited for a free policy slot (the envs waiting on the policy)."""
    env_wait_s: float = 0.0
    """Summed over shards: time a shard waited for its worker to reset/step/render."""
    worker_restarts: int = 0
    """Workers that died and were replaced."""
    episodes_restarted: int = 0
    """Episodes that were running on a dead worker and were started again."""
    events: list[str] = field(default_factory=list)
    """One line per worker death and what was done about it."""

    @property
    def policy_idle_s(self) -> tuple[float, ...]:
        """Per policy: wall time with no call in flight, i.e. the time the policy waited on the envs."""
        return tuple(max(0.0, self.wall_s - b) for b in self.policy_busy_s)

    @property
    def env_steps_per_s(self) -> float:
        return self.env_steps / self.wall_s if self.wall_s > 0 else 0.0


class RolloutPipeline:
    """Asynchronous rollouts of ``policies`` on env shards hosted by workers (see the module docstring).

    Workers start here and are kept across calls (close the pipeline, or use it as a context manager);
    one rollout call at a time. Shards are (re)built lazily for the number of envs a call needs, and each
    call's :class:`RolloutStats` is left in :attr:`last_stats`.
    """

    def __init__(self, env: EnvFactory, policies: BatchedPolicy | Sequence[BatchedPolicy],
                 agent_config: AgentConfig = AgentConfig(), config: PipelineConfig = PipelineConfig()) -> None:
        if not isinstance(env, EnvFactory):
            raise InvalidConfigError(f"env must be an EnvFactory (picklable id + kwargs), got {type(env).__name__}")
        policies = [policies] if isinstance(policies, BatchedPolicy) else list(policies)
        if not policies or not all(isinstance(p, BatchedPolicy) for p in policies):
            raise InvalidConfigError("policies must be a BatchedPolicy or a non-empty sequence of them, got "
                                     f"{[type(p).__name__ for p in policies]}")
        if config.num_shards and config.num_shards < len(policies):
            raise InvalidConfigError(f"num_shards={config.num_shards} < {len(policies)} policies leaves policies "
                                     "unused; use at least one shard per policy")
        self.env, self.agent_config, self.config = env, agent_config, config
        self.policies = [TimedPolicy(p, config.policy_concurrency) for p in policies]
        settings = WorkerSettings(config.backend, config.start_method, config.worker_timeout_s,
                                  config.ray_address, config.ray_num_cpus)
        self.pool = WorkerPool(settings, config.num_workers)
        self.shards: list[Shard] = []
        self.stop = threading.Event()
        self.last_stats = RolloutStats()

    # ------------------------------------------------------------------ API
    def play_seeds(self, seeds: Sequence[int], frames: list[list[np.ndarray]] | None = None,
                   agent_config: AgentConfig | None = None) -> list[Episode]:
        """One episode per seed (env ``i`` seeded ``seeds[i]``), in seed order: the result of
        :func:`vlenvs_train.rollout.play.play_seeds` on one vector env of ``len(seeds)`` envs.

        Episode ids (of the episodes and their records) are the seed positions ``0..len(seeds)-1``. With
        ``frames`` (a list), ``frames[i]`` receives the images env ``i`` saw (and its last one). Episodes that
        were running on a worker that died are played again from their seeds (see :attr:`last_stats`).
        """
        if len(seeds) < 1:
            raise InvalidConfigError("play_seeds needs at least one seed")
        task = PlaySeedsTask(seeds, frames is not None)
        self._run(task, len(task.seeds), agent_config)
        assert all(e is not None for e in task.episodes), "a shard returned without all of its episodes"
        if frames is not None:
            frames[:] = task.all_frames
        return list(task.episodes)  # type: ignore[arg-type]

    def collect_episodes(self, num_envs: int, num_episodes: int, seed: int | None = None,
                         max_steps: int = 10_000, agent_config: AgentConfig | None = None) -> list[Episode]:
        """Like :func:`vlenvs_train.rollout.collect.collect_episodes` on one vector env of ``num_envs`` envs
        seeded ``seed``: the first ``num_episodes`` episodes to finish (or fewer after ``max_steps`` steps of
        every shard), in the order they finished; each env goes on into new episodes."""
        check_int("num_envs", num_envs, 1)
        check_int("num_episodes", num_episodes, 1)
        check_int("max_steps", max_steps, 1)
        task = CollectTask(num_episodes, seed, max_steps)
        self._run(task, num_envs, agent_config)
        return [e for e in task.episodes if e is not None]

    @contextlib.contextmanager
    def policies_wrapped(self, wrap: Callable[[BatchedPolicy], BatchedPolicy]) -> Iterator[None]:
        """Within the block the shards call ``wrap(policy)`` in place of each of the pipeline's policies (e.g. one
        that records the prompts it is asked); restored afterwards. The wrapper is called from
        the shard threads (several at once), so it must be thread-safe. Not during a rollout call."""
        old = [p.policy for p in self.policies]
        for p in self.policies:
            p.policy = wrap(p.policy)
        try:
            yield
        finally:
            for p, policy in zip(self.policies, old):
                p.policy = policy

    def worker_pids(self) -> list[int | None]:
        """The process id of every worker (this process for ``inline``)."""
        return self.pool.pids()

    def close(self) -> None:
        self.stop.set()
        self.pool.close()

    def __enter__(self) -> RolloutPipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ internals
    def _layout(self, num_envs: int) -> list[Shard]:
        """Shards for ``num_envs`` envs (nearly equal sizes); a shard whose size changed is reopened."""
        cfg, n_pol = self.config, len(self.policies)
        count = cfg.num_shards or min(num_envs, max(2 * cfg.num_workers, n_pol))
        if count > num_envs:
            raise InvalidConfigError(f"num_shards={count} > {num_envs} envs; use at most one shard per env")
        if count < n_pol:
            raise InvalidConfigError(f"{num_envs} envs cannot feed {n_pol} policies (one shard per policy at least)")
        while len(self.shards) < count:
            j = len(self.shards)
            self.shards.append(Shard(j, j % cfg.num_workers, self.policies[j % n_pol]))
        sizes = [len(a) for a in np.array_split(np.arange(num_envs), count)]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for shard, size, offset in zip(self.shards, sizes, offsets):
            if shard.size != size:
                shard.size, shard.generation = int(size), -1
            shard.offset, shard.env_wait_s, shard.env_steps = int(offset), 0.0, 0
        return self.shards[:count]

    def _run(self, task: Task, num_envs: int, agent_config: AgentConfig | None) -> None:
        shards = self._layout(num_envs)
        cfg = agent_config or self.agent_config
        for p in self.policies:
            p.reset_stats()
        restarts0, events0 = self.pool.restarts, len(self.pool.events)
        self.stop.clear()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(shards), thread_name_prefix="vlenvs-rollout-shard") as threads:
            futures = [threads.submit(self._drive, shard, task, cfg, restarts0) for shard in shards]
            _, pending = wait(futures, return_when=FIRST_EXCEPTION)
            if pending:  # one shard failed: stop the others, then raise its error
                self.stop.set()
                wait(pending)
        wall = time.perf_counter() - t0
        for f in futures:
            if f.exception() is not None:
                raise f.exception()  # type: ignore[misc]
        episodes = [e for e in task.episodes if e is not None]
        self.last_stats = RolloutStats(
            episodes=len(episodes), env_steps=sum(s.env_steps for s in shards), wall_s=wall,
            policy_calls=tuple(p.clock.calls for p in self.policies),
            policy_busy_s=tuple(p.clock.busy_s for p in self.policies),
            policy_wait_s=sum(p.wait_s for p in self.policies), env_wait_s=sum(s.env_wait_s for s in shards),
            worker_restarts=self.pool.restarts - restarts0, episodes_restarted=task.restarted,
            events=self.pool.events[events0:])

    def _call(self, shard: Shard, op: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.pool.call(shard.worker, shard.generation, op, shard.index, *args)
        finally:
            shard.env_wait_s += time.perf_counter() - t0

    def _open(self, shard: Shard) -> None:
        if shard.generation != self.pool.generations[shard.worker]:
            shard.generation = self.pool.generations[shard.worker]
            shard.info = self._call(shard, "open", self.env, shard.size)

    def _drive(self, shard: Shard, task: Task, cfg: AgentConfig, restarts0: int) -> None:
        """Run ``task`` on ``shard``; on a worker death replace the worker and start the running episodes again."""
        attempt = 0
        while True:
            try:
                self._open(shard)
                self._episodes(shard, task, cfg, attempt)
                return
            except WorkerDiedError as err:
                lost = int(shard.size - task.finished(shard.part).sum())
                if self.pool.restarts - restarts0 >= self.config.max_worker_restarts and \
                        shard.generation == self.pool.generations[shard.worker]:
                    raise WorkerDiedError(f"{err}; gave up after {self.config.max_worker_restarts} worker "
                                          "restarts in this rollout (max_worker_restarts)") from err
                self.pool.replace(shard.worker, shard.generation, str(err))
                with task.lock:
                    task.restarted += lost
                log.warning("shard %d: restarting its %d running episodes after: %s", shard.index, lost, err)
                attempt += 1

    def _episodes(self, shard: Shard, task: Task, cfg: AgentConfig, attempt: int) -> None:
        """The rollout of one shard: :class:`~vlenvs_train.rollout.episodes.EpisodeLoop` on its worker's env."""
        info = shard.info
        assert info is not None
        seed = None if cfg.seed is None else cfg.seed + shard.index
        agent = BatchedAgent(shard.policy, ShardView(info), replace(cfg, seed=seed))
        loop = EpisodeLoop(_ShardOps(self, shard), agent, info.autoreset_mode, task, shard.part, self.stop.is_set)
        try:
            loop.run(attempt)
        finally:
            shard.env_steps += loop.env_steps


class _ShardOps:
    """:class:`~vlenvs_train.rollout.episodes.EnvOps` of a shard: its worker's env, timed."""

    def __init__(self, pipeline: RolloutPipeline, shard: Shard) -> None:
        self.pipeline, self.shard = pipeline, shard

    def reset(self, seed: Any, mask: np.ndarray | None) -> Any:
        return self.pipeline._call(self.shard, "reset", seed, mask)

    def step(self, actions: Any) -> Any:
        return self.pipeline._call(self.shard, "step", actions)


def play_seeds_pipelined(env: EnvFactory, policies: BatchedPolicy | Sequence[BatchedPolicy], seeds: Sequence[int],
                         agent_config: AgentConfig = AgentConfig(),
                         config: PipelineConfig = PipelineConfig()) -> tuple[list[Episode], RolloutStats]:
    """One-shot :meth:`RolloutPipeline.play_seeds` (starts and stops the workers); episodes and stats."""
    with RolloutPipeline(env, policies, agent_config, config) as pipe:
        return pipe.play_seeds(seeds), pipe.last_stats

