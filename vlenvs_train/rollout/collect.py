"""A simple synchronous episode-collection loop over a vlenvs VectorEnv, one policy call per env step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from vlenvs.core.config import check_int
from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import BatchedAgent
from vlenvs_train.policies.base import StepRecord


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


def collect_episodes(env: Any, agent: BatchedAgent, *, num_episodes: int, max_steps: int = 10_000,
                     seed: int | None = None) -> list[Episode]:
    """Run ``env`` with ``agent`` until ``num_episodes`` episodes finished (or ``max_steps`` vector steps).

    Works with every Gymnasium autoreset mode: ``NextStep`` (the env that finished is not asked for an
    action on its reset step), ``SameStep`` and ``Disabled`` (finished envs are reset with ``reset_mask``).
    Returns the first ``num_episodes`` finished episodes in the order they finished (episodes still
    running at the end are dropped).
    """
    check_int("num_episodes", num_episodes, 1)
    check_int("max_steps", max_steps, 1)
    if getattr(env, "num_envs", None) != agent.num_envs:
        got = getattr(env, "num_envs", None)
        raise InvalidConfigError(f"the agent drives {agent.num_envs} envs but the env has {got}")
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    obs, info = env.reset(seed=seed)
    agent.reset()
    n = agent.num_envs
    current: list[list[StepRecord]] = [[] for _ in range(n)]
    finished: list[Episode] = []
    resetting = np.zeros(n, dtype=bool)  # NextStep: envs whose next step() is their reset
    for _ in range(max_steps):
        active = ~resetting
        actions, _ = agent.act(obs, info, active)
        obs, reward, terminated, truncated, info = env.step(actions)
        records = agent.observe(reward, terminated, truncated, info)
        done = (np.asarray(terminated) | np.asarray(truncated)) & active
        for i, rec in enumerate(records):
            if rec is None:
                continue
            current[i].append(rec)
            if done[i]:
                finished.append(Episode(i, rec.episode_id, current[i]))
                current[i] = []
        if len(finished) >= num_episodes:
            break
        if mode == AutoresetMode.NEXT_STEP:
            if resetting.any():
                agent.reset(resetting)  # these envs now show a new episode
            resetting = done
        elif done.any():
            if mode == AutoresetMode.DISABLED:
                obs, info = env.reset(options={"reset_mask": done})
            agent.reset(done)
    return finished[:num_episodes]
