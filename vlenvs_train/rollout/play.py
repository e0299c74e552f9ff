"""Exactly one episode per env from given seeds: GRPO groups (same seed repeated) and held-out evaluation.

:func:`~vlenvs_train.rollout.collect.collect_episodes` keeps envs running into new episodes; here every env
plays the one episode of its seed and then stays idle (no policy call) until the slowest env finishes. Both
run :class:`~vlenvs_train.rollout.episodes.EpisodeLoop`, so every autoreset mode works. The same episodes
come from :meth:`~vlenvs_train.rollout.pipeline.RolloutPipeline.play_seeds` with the envs on workers
(:func:`play_many_on`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.base import BatchedPolicy
from vlenvs_train.rollout.envs import EnvFactory, episode_limit
from vlenvs_train.rollout.episodes import Episode, EpisodeLoop, Part, PlaySeedsTask, VectorEnvOps, autoreset_mode_of
from vlenvs_train.rollout.pipeline import RolloutPipeline, RolloutStats

Frames = list[list[np.ndarray]]


def play_seeds(env: Any, agent: BatchedAgent, seeds: Sequence[int],
               frames: list[list[np.ndarray]] | None = None) -> list[Episode]:
    """Play one episode per env, env ``i`` seeded ``seeds[i]``; episodes returned in env order (ids ``0..n-1``).

    With ``frames`` (a list), the images each env saw (and its last one) are appended to ``frames[i]``.
    """
    n = agent.num_envs
    if len(seeds) != n or getattr(env, "num_envs", None) != n:
        raise InvalidConfigError(f"{len(seeds)} seeds for an agent of {n} envs and an env of "
                                 f"{getattr(env, 'num_envs', None)}; all three must match")
    task = PlaySeedsTask(seeds, frames is not None)
    EpisodeLoop(VectorEnvOps(env), agent, autoreset_mode_of(env), task, Part(0, 0, n, episode_limit(env))).run()
    if frames is not None:
        frames[:] = task.all_frames
    return list(task.episodes)  # type: ignore[arg-type]


def play_many(env: EnvFactory | Any, agent_config: AgentConfig, policy: BatchedPolicy, seeds: Sequence[int],
              batch: int, frames: Frames | None = None, keep_frames: int | None = None) -> list[Episode]:
    """:func:`play_seeds` over any number of seeds, ``batch`` envs at a time (the last batch may be smaller).

    ``env`` is an :class:`EnvFactory` (or anything :meth:`EnvFactory.from_config` takes). With ``frames`` (a
    list), every episode's images are appended to it (only the first ``keep_frames`` episodes' if set).
    """
    factory = env if isinstance(env, EnvFactory) else EnvFactory.from_config(env)
    envs: dict[int, Any] = {}

    def play(chunk: list[int], chunk_frames: Frames | None) -> list[Episode]:
        vec = envs.get(len(chunk)) or envs.setdefault(len(chunk), factory.make(len(chunk)))
        agent = BatchedAgent(policy, vec, replace(agent_config, seed=chunk[0]))
        return play_seeds(vec, agent, chunk, chunk_frames)

    try:
        return _in_chunks(seeds, batch, frames, keep_frames, play)
    finally:
        for vec in envs.values():
            vec.close()


def play_many_on(pipeline: RolloutPipeline, agent_config: AgentConfig, seeds: Sequence[int], batch: int,
                 frames: Frames | None = None,
                 keep_frames: int | None = None) -> tuple[list[Episode], list[RolloutStats]]:
    """:func:`play_many` with the envs on ``pipeline``'s workers and its policies (same episodes, one
    :meth:`~vlenvs_train.rollout.pipeline.RolloutPipeline.play_seeds` call per ``batch`` seeds); the episodes
    and each call's :class:`~vlenvs_train.rollout.pipeline.RolloutStats`."""
    stats: list[RolloutStats] = []

    def play(chunk: list[int], chunk_frames: Frames | None) -> list[Episode]:
        episodes = pipeline.play_seeds(chunk, chunk_frames, replace(agent_config, seed=chunk[0]))
        stats.append(pipeline.last_stats)
        return episodes

    return _in_chunks(seeds, batch, frames, keep_frames, play), stats


def _in_chunks(seeds: Sequence[int], batch: int, frames: Frames | None, keep_frames: int | None,
               play: Callable[[list[int], Frames | None], list[Episode]]) -> list[Episode]:
    """``play`` on ``batch`` seeds at a time; frames asked only of chunks with episodes still to keep."""
    episodes: list[Episode] = []
    kept: Frames = []
    for start in range(0, len(seeds), batch):
        chunk = [int(s) for s in seeds[start:start + batch]]
        want = frames is not None and (keep_frames is None or start < keep_frames)
        chunk_frames: Frames | None = [] if want else None
        episodes += play(chunk, chunk_frames)
        kept += chunk_frames or []
    if frames is not None:
        frames += kept[:keep_frames]
    return episodes
