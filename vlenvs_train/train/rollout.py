"""Exactly one episode per env from given seeds: GRPO groups (same seed repeated) and held-out evaluation.

:func:`~vlenvs_train.rollout.collect.collect_episodes` keeps envs running into new episodes; here every env
plays the one episode of its seed and then stays idle (no policy call) until the slowest env finishes.
The same episodes come from :meth:`~vlenvs_train.rollout.pipeline.RolloutPipeline.play_seeds` with the envs
on workers (:func:`play_many_on`; the trainer's ``rollout.backend`` other than ``"sync"``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.base import BatchedPolicy, StepRecord
from vlenvs_train.rollout.collect import Episode
from vlenvs_train.rollout.pipeline import RolloutPipeline, RolloutStats
from vlenvs_train.train.config import EnvConfig

Frames = list[list[np.ndarray]]


def make_env(config: EnvConfig, num_envs: int) -> Any:
    """The vector env of ``config`` with ``num_envs`` envs (NextStep autoreset)."""
    kwargs = dict(config.kwargs)
    if config.preset is not None:
        kwargs["preset"] = config.preset
    return gym.make_vec(config.id, num_envs=num_envs, **kwargs)


def episode_limit(env: Any) -> int:
    """Steps after which the env truncates (its config's ``episode_limit``/``max_steps``), else 1000."""
    cfg = getattr(getattr(env, "unwrapped", env), "core", None)
    cfg = getattr(cfg, "config", None)
    for name in ("episode_limit", "max_steps", "max_attempts"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 1000


def play_seeds(env: Any, agent: BatchedAgent, seeds: Sequence[int],
               frames: list[list[np.ndarray]] | None = None) -> list[Episode]:
    """Play one episode per env, env ``i`` seeded ``seeds[i]``; episodes returned in env order.

    With ``frames`` (a list), the images each env saw (and its last one) are appended to ``frames[i]``.
    """
    n = agent.num_envs
    if len(seeds) != n or getattr(env, "num_envs", None) != n:
        raise InvalidConfigError(f"{len(seeds)} seeds for an agent of {n} envs and an env of "
                                 f"{getattr(env, 'num_envs', None)}; all three must match")
    obs, info = env.reset(seed=[int(s) for s in seeds])
    agent.reset()
    if frames is not None:
        frames[:] = [[obs["image"][i].copy()] for i in range(n)]
    records: list[list[StepRecord]] = [[] for _ in range(n)]
    done = np.zeros(n, dtype=bool)
    for _ in range(episode_limit(env) + 1):
        active = ~done
        actions, _ = agent.act(obs, info, active)
        obs, reward, terminated, truncated, info = env.step(actions)
        for i, rec in enumerate(agent.observe(reward, terminated, truncated, info)):
            if rec is None:
                continue
            records[i].append(rec)
            if frames is not None:
                frames[i].append(obs["image"][i].copy())
        done |= (np.asarray(terminated) | np.asarray(truncated)) & active
        if done.all():
            break
    return [Episode(i, int(recs[0].episode_id) if recs else i, recs) for i, recs in enumerate(records)]


def play_many(env_config: EnvConfig, agent_config: AgentConfig, policy: BatchedPolicy, seeds: Sequence[int],
              batch: int, frames: Frames | None = None, keep_frames: int | None = None) -> list[Episode]:
    """:func:`play_seeds` over any number of seeds, ``batch`` envs at a time (the last batch may be smaller).

    With ``frames`` (a list), every episode's images are appended to it (only the first ``keep_frames``
    episodes' if set).
    """
    envs: dict[int, Any] = {}

    def play(chunk: list[int], chunk_frames: Frames | None) -> list[Episode]:
        env = envs.get(len(chunk)) or envs.setdefault(len(chunk), make_env(env_config, len(chunk)))
        agent = BatchedAgent(policy, env, replace(agent_config, seed=chunk[0]))
        return play_seeds(env, agent, chunk, chunk_frames)

    try:
        return _in_chunks(seeds, batch, frames, keep_frames, play)
    finally:
        for env in envs.values():
            env.close()


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
    """Success rate, mean return, invalid-action rate (per reply) and mean length of ``episodes``."""
    replies = sum(e.length for e in episodes)
    return {
        f"{prefix}success_rate": float(np.mean([e.success for e in episodes])) if episodes else 0.0,
        f"{prefix}mean_return": float(np.mean([e.total_reward for e in episodes])) if episodes else 0.0,
        f"{prefix}invalid_rate": float(sum(e.invalid_count for e in episodes) / replies) if replies else 0.0,
        f"{prefix}mean_length": float(np.mean([e.length for e in episodes])) if episodes else 0.0,
        f"{prefix}episodes": float(len(episodes)),
    }
