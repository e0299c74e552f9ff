"""The in-process vLLM engine backend: ``vllm.LLM`` with ``multi_modal_data``, token ids and log-probs, and
weight updates from the trainer without a restart.

vLLM is the source of truth for the model's inputs: each prompt (chat template text + images) is rendered once,
by vLLM's own renderer (its tokenizer and multimodal processor), and that rendering is both what the engine
generates from and what is recorded for the trainer: the prompt ids, and the image tensors exactly as the model
sees them (vLLM may ship raw ``uint8`` patches and normalise them inside the model; the recorded
``pixel_values`` go through that same vLLM normalisation module). Images are never processed twice. The
engine runs with ``logprobs_mode="processed_logprobs"``, so log-probs are those of the distribution it
sampled from (temperature applied, vision tokens suppressed by a logits processor), which is what
:func:`~vlenvs_train.policies.scoring.response_logprobs` recomputes.

vLLM is imported only when a :class:`VLLMEnginePolicy` is made. Scripts using it need an
``if __name__ == "__main__":`` guard (vLLM may spawn workers).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlenvs.core.config import check_float, check_int
from vlenvs_train.policies.base import PolicyError, PolicyOutput, PolicyRequest
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
    mm_cache_gib: float = 1.0
    """Size of vLLM's multimodal processor cache (``mm_processor_cache_gb``), which saves re-processing an image
    seen before (history images, unchanged frames)."""
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
        check_float("mm_cache_gib", self.mm_cache_gib, 0.0, 4096.0)
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
        from vlenvs_train.models.processor import vision_special_token_ids
        from vlenvs_train.policies.vllm_logits import SuppressVisionTokens

        # the vision tokens are banned once per engine (not by vLLM tokenizing a bad_words list for every request)
        processors: list[Any] = [SuppressVisionTokens] if sampling.suppress_vision_tokens else []
        self.llm = vllm.LLM(**{
            "model": str(model), "dtype": config.dtype, "max_model_len": config.max_model_len, "seed": config.seed,
            "limit_mm_per_prompt": {"image": config.max_images_per_prompt, "video": 0},
            "logprobs_mode": "processed_logprobs", "gpu_memory_utilization": config.gpu_memory_utilization,
            "enforce_eager": True, "enable_chunked_prefill": False,
            "max_num_batched_tokens": config.max_num_batched_tokens, "mm_processor_cache_gb": config.mm_cache_gib,
            "logits_processors": processors, **config.extra})
        from vllm.config import set_current_vllm_config
        from vllm.model_executor.layers.fusion.mm_input_norm import build_mm_input_norm

        with set_current_vllm_config(self.llm.llm_engine.vllm_config):  # the model's own pixel normalisation
            self._pixel_norm = build_mm_input_norm(self.llm.llm_engine.model_config)
        self._output_kind = vllm.sampling_params.RequestOutputKind.FINAL_ONLY
        self._vllm = vllm
        self._calls = 0
        self._lock = threading.Lock()  # one generate at a time: each drives the engine until its requests finish
        self.weight_version = 0
        # the ids the processor bans (same lookup), for the scoring spec
        banned = vision_special_token_ids(self.encoder.tokenizer) if sampling.suppress_vision_tokens else []
        self._banned_ids = tuple(banned)

    # ------------------------------------------------------------ Sampler protocol
    @property
    def scoring_spec(self) -> ScoringSpec:
        """Processed log-probs (the engine runs with ``logprobs_mode="processed_logprobs"``), the vision
        special tokens banned (:class:`~vlenvs_train.policies.vllm_logits.SuppressVisionTokens`), no penalties
        (the request's explicit neutral values)."""
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
            skip_special_tokens=True,  # (vision tokens: banned by the engine's SuppressVisionTokens processor)
            output_kind=self._output_kind,
        )

    def render(self, messages: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], np.ndarray, dict[str, np.ndarray]]:
        """vLLM's rendering of one prompt: the engine input, its prompt ids and the trainer's multimodal tensors
        (``pixel_values`` as the model sees them after vLLM's normalisation, ``image_grid_thw``, and the
        processor's ``mm_token_type_ids`` when it makes them; none when ``sampling.record_inputs`` is off)."""
        text, images = self.encoder.render(messages)
        prompt: dict[str, Any] = {"prompt": text}
        if images:
            prompt["multi_modal_data"] = {"image": images}
        # skip_mm_cache: vLLM's processor-only cache, which returns the tensors of a cached image too (the default
        # sender cache leaves out those the engine core already holds, and the trainer needs them all)
        (engine_input,) = self.llm.llm_engine.renderer.render_cmpl([prompt], skip_mm_cache=True)
        ids = np.asarray(engine_input["prompt_token_ids"], dtype=np.int64)
        return engine_input, ids, self._mm_inputs(engine_input, ids) if self.sampling.record_inputs else {}

    def _mm_inputs(self, engine_input: Mapping[str, Any], ids: np.ndarray) -> dict[str, np.ndarray]:
        import torch

        items = (engine_input.get("mm_kwargs") or {}).get("image") or []
        if not items:
            return {}
        if any(item is None for item in items):
            raise PolicyError("vLLM's renderer returned an image without its tensors (a sender-side cache hit); "
                              "render with skip_mm_cache=True")
        fields = items[0].keys()
        if not {"pixel_values", "image_grid_thw"} <= set(fields):
            raise PolicyError(f"vLLM's processor returned image fields {sorted(fields)}; expected pixel_values and "
                              "image_grid_thw (a Qwen-VL style model)")
        with torch.no_grad():
            pixels = self._pixel_norm(torch.cat([item["pixel_values"].data for item in items]), torch.float32)
        mm = {"pixel_values": pixels.numpy(),
              "image_grid_thw": torch.stack([item["image_grid_thw"].data for item in items]).numpy()}
        processor = self.encoder.processor
        if "mm_token_type_ids" in getattr(processor, "model_input_names", ()):
            mm["mm_token_type_ids"] = np.asarray(processor.create_mm_token_type_ids([ids])[0], dtype=np.int64)
        return mm

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        if not requests:
            return []
        with self._lock:
            return self._generate(requests)

    def _generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        rendered = [self.render(r.messages) for r in requests]
        call, self._calls = self._calls, self._calls + 1
        engine = self.llm.llm_engine
        request_ids = [f"vlenvs-{call}-{k}" for k in range(len(requests))]
        try:
            for k, (rid, (engine_input, _, _)) in enumerate(zip(request_ids, rendered)):
                engine.add_request(rid, engine_input, self._params(k, call))
            finished: dict[str, Any] = {}
            while engine.has_unfinished_requests():
                finished.update((out.request_id, out) for out in engine.step() if out.finished)
        except BaseException:
            engine.abort_request(request_ids)
            raise
        outputs = []
        for rid, (_, prompt_ids, mm) in zip(request_ids, rendered):
            res = finished[rid]
            comp = res.outputs[0]
            ids = list(comp.token_ids)
            if comp.logprobs is None or len(comp.logprobs) != len(ids):
                raise PolicyError(f"vLLM returned {0 if comp.logprobs is None else len(comp.logprobs)} log-prob "
                                  f"entries for {len(ids)} tokens")
            logprobs = [step[t].logprob for t, step in zip(ids, comp.logprobs)]
            outputs.append(PolicyOutput(
                text=comp.text, prompt_ids=prompt_ids, response_ids=np.asarray(ids, dtype=np.int64),
                logprobs=np.asarray(logprobs, dtype=np.float32), mm_inputs=mm,
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

    def close(self) -> None:
        """Shut the engine core down now (its memory, and its process when not in-process), instead of when
        garbage collection gets to it; the policy cannot generate afterwards. Idempotent."""
        llm = self.__dict__.pop("llm", None)
        if llm is not None:
            llm.llm_engine.engine_core.shutdown()
