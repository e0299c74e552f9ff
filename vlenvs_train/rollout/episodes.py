"""THE episode loop of vlenvs_train: one policy call per env step over a vector env, for every autoreset mode.

:class:`EpisodeLoop` drives one vector env (in this process, or a shard on an env worker) with one
:class:`~vlenvs_train.adapter.agent.BatchedAgent` and owns the autoreset bookkeeping of Gymnasium's three
modes: ``NextStep`` (an env that finished is not asked for an action on its reset step), ``SameStep`` (it
resets inside the step) and ``Disabled`` (the loop resets it with ``reset_mask``). What a caller wants is a
:class:`Task`: :class:`PlaySeedsTask` (each env plays the one episode of its seed, then idles: GRPO groups and
evaluation) or :class:`CollectTask` (envs go on into new episodes until enough finished). Every caller uses it:
:func:`~vlenvs_train.rollout.collect.collect_episodes`, :func:`~vlenvs_train.rollout.play.play_seeds`, the
pipeline's shards (:mod:`vlenvs_train.rollout.pipeline`) and the SkyRL adapter (one :meth:`EpisodeLoop.step`
per model reply), so they all give the same episodes for the same seeds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from gymnasium.vector import AutoresetMode

from vlenvs_train.adapter.agent import BatchedAgent
from vlenvs_train.adapter.records import StepRecord


@dataclass
class Episode:
    """One finished episode of one env: its step records in order."""

    env_index: int
    episode_id: int
    records: list[StepRecord] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.records)

    @property
    def total_reward(self) -> float:
        return float(sum(r.reward for r in self.records))

    @property
    def success(self) -> bool:
        return bool(self.records and self.records[-1].info.get("success", False))

    @property
    def invalid_count(self) -> int:
        return sum(not r.valid for r in self.records)

    @property
    def terminated(self) -> bool:
        return bool(self.records and self.records[-1].terminated)

    @property
    def truncated(self) -> bool:
        return bool(self.records and self.records[-1].truncated)


@dataclass(frozen=True)
class Part:
    """The envs one loop drives: ``size`` envs that are envs ``offset..offset+size-1`` of the whole call."""

    index: int
    offset: int
    size: int
    episode_limit: int
    """Steps after which the env truncates (a loop playing one episode per env stops one step later)."""


class EnvOps(Protocol):
    """The two calls the loop makes on a vector env (directly, or on a worker that hosts it)."""

    def reset(self, seed: int | list[int | None] | None, mask: np.ndarray | None) -> tuple[Any, dict]: ...

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]: ...


class VectorEnvOps:
    """:class:`EnvOps` of a vector env in this process."""

    def __init__(self, env: Any) -> None:
        self.env = env

    def reset(self, seed: int | list[int | None] | None = None, mask: np.ndarray | None = None):
        """``env.reset(seed=seed)``, or only the envs of ``mask`` (``reset_mask``)."""
        options = None if mask is None else {"reset_mask": np.asarray(mask, dtype=bool)}
        return self.env.reset(seed=seed, options=options)

    def step(self, actions: Any):
        return self.env.step(actions)


def autoreset_mode_of(env: Any) -> AutoresetMode:
    """The env's autoreset mode (Gymnasium's default, ``NextStep``, if it does not say)."""
    return AutoresetMode(env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))


class Task:
    """What a rollout call wants from each part: seeds, stopping rule, and where finished episodes go."""

    one_per_env = True
    """Each env plays one episode, then idles (``play_seeds``); else envs go on into new episodes."""

    def __init__(self, frames: bool = False) -> None:
        self.lock, self.restarted, self.frames = threading.Lock(), 0, frames
        self.episodes: list[Episode | None] = []

    def reset_seed(self, part: Part, attempt: int) -> int | list[int | None] | None:
        """Seed(s) of the part's reset on its ``attempt``-th start (0, then 1 after a worker death, ...)."""
        raise NotImplementedError

    def max_steps(self, part: Part) -> int:
        raise NotImplementedError

    def enough(self) -> bool:
        """Whether the call has all it needs (every part stops)."""
        return False

    def finished(self, part: Part) -> np.ndarray:
        """``bool[k]``: the part's envs whose episode is done for good (not played again after a restart)."""
        return np.zeros(part.size, dtype=bool)

    def finish(self, part: Part, i: int, records: list[StepRecord], frames: list[np.ndarray] | None) -> None:
        raise NotImplementedError


class PlaySeedsTask(Task):
    """One episode per seed, env ``i`` of the call seeded ``seeds[i]``; episode ``i`` has id ``i``."""

    def __init__(self, seeds: Sequence[int | None], frames: bool = False) -> None:
        super().__init__(frames)
        self.seeds = [None if s is None else int(s) for s in seeds]
        self.episodes = [None] * len(self.seeds)
        self.all_frames: list[list[np.ndarray]] = [[] for _ in self.seeds]

    def reset_seed(self, part: Part, attempt: int) -> list[int | None]:
        return self.seeds[part.offset:part.offset + part.size]

    def max_steps(self, part: Part) -> int:
        return part.episode_limit + 1

    def finished(self, part: Part) -> np.ndarray:
        return np.array([self.episodes[part.offset + i] is not None for i in range(part.size)], dtype=bool)

    def finish(self, part, i, records, frames) -> None:
        g = part.offset + i
        self.episodes[g] = Episode(g, g, renumber(records, g, g))
        if frames is not None:
            self.all_frames[g] = frames


class CollectTask(Task):
    """The first ``num_episodes`` episodes to finish (ids in finishing order); envs go on into new episodes."""

    one_per_env = False

    def __init__(self, num_episodes: int, seed: int | None, max_steps: int) -> None:
        super().__init__()
        self.num_episodes, self.seed, self.steps = num_episodes, seed, max_steps

    def reset_seed(self, part: Part, attempt: int) -> int | None:
        return None if self.seed is None else self.seed + part.offset + 1_000_003 * attempt

    def max_steps(self, part: Part) -> int:
        return self.steps

    def enough(self) -> bool:
        return len(self.episodes) >= self.num_episodes

    def finish(self, part, i, records, frames) -> None:
        with self.lock:
            if len(self.episodes) < self.num_episodes:
                eid = len(self.episodes)
                self.episodes.append(Episode(part.offset + i, eid, renumber(records, part.offset + i, eid)))


def renumber(records: list[StepRecord], env_index: int, episode_id: int) -> list[StepRecord]:
    """Give a part's records their env index and episode id in the whole call."""
    for r in records:
        r.env_index, r.episode_id = env_index, episode_id
    return records


class EpisodeLoop:
    """One vector env of ``part.size`` envs, one agent, one task: :meth:`run` plays it to the end, or a caller
    drives it with :meth:`start` and one :meth:`step` at a time (e.g. one per model reply).

    ``stop`` (optional) is checked before every step: a set event ends the loop early.
    """

    def __init__(self, env: EnvOps, agent: BatchedAgent, autoreset_mode: AutoresetMode | str, task: Task,
                 part: Part, stop: Callable[[], bool] | None = None) -> None:
        self.env, self.agent, self.task, self.part = env, agent, task, part
        self.mode = AutoresetMode(autoreset_mode)
        self.stop = stop or (lambda: False)
        self.env_steps = 0
        """Env steps that carried a policy action (records made)."""
        self.obs: Any = None
        self.info: dict[str, Any] = {}
        self.last_step: tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]] | None = None
        """``(reward, terminated, truncated, info)`` of the last env step (before any reset the loop then made)."""
        self.records: list[StepRecord | None] = []
        """The records of the last step (``None`` for envs that did not act)."""

    def run(self, attempt: int = 0) -> None:
        """Start, step until the task has what it needs (or the step limit), then hand in unfinished episodes."""
        self.start(attempt)
        for _ in range(self.task.max_steps(self.part)):
            if not self.step():
                break
        self.finish_unfinished()

    def start(self, attempt: int = 0) -> None:
        """Reset the env (with the task's seeds) and the agent."""
        k = self.part.size
        self.obs, self.info = self.env.reset(self.task.reset_seed(self.part, attempt), None)
        self.agent.reset()
        self.idle = self.task.finished(self.part)  # one per env: envs whose episode is done (kept across restarts)
        self.resetting = np.zeros(k, dtype=bool)  # NextStep: envs whose next step() is their reset
        self.current: list[list[StepRecord]] = [[] for _ in range(k)]
        self.frames = [[im.copy()] for im in self.obs["image"]] if self.task.frames else None

    @property
    def active(self) -> np.ndarray:
        """``bool[k]``: the envs the next step asks the policy for."""
        return ~self.resetting & ~self.idle

    def _last_image(self, obs: Any, info: Any, i: int, ended: bool) -> np.ndarray:
        """The image env ``i`` shows after this step: under SameStep, an env whose episode just ended already
        shows its next episode's reset observation, and the episode's own last one is ``info["final_obs"]``."""
        if ended and self.mode == AutoresetMode.SAME_STEP:
            return np.asarray(info["final_obs"][i]["image"]).copy()
        return obs["image"][i].copy()

    def step(self) -> bool:
        """One policy call for the active envs and one env step; ``False`` (nothing done) when the loop is over."""
        if self.stop() or self.task.enough() or self.idle.all():
            return False
        active = self.active  # may be empty: NextStep envs all on their reset step still step
        actions, _ = self.agent.act(self.obs, self.info, active)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.last_step = (reward, terminated, truncated, info)
        ended = np.asarray(terminated) | np.asarray(truncated)
        done = ended & active
        self.records = self.agent.observe(reward, terminated, truncated, info)
        for i, rec in enumerate(self.records):
            if rec is None:
                continue
            self.env_steps += 1
            self.current[i].append(rec)
            if self.frames is not None:
                self.frames[i].append(self._last_image(obs, info, i, ended[i]))
            if done[i]:
                self.task.finish(self.part, i, self.current[i], self.frames[i] if self.frames is not None else None)
                self.current[i] = []
        if self.task.one_per_env:
            self.idle |= done
        if self.mode == AutoresetMode.NEXT_STEP:
            if self.resetting.any():
                self.agent.reset(self.resetting)  # these envs now show a new episode
            self.resetting = done
        elif ended.any():
            if self.mode == AutoresetMode.DISABLED and not self.idle.all():
                obs, info = self.env.reset(None, ended)  # idle envs too: the env steps every env
            self.agent.reset(done)
        self.obs, self.info = obs, info
        return True

    def finish_unfinished(self) -> None:
        """One episode per env: hand in the episodes the step limit cut off, as they are."""
        if self.task.one_per_env:
            for i in np.flatnonzero(~self.idle):
                frames = self.frames[i] if self.frames is not None else None
                self.task.finish(self.part, int(i), self.current[i], frames)
