"""Exactly one episode per env from given seeds: GRPO groups (same seed repeated) and held-out evaluation.

:func:`~vlenvs_train.rollout.collect.collect_episodes` keeps envs running into new episodes; here every env
plays the one episode of its seed and then stays idle (no policy call) until the slowest env finishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import gymnasium as gym
import numpy as np

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.base import BatchedPolicy, StepRecord
from vlenvs_train.rollout.collect import Episode
from vlenvs_train.train.config import EnvConfig


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
              batch: int, frames: list[list[np.ndarray]] | None = None) -> list[Episode]:
    """:func:`play_seeds` over any number of seeds, ``batch`` envs at a time (the last batch may be smaller)."""
    episodes: list[Episode] = []
    envs: dict[int, Any] = {}
    for start in range(0, len(seeds), batch):
        chunk = list(seeds[start:start + batch])
        env = envs.get(len(chunk)) or envs.setdefault(len(chunk), make_env(env_config, len(chunk)))
        agent = BatchedAgent(policy, env, replace(agent_config, seed=int(chunk[0])))
        chunk_frames: list[list[np.ndarray]] | None = [] if frames is not None else None
        episodes += play_seeds(env, agent, chunk, chunk_frames)
        if frames is not None and chunk_frames is not None:
            frames += chunk_frames
    for env in envs.values():
        env.close()
    return episodes


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
