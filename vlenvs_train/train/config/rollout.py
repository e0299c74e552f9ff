"""The ``rollout`` section: where GRPO rollouts and evaluations are played (in-process or the env-worker
pipeline), validated by the pipeline's own config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vlenvs.core.config import check_choice
from vlenvs.core.errors import InvalidConfigError, out_of_range
from vlenvs_train.rollout.pipeline import PipelineConfig

ROLLOUT_BACKENDS = ("sync", "inline", "process", "ray")
_PIPELINE = PipelineConfig()  # the pipeline's defaults


@dataclass(frozen=True)
class RolloutConfig:
    """Where GRPO rollouts and evaluations are played (SFT's oracle demonstrations always play in-process).

    Every pipeline setting is validated by :class:`~vlenvs_train.rollout.pipeline.PipelineConfig` itself
    (also with ``backend="sync"``, so that a bad value is caught before switching backends).
    """

    backend: Literal["sync", "inline", "process", "ray"] = "sync"
    """``"sync"`` (the default): one vector env in this process, one sampler call per env step over all envs.
    ``"inline"``/``"process"``/``"ray"``: the asynchronous env-worker pipeline
    (:class:`~vlenvs_train.rollout.pipeline.RolloutPipeline`), envs in threads of this process, in local worker
    processes, or in Ray actors; env shards step and render while the sampler generates for other shards."""
    num_workers: int = _PIPELINE.num_workers
    """Env workers (local processes, Ray actors, or host objects for ``"inline"``)."""
    num_shards: int | None = None
    """Vector envs a rollout's envs are split into (one sampler call per shard and step); ``None``: the
    pipeline's default (``2 * num_workers``, at most one per env). With ONE shard (``num_workers: 1``) the
    sampler sees the same batches as ``"sync"`` and a seeded run is reproduced exactly; with more, batches are
    smaller and their order follows the workers' timing, so sampled replies (temperature > 0) differ from
    ``"sync"`` and between runs (greedy replies do not)."""
    ray_address: str | None = None
    """``backend="ray"``: the cluster to join (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:PORT"``, ``"local"``);
    ``None``: ``ray.init()``'s default (``RAY_ADDRESS``, else a new local Ray instance)."""
    policy_concurrency: int = _PIPELINE.policy_concurrency
    """Sampler calls in flight at once: 1 for the in-process samplers (``hf``, ``vllm_engine``); more only with
    ``sampler.backend="openai_server"`` (the servers batch concurrent requests)."""
    max_worker_restarts: int = _PIPELINE.max_worker_restarts
    """Dead workers replaced per rollout call (the episodes they ran are replayed from their seeds) before the
    run stops with :class:`~vlenvs_train.rollout.workers.WorkerDiedError`."""
    worker_timeout_s: float = _PIPELINE.worker_timeout_s
    """A worker that does not answer a call within this many seconds is killed and replaced."""

    def __post_init__(self) -> None:
        check_choice("rollout.backend", self.backend, ROLLOUT_BACKENDS)
        if self.ray_address is not None and (not isinstance(self.ray_address, str) or not self.ray_address):
            raise out_of_range("rollout.ray_address", self.ray_address,
                               "null or a Ray address such as 'auto', 'HOST:PORT', 'ray://HOST:PORT', 'local'")
        self._pipeline("inline" if self.backend == "sync" else self.backend)

    def pipeline_config(self) -> PipelineConfig | None:
        """The pipeline's config, or ``None`` for synchronous rollouts (``backend="sync"``)."""
        return None if self.backend == "sync" else self._pipeline(self.backend)

    def _pipeline(self, backend: str) -> PipelineConfig:
        try:
            return PipelineConfig(backend=backend, num_workers=self.num_workers,  # type: ignore[arg-type]
                                  num_shards=0 if self.num_shards is None else self.num_shards,
                                  policy_concurrency=self.policy_concurrency, ray_address=self.ray_address,
                                  worker_timeout_s=self.worker_timeout_s, max_worker_restarts=self.max_worker_restarts)
        except InvalidConfigError as e:
            raise InvalidConfigError(f"rollout: {e}") from None
