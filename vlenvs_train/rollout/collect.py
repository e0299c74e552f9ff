"""Synchronous episode collection over a vlenvs VectorEnv: envs go on into new episodes until enough finished."""

from __future__ import annotations

from typing import Any

from vlenvs.core.config import check_int
from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import BatchedAgent
from vlenvs_train.rollout.envs import episode_limit
from vlenvs_train.rollout.episodes import CollectTask, Episode, EpisodeLoop, Part, VectorEnvOps, autoreset_mode_of

__all__ = ["Episode", "collect_episodes"]


def collect_episodes(env: Any, agent: BatchedAgent, *, num_episodes: int, max_steps: int = 10_000,
                     seed: int | None = None) -> list[Episode]:
    """Run ``env`` with ``agent`` until ``num_episodes`` episodes finished (or ``max_steps`` vector steps).

    Works with every Gymnasium autoreset mode (:class:`~vlenvs_train.rollout.episodes.EpisodeLoop`). Returns the
    first ``num_episodes`` finished episodes in the order they finished, with that order as their episode ids
    (episodes still running at the end are dropped): what
    :meth:`~vlenvs_train.rollout.pipeline.RolloutPipeline.collect_episodes` gives with one shard.
    """
    check_int("num_episodes", num_episodes, 1)
    check_int("max_steps", max_steps, 1)
    if getattr(env, "num_envs", None) != agent.num_envs:
        got = getattr(env, "num_envs", None)
        raise InvalidConfigError(f"the agent drives {agent.num_envs} envs but the env has {got}")
    task = CollectTask(num_episodes, seed, max_steps)
    part = Part(0, 0, agent.num_envs, episode_limit(env))
    EpisodeLoop(VectorEnvOps(env), agent, autoreset_mode_of(env), task, part).run()
    return [e for e in task.episodes if e is not None]
