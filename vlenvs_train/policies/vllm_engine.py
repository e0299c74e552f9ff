"""The in-process vLLM engine backend: ``vllm.LLM`` with ``multi_modal_data``, token ids and log-probs, and
weight updates from the trainer without a restart.

Prompts are rendered once by the model's own processor (:class:`PromptEncoder`) and sent as text + images;
vLLM's prompt tokens are checked against the processor's, whose multimodal tensors are recorded. The
engine runs with ``logprobs_mode="processed_logprobs"``, so log-probs are those of the distribution it
sampled from (temperature applied, vision tokens suppressed via ``bad_words``), which is what
:func:`~vlenvs_train.policies.scoring.response_logprobs` recomputes.

vLLM is imported only when a :class:`VLLMEnginePolicy` is made. Scripts using it need an
``if __name__ == "__main__":`` guard (vLLM may spawn workers).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlenvs.core.config import check_float, check_int
from vlenvs_train.policies.base import VISION_SPECIAL_TOKENS, PolicyError, PolicyOutput, PolicyRequest
from vlenvs_train.policies.base import SamplingConfig, check_outputs
from vlenvs_train.policies.encode import PromptEncoder
from vlenvs_train.policies.sampler import ScoringSpec, read_sampler_state, sampler_state
from vlenvs_train.policies.vllm_worker import refresh_cpu_prepacked_weights


@dataclass(frozen=True)
class VLLMEngineConfig:
    """How the engine is built (anything else goes to ``vllm.LLM`` through ``extra``)."""

    dtype: str = "float32"
    """Weights/compute dtype (``float32`` makes log-probs comparable with the trainer's fp32 re-scoring)."""
    max_model_len: int = 4096
    """Longest prompt + reply in tokens."""
    max_images_per_prompt: int = 4
    """Images one prompt may carry (current image + history window)."""
    gpu_memory_utilization: float = 0.5
    """Share of GPU memory vLLM may take (GPU only)."""
    kv_cache_gib: int = 1
    """KV-cache size on CPU (``VLLM_CPU_KVCACHE_SPACE``, unless already set)."""
    in_process: bool = True
    """Run the engine core in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``): weight updates are direct."""
    seed: int = 0
    """Engine seed."""
    max_num_batched_tokens: int = 32768
    """Tokens the scheduler puts in one engine step. Prompts are never split across steps (chunked prefill is
    off): vLLM's CPU sampler cannot rewind the per-request seeded generator of a split prompt (``RuntimeError:
    CPU Generator does not use offset``), so a prompt that does not fit waits for the next step; must be at
    least ``max_model_len``."""
    extra: dict[str, Any] = field(default_factory=dict)
    """More ``vllm.LLM`` keyword arguments (they override the ones above)."""

    def __post_init__(self) -> None:
        check_int("max_model_len", self.max_model_len, 16, 10_000_000)
        check_int("max_images_per_prompt", self.max_images_per_prompt, 1, 1000)
        check_float("gpu_memory_utilization", self.gpu_memory_utilization, 0.01, 1.0)
        check_int("kv_cache_gib", self.kv_cache_gib, 1, 4096)
        check_int("max_num_batched_tokens", self.max_num_batched_tokens, self.max_model_len, 10_000_000)


class VLLMEnginePolicy:
    """Sample a batch of replies with an in-process ``vllm.LLM``.

    Args:
        model: folder or hub id of the model (the tiny model folder works).
        sampling: temperature, reply length, seed, vision-token suppression.
        config: engine settings.
    """

    def __init__(self, model: str | Path, sampling: SamplingConfig = SamplingConfig(),
                 config: VLLMEngineConfig = VLLMEngineConfig()) -> None:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.kv_cache_gib))
        if config.in_process:
            os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        import vllm

        self.sampling, self.config = sampling, config
        self.encoder = PromptEncoder.from_pretrained(model)
        self.llm = vllm.LLM(**{
            "model": str(model), "dtype": config.dtype, "max_model_len": config.max_model_len, "seed": config.seed,
            "limit_mm_per_prompt": {"image": config.max_images_per_prompt, "video": 0},
            "logprobs_mode": "processed_logprobs", "gpu_memory_utilization": config.gpu_memory_utilization,
            "enforce_eager": True, "enable_chunked_prefill": False,
            "max_num_batched_tokens": config.max_num_batched_tokens, **config.extra})
        self._vllm = vllm
        self._calls = 0
        self.weight_version = 0
        tokenizer = self.encoder.tokenizer
        vocab = tokenizer.get_vocab()
        banned = [vocab[t] for t in VISION_SPECIAL_TOKENS if t in vocab] if sampling.suppress_vision_tokens else []
        self._banned_ids = tuple(sorted(banned))

    # ------------------------------------------------------------ Sampler protocol
    @property
    def scoring_spec(self) -> ScoringSpec:
        """Processed log-probs (the engine runs with ``logprobs_mode="processed_logprobs"``), the vision
        special tokens banned (``bad_words``), no penalties (the request's explicit neutral values)."""
        return ScoringSpec(temperature=self.sampling.scoring_temperature, suppressed_ids=self._banned_ids)

    def state_dict(self) -> dict[str, Any]:
        return sampler_state(self._calls, self.sampling.seed, self.weight_version)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._calls, self.weight_version = read_sampler_state(state, "VLLMEnginePolicy")

    def _params(self, k: int, call: int) -> Any:
        s = self.sampling
        seed = None if s.seed is None else (s.seed + call * 1_000_003 + k) % (2**63)
        return self._vllm.SamplingParams(
            n=1, temperature=s.temperature, top_p=1.0, top_k=0, min_p=0.0, repetition_penalty=1.0,
            presence_penalty=0.0, frequency_penalty=0.0, max_tokens=s.max_new_tokens, logprobs=0, seed=seed,
            bad_words=list(VISION_SPECIAL_TOKENS) if s.suppress_vision_tokens else None, skip_special_tokens=True,
        )

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        if not requests:
            return []
        encoded = [self.encoder.encode(r.messages) for r in requests]
        prompts = [{"prompt": e.text, "multi_modal_data": {"image": e.images}} if e.images else {"prompt": e.text}
                   for e in encoded]
        call, self._calls = self._calls, self._calls + 1
        params = [self._params(k, call) for k in range(len(requests))]
        results = self.llm.generate(prompts, params, use_tqdm=False)
        outputs = []
        for enc, res in zip(encoded, results):
            self.encoder.check_same_prompt(enc.prompt_ids, res.prompt_token_ids, "vLLM")
            comp = res.outputs[0]
            ids = list(comp.token_ids)
            if comp.logprobs is None or len(comp.logprobs) != len(ids):
                raise PolicyError(f"vLLM returned {0 if comp.logprobs is None else len(comp.logprobs)} log-prob "
                                  f"entries for {len(ids)} tokens")
            logprobs = [step[t].logprob for t, step in zip(ids, comp.logprobs)]
            outputs.append(PolicyOutput(
                text=comp.text, prompt_ids=enc.prompt_ids, response_ids=np.asarray(ids, dtype=np.int64),
                logprobs=np.asarray(logprobs, dtype=np.float32), mm_inputs=enc.mm_inputs,
                finish_reason="length" if comp.finish_reason == "length" else "stop", weight_version=self.weight_version,
            ))
        return check_outputs(requests, outputs, "VLLMEnginePolicy")

    def update_weights(self, named_tensors: Iterable[tuple[str, Any]]) -> int:
        """Load new weights (Hugging Face parameter names, e.g. a trainer model's ``named_parameters()``)
        into the running engine in place (vLLM's ``reload_weights``), and drop everything cached with the
        old ones (prefix cache, vision-encoder outputs); returns the new weight version."""
        if not self.config.in_process:
            raise PolicyError("update_weights needs VLLMEngineConfig(in_process=True) (the engine in this process)")
        weights = [(name, t.detach().to("cpu") if hasattr(t, "detach") else t) for name, t in named_tensors]
        self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(weights),
                                                          "is_checkpoint_format": True})
        self.llm.apply_model(refresh_cpu_prepacked_weights)
        # outputs computed with the old weights: cached prefixes and vision-encoder outputs (both sides)
        self.llm.reset_prefix_cache()
        self.llm.llm_engine.reset_encoder_cache()
        self.llm.reset_mm_cache()
        self.weight_version += 1
        return self.weight_version

