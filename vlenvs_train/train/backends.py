"""The trainer's model and its sampler: load, build any policy backend, sync weights, evaluate.

Samplers (:class:`~vlenvs_train.policies.sampler.Sampler`): ``hf`` generates with the trained model object
itself (weight sync copies nothing), ``vllm_engine`` receives the trained weights in place after every update
(``update_weights``), ``openai_server`` samples from running vLLM servers, which load the trained weights from a
shared folder after every update (:mod:`~vlenvs_train.policies.server_sync`). Scripted baselines: ``oracle``
(upper bound), ``random``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vlenvs.core.errors import invalid_choice
from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.policies.base import BatchedPolicy, SamplingConfig
from vlenvs_train.policies.oracle import OraclePolicy, RandomPolicy
from vlenvs_train.policies.sampler import ReportsHealth, Sampler
from vlenvs_train.rollout.pipeline import RolloutPipeline
from vlenvs_train.train.config import EnvConfig, EvalConfig, ModelConfig, SamplerConfig
from vlenvs_train.train.rollout import episode_metrics, pipeline_metrics, play_many, play_many_on
from vlenvs_train.viewer import PromptRecorder, write_viewer

POLICIES = ("model", "oracle", "random")


def model_path(config: ModelConfig) -> Path | str:
    """The model folder: the tiny model (built once into the cache) or the configured folder / hub id."""
    if config.path == "tiny":
        from vlenvs_train.models.tiny import TinyVLMConfig, tiny_vlm_path

        return tiny_vlm_path(config=TinyVLMConfig(**config.tiny))
    return config.path


def load_trainable(config: ModelConfig) -> tuple[Any, Any]:
    """``(model, processor)`` ready to train (eval mode until an update; gradient checkpointing if asked)."""
    from vlenvs_train.models.processor import load_processor
    from vlenvs_train.policies.hf import load_model

    path = model_path(config)
    model = load_model(path, config.dtype, config.device)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return model, load_processor(path)


def sampling_config(config: SamplerConfig, temperature: float | None = None) -> SamplingConfig:
    return SamplingConfig(max_new_tokens=config.max_new_tokens, seed=config.seed,
                          temperature=config.temperature if temperature is None else temperature)


def make_sampler(config: SamplerConfig, model_config: ModelConfig, model: Any = None, processor: Any = None,
                 weight_sync_dir: str | Path | None = None) -> Any:
    """The rollout policy of ``config.backend`` (``hf`` shares ``model``, the others load their own copy;
    ``openai_server`` writes synced weights to ``server.weight_sync_dir``, else to ``weight_sync_dir``)."""
    sampling = sampling_config(config)
    if config.backend == "hf":
        from vlenvs_train.policies.hf import HFPolicy

        return HFPolicy(model if model is not None else model_path(model_config), processor, sampling,
                        device=model_config.device, dtype=model_config.dtype)
    if config.backend == "vllm_engine":
        from vlenvs_train.policies.vllm_engine import VLLMEngineConfig, VLLMEnginePolicy

        return VLLMEnginePolicy(model_path(model_config), sampling, VLLMEngineConfig(**config.vllm))
    if config.backend == "openai_server":
        from vlenvs_train.policies.openai_server import OpenAIServerPolicy, ServerConfig

        server = dict(config.server)
        if "base_urls" in server:
            server["base_urls"] = tuple(server["base_urls"])
        return OpenAIServerPolicy(ServerConfig(**server), processor or str(model_path(model_config)), sampling,
                                  weight_sync_dir=weight_sync_dir)
    raise invalid_choice("sampler.backend", config.backend, ("hf", "vllm_engine", "openai_server"))


def sync_weights(sampler: Any, model: Any) -> int:
    """Give the sampler the trained weights (:meth:`~vlenvs_train.policies.sampler.Sampler.update_weights`;
    nothing is copied when it samples ``model`` itself); returns its new weight version."""
    if not isinstance(sampler, Sampler):
        raise invalid_choice("sampler for training", type(sampler).__name__,
                             ["a Sampler (vlenvs_train.policies.sampler): HFPolicy, VLLMEnginePolicy, "
                              "OpenAIServerPolicy"])
    return sampler.update_weights(model.named_parameters())


def sampler_counters(sampler: Any) -> dict[str, float]:
    """The sampler's recovery counters (running totals, keys prefixed ``sampler_``) and its last weight sync's
    timing and reach (``server_sync_*``), for the metrics; empty for samplers that keep none."""
    out: dict[str, float] = {}
    if isinstance(sampler, ReportsHealth):
        out.update({f"sampler_{k}": float(v) for k, v in sampler.counters.items()})
        out.update({f"server_sync_{k}": float(v) for k, v in sampler.last_sync.items()})
    return out


@contextlib.contextmanager
def evaluation_sampling(policy: Any, value: float) -> Iterator[Any]:
    """Temporarily sample ``policy`` as an evaluation does: at another temperature (greedy by default) and
    without recording the trainer's inputs (``SamplingConfig.record_inputs``: nothing is re-scored)."""
    old = getattr(policy, "sampling", None)
    if old is None:
        yield policy
        return
    policy.sampling = dataclasses.replace(old, temperature=value, record_inputs=False)
    try:
        yield policy
    finally:
        policy.sampling = old


def scripted_policy(name: str, seed: int = 0) -> BatchedPolicy:
    if name == "oracle":
        return OraclePolicy()
    if name == "random":
        return RandomPolicy(seed)
    raise invalid_choice("policy", name, POLICIES)


def held_out_seeds(config: EvalConfig, episodes: int | None = None) -> list[int]:
    return list(range(config.seed, config.seed + (episodes if episodes is not None else config.episodes)))


def evaluate(policy: BatchedPolicy, env: EnvConfig, agent: AgentConfig, config: EvalConfig,
             episodes: int | None = None, frames: list[list[np.ndarray]] | None = None,
             seeds: Sequence[int] | None = None, pipeline: RolloutPipeline | None = None,
             viewer: str | Path | None = None, viewer_title: str = "vlenvs evaluation") -> dict[str, float]:
    """Success rate, mean return, invalid-action rate and mean episode length (keys prefixed ``eval_``) on the
    held-out seeds, at ``config.temperature``; ``frames`` collects the first ``gif_episodes`` episodes' images.

    With ``pipeline`` (whose policy is ``policy``), the episodes are played on its env workers, and the
    :func:`~vlenvs_train.train.rollout.pipeline_metrics` of those calls are added (keys ``rollout_*``).

    With ``viewer`` (a path) and ``config.viewer_episodes > 0``, the first ``viewer_episodes`` episodes are
    written there as a trajectory viewer (:func:`~vlenvs_train.viewer.write_viewer`, atomically): their frames
    (collected in the same play as the GIF's, ``max(gif_episodes, viewer_episodes)`` episodes' worth) and each
    turn's prompt, recorded by a :class:`~vlenvs_train.viewer.PromptRecorder` around ``policy`` for this
    evaluation only (on the pipeline too: its shards call the recorder from their threads). The recorder
    passes the requests and replies through unchanged, so the metrics are those of an evaluation without it.
    """
    seeds = list(seeds) if seeds is not None else held_out_seeds(config, episodes)
    shown = min(config.viewer_episodes, len(seeds)) if viewer is not None else 0
    gif = config.gif_episodes if frames is not None else 0
    keep = max(gif, shown)
    played: list[list[np.ndarray]] | None = [] if keep else None
    recorder = PromptRecorder(policy) if shown else None
    extra: dict[str, float] = {}
    with evaluation_sampling(policy, config.temperature):  # on the policy itself: the recorder only forwards calls
        if pipeline is None:
            eps = play_many(env, agent, recorder or policy, seeds, config.batch, played, keep)
        else:
            wrapped = (pipeline.policies_wrapped(lambda p: recorder if p is policy else p) if recorder is not None
                       else contextlib.nullcontext())
            with wrapped:
                eps, stats = play_many_on(pipeline, agent, seeds, config.batch, played, keep)
            extra = pipeline_metrics(stats)
    if frames is not None:
        frames += (played or [])[:gif]
    if shown:
        write_viewer(eps, viewer, title=viewer_title, frames=played, env_id=env.id, seeds=seeds, recorder=recorder,
                     max_episodes=shown)
    return {**episode_metrics(eps, prefix="eval_"), **extra}
