"""The evaluation's only bridge to the trainer's building blocks: env builder, episode loop, policy backends.

Everything else in :mod:`vlenvs_train.evaluation` goes through these functions, so a change of where the
trainer keeps ``play_many``/``EnvFactory``/``make_sampler`` is a change here only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
import numpy as np

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.evaluation.config import EnvEntry, PolicyConfig
from vlenvs_train.policies.base import BatchedPolicy
from vlenvs_train.rollout.episodes import Episode
from vlenvs_train.rollout.envs import EnvFactory


def env_factory(entry: EnvEntry) -> EnvFactory:
    """The env builder of ``entry`` (raises the typed error of an unknown id, listing the registered ones)."""
    return EnvFactory(entry.id, dict(entry.kwargs), entry.preset)


def check_env(entry: EnvEntry) -> None:
    """Build one env of ``entry`` and close it: a bad preset or kwarg fails here, before any model loads."""
    env_factory(entry).make(1).close()


def play_episodes(entry: EnvEntry, agent: AgentConfig, policy: BatchedPolicy, seeds: Sequence[int],
                  frames: list[list[np.ndarray]] | None = None) -> list[Episode]:
    """One episode per seed, all envs stepped together; with ``frames``, each episode's images are appended
    (the one each turn's prompt showed, then the last)."""
    from vlenvs_train.rollout.play import play_many

    return play_many(env_factory(entry), agent, policy, list(seeds), len(seeds), frames)


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

