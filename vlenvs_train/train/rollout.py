"""The trainer's rollout helpers: its env (:class:`~vlenvs_train.rollout.envs.EnvFactory`), metrics of
episodes and of pipeline calls, and the one-episode-per-seed play of :mod:`vlenvs_train.rollout.play`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vlenvs_train.rollout.envs import EnvFactory, episode_limit
from vlenvs_train.rollout.episodes import Episode
from vlenvs_train.rollout.pipeline import RolloutStats
from vlenvs_train.rollout.play import play_many, play_many_on, play_seeds
from vlenvs_train.train.config import EnvConfig

__all__ = ["episode_limit", "episode_metrics", "make_env", "pipeline_metrics", "play_many", "play_many_on",
           "play_seeds"]


def make_env(config: EnvConfig, num_envs: int) -> Any:
    """The vector env of ``config`` with ``num_envs`` envs, built by :class:`EnvFactory`."""
    return EnvFactory.from_config(config).make(num_envs)


def pipeline_metrics(stats: Sequence[RolloutStats]) -> dict[str, float]:
    """Of pipeline rollout calls: workers replaced, episodes replayed because of it, and the fraction of the
    wall time the sampler sat idle waiting on the envs (averaged over the pipeline's policies)."""
    wall = sum(s.wall_s * len(s.policy_busy_s) for s in stats)
    return {
        "rollout_worker_restarts": float(sum(s.worker_restarts for s in stats)),
        "rollout_episodes_restarted": float(sum(s.episodes_restarted for s in stats)),
        "rollout_policy_idle_frac": sum(sum(s.policy_idle_s) for s in stats) / wall if wall > 0 else 0.0,
    }


def episode_metrics(episodes: Sequence[Episode], prefix: str = "") -> dict[str, float]:
    """Success rate, mean return, invalid-action rate and ungradable rate (replies the env's grader refused,
    ``info["ungradable"]``; both per reply) and mean length of ``episodes``."""
    replies = sum(e.length for e in episodes)
    refused = sum(bool(r.info.get("ungradable", False)) for e in episodes for r in e.records)
    return {
        f"{prefix}success_rate": float(np.mean([e.success for e in episodes])) if episodes else 0.0,
        f"{prefix}mean_return": float(np.mean([e.total_reward for e in episodes])) if episodes else 0.0,
        f"{prefix}invalid_rate": float(sum(e.invalid_count for e in episodes) / replies) if replies else 0.0,
        f"{prefix}ungradable_rate": float(refused / replies) if replies else 0.0,
        f"{prefix}mean_length": float(np.mean([e.length for e in episodes])) if episodes else 0.0,
        f"{prefix}episodes": float(len(episodes)),
    }
