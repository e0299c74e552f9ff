"""The evaluation's only bridge to the trainer's building blocks: env builder, episode loop, policy backends.

Everything else in :mod:`vlenvs_train.evaluation` goes through these functions, so a change of where the
trainer keeps ``play_many``/``EnvFactory``/``make_sampler`` is a change here only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.evaluation.config import EnvEntry, PolicyConfig
from vlenvs_train.policies.base import BatchedPolicy
from vlenvs_train.rollout.episodes import Episode
from vlenvs_train.rollout.envs import EnvFactory


class IndexReset(gym.vector.VectorWrapper):
    """Seeds are problem indices: ``reset(seed=[s0, s1, ...])`` becomes ``reset(seed=[...], options={"index":
    [s0, s1, ...]})``, so env ``i`` starts problem ``s_i`` of its split (resets without seeds draw as usual)."""

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if isinstance(seed, Sequence) and not isinstance(seed, str):
            options = {**(options or {}), "index": [None if s is None else int(s) for s in seed]}
        return self.env.reset(seed=seed, options=options)


@dataclass(frozen=True)
class IndexedEnvFactory(EnvFactory):
    """:class:`EnvFactory` whose envs start problem ``seed`` on a seeded reset (:class:`IndexReset`)."""

    def make(self, num_envs: int) -> Any:
        return IndexReset(super().make(num_envs))


def env_factory(entry: EnvEntry, by_index: bool = False) -> EnvFactory:
    """The env builder of ``entry`` (raises the typed error of an unknown id, listing the registered ones);
    ``by_index``: episode seeds are problem indices (``reset(options={"index": seed})``)."""
    cls = IndexedEnvFactory if by_index else EnvFactory
    return cls(entry.id, dict(entry.kwargs), entry.preset)


def check_env(entry: EnvEntry, by_index: bool = False) -> int | None:
    """Build one env of ``entry`` and close it: a bad preset or kwarg fails here, before any model loads.
    Returns the env's ``num_problems`` (problems in its split; ``None`` when it has no fixed list).

    ``by_index``: also reset it with ``options={"index": [0]}``, so an env without problem indices fails
    here (with its typed error naming the reset options it accepts)."""
    env = env_factory(entry, by_index).make(1)
    try:
        if by_index:
            env.reset(seed=[0])
        count = getattr(env.unwrapped, "num_problems", None)
        return int(count) if isinstance(count, int | np.integer) and count > 0 else None
    finally:
        env.close()


class EnvPool:
    """The vector envs of one run, built once per (env, seeds-or-indices, batch size) and closed by
    :meth:`close`: building a dataset env loads (and decodes) its whole split, so batches reuse it."""

    def __init__(self) -> None:
        self._envs: dict[tuple[str, bool, int], Any] = {}

    def get(self, entry: EnvEntry, size: int, by_index: bool = False) -> Any:
        key = (entry.key, by_index, size)
        if key not in self._envs:
            self._envs[key] = env_factory(entry, by_index).make(size)
        return self._envs[key]

    def close(self) -> None:
        envs, self._envs = list(self._envs.values()), {}
        for env in envs:
            env.close()

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def play_episodes(entry: EnvEntry, agent: AgentConfig, policy: BatchedPolicy, seeds: Sequence[int],
                  frames: list[list[np.ndarray]] | None = None, by_index: bool = False,
                  pool: EnvPool | None = None) -> list[Episode]:
    """One episode per seed, all envs stepped together (the trainer's ``play_many`` of one batch); with
    ``frames``, each episode's images are appended (the one each turn's prompt showed, then the last).
    ``by_index``: seeds are problem indices. ``pool``: take the env from it (else build and close one)."""
    from vlenvs_train.adapter.agent import BatchedAgent
    from vlenvs_train.rollout.play import play_seeds

    seeds = [int(s) for s in seeds]
    with EnvPool() if pool is None else nullcontext(pool) as envs:
        env = envs.get(entry, len(seeds), by_index)
        return play_seeds(env, BatchedAgent(policy, env, replace(agent, seed=seeds[0])), seeds, frames)


def api_key(config: PolicyConfig) -> str | None:
    """The API key from the environment variable ``config.api_key_env`` (never logged or stored)."""
    if config.api_key_env is None:
        return None
    key = os.environ.get(config.api_key_env)
    if not key:
        raise InvalidConfigError(f"--api-key-env {config.api_key_env!r}: that environment variable is not set "
                                 f"or empty")
    return key


def make_policy(config: PolicyConfig, chunk_seed: int = 0) -> BatchedPolicy:
    """The policy of ``config``. Scripted ``random`` is seeded by ``sample_seed + chunk_seed`` so that each
    batch of seeds plays the same whether or not the run was resumed."""
    from vlenvs_train.train.backends import scripted_policy

    if config.kind in ("oracle", "random"):
        return scripted_policy(config.kind, config.sample_seed + chunk_seed)
    if config.kind == "openai":
        from vlenvs_train.evaluation.endpoint import TextReplyServerPolicy
        from vlenvs_train.policies.base import SamplingConfig
        from vlenvs_train.policies.openai_server import ServerConfig

        server = ServerConfig(base_urls=config.base_urls, model=config.model, timeout_s=config.timeout_s,
                              max_retries=config.max_retries, max_concurrency=config.concurrency,
                              api_key=api_key(config))
        sampling = SamplingConfig(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                                  seed=config.sample_seed)
        return TextReplyServerPolicy(server, sampling=sampling)
    from vlenvs_train.train.backends import make_sampler
    from vlenvs_train.train.config import ModelConfig, SamplerConfig

    sampler = SamplerConfig(backend=config.kind, temperature=config.temperature,
                            max_new_tokens=config.max_new_tokens, seed=config.sample_seed)
    return make_sampler(sampler, ModelConfig(path=str(config.model), dtype=config.dtype, device=config.device))


def needs_fresh_policy(config: PolicyConfig) -> bool:
    """Whether each batch gets its own policy object (cheap scripted policies, seeded per batch)."""
    return config.kind in ("oracle", "random")

