"""What the service does to a model: forward/backward with Tinker's losses, Adam steps, checkpoints, sampling.

Every log-prob here (``forward_backward``'s outputs, ``sample``'s, prompt log-probs) is of one distribution, the
one the sampler samples from: the model's logits at the sampling temperature with the vision special tokens
banned (:class:`~vlenvs_train.policies.sampler.ScoringSpec`), computed by the trainer's scoring code. So a
client's importance ratio ``exp(logp - sampler_logp)`` is 1 on-policy, up to float rounding (tested <= 1e-4).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlenvs.core.errors import RequestError
from vlenvs_train.models.processor import end_token_ids, vision_special_token_ids
from vlenvs_train.policies.hf import generate_tokens
from vlenvs_train.policies.scoring import sequence_logprobs
from vlenvs_train.tinker_api.inputs import InputBuilder, ModelTokens
from vlenvs_train.train.update import optimizer_step
from vlenvs_train.tinker_api.losses import check_request, compute_loss
from vlenvs_train.tinker_api.wire import ForwardBackwardRequest, SampledSequence, encode_forward_backward

#: Adam hyper-parameters a request may set, with the ranges accepted.
ADAM_FIELDS = ("learning_rate", "beta1", "beta2", "eps", "weight_decay", "grad_clip_norm")


class ModelRuntime:
    """A model with its processor, the service's input builder and the sampler's scoring spec."""

    def __init__(self, model: Any, processor: Any, max_tokens: int, batch_tokens: int) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.builder = InputBuilder(processor, max_tokens, int(model.get_output_embeddings().weight.shape[0]))
        self.suppress_ids = vision_special_token_ids(self.tokenizer)
        self.end_ids = end_token_ids(self.tokenizer, getattr(model, "generation_config", None))
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else self.tokenizer.eos_token_id)
        self.batch_tokens = batch_tokens

    def micro_batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Consecutive index groups whose padded size (rows x longest) stays within ``batch_tokens``."""
        groups: list[list[int]] = []
        current: list[int] = []
        longest = 0
        for i, n in enumerate(lengths):
            if current and (len(current) + 1) * max(longest, n) > self.batch_tokens:
                groups.append(current)
                current, longest = [], 0
            current.append(i)
            longest = max(longest, n)
        if current:
            groups.append(current)
        return groups

    def logprobs(self, tokens: Sequence[ModelTokens], targets: Sequence[np.ndarray],
                 temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        return sequence_logprobs(self.model, [t.ids for t in tokens], [t.mm_inputs for t in tokens], targets,
                                 pad_id=self.pad_id, temperature=temperature, suppress_ids=self.suppress_ids)


#: Tinker's LoRA switches -> the language model's modules they put adapters on (the vision tower gets none).
LORA_TARGETS = {"train_attn": r"self_attn\.(q|k|v|o)_proj", "train_mlp": r"mlp\.(gate|up|down)_proj"}


def lora_pattern(lora: Mapping[str, Any]) -> str:
    """The ``peft`` ``target_modules`` regex of a Tinker ``LoraConfig`` (its ``train_*`` switches)."""
    parts = [pattern for key, pattern in LORA_TARGETS.items() if lora.get(key, True)]
    alternatives = [rf".*language_model\.layers\.\d+\.({'|'.join(parts)})"] if parts else []
    if lora.get("train_unembed", True):
        alternatives.append("lm_head")
    if not alternatives:
        raise RequestError("lora_config: train_attn, train_mlp and train_unembed are all off: nothing to train")
    return "|".join(f"({a})" for a in alternatives)


def untie_output_embeddings(model: Any) -> None:
    """Give the output layer its own copy of weights it shares with the input embeddings (and say so in the
    config), so an adapter merged into it does not change the input embeddings too."""
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if out is None or inp is None or out.weight.data_ptr() != inp.weight.data_ptr():
        return
    out.weight = torch.nn.Parameter(out.weight.detach().clone())
    for config in {id(c): c for c in (model.config, model.config.get_text_config())}.values():
        config.tie_word_embeddings = False


def with_lora(model: Any, lora: Mapping[str, Any]) -> Any:
    """``model`` with LoRA adapters of rank ``lora["rank"]`` (alpha = rank, no dropout; ``peft``), initialised
    from ``lora["seed"]``; only the adapters train."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise RequestError(f"LoRA (rank {lora['rank']}) needs peft (pip install 'vlenvs[tinker]'); rank=0 trains all "
                           "weights") from None
    config = LoraConfig(r=int(lora["rank"]), lora_alpha=int(lora["rank"]), lora_dropout=0.0, bias="none",
                        target_modules=lora_pattern(lora))
    if lora.get("train_unembed", True):
        untie_output_embeddings(model)
    with torch.random.fork_rng():
        torch.manual_seed(int(lora.get("seed") or 0))
        return get_peft_model(model, config)


class TrainingModel(ModelRuntime):
    """A model being trained, fp32: all its weights (``lora`` None), or LoRA adapters on its language model;
    and its AdamW state."""

    def __init__(self, model: Any, processor: Any, max_tokens: int, batch_tokens: int,
                 lora: Mapping[str, Any] | None = None) -> None:
        self.lora = {k: lora[k] for k in ("rank", "seed", "train_attn", "train_mlp", "train_unembed") if k in lora} \
            if lora else None
        super().__init__(with_lora(model, self.lora) if self.lora else model, processor, max_tokens, batch_tokens)
        self.optimizer: torch.optim.AdamW | None = None
        self.steps = 0

    def merged(self) -> Any:
        """A copy of the model with the adapters merged in (a plain model a sampler loads), or the model itself."""
        if self.lora is None:
            return self.model
        return copy.deepcopy(self.model).merge_and_unload()

    def forward_backward(self, request: ForwardBackwardRequest) -> bytes:
        """Tinker's ``forward_backward`` (or ``forward`` with ``forward_only``): gradients accumulate until
        :meth:`optim_step`; returns the ``ForwardBackwardOutput`` protobuf."""
        if not request.data:
            raise RequestError("forward_backward: no data")
        tokens = [self.builder.build(d.chunks, f"datum {i}") for i, d in enumerate(request.data)]
        lengths = [len(t.ids) for t in tokens]
        config = check_request(request.loss_fn, request.config, [d.inputs for d in request.data], lengths,
                               self.builder.vocab_size)
        logprobs: list[np.ndarray] = [np.zeros(0)] * len(tokens)
        elementwise: list[np.ndarray] = [np.zeros(0)] * len(tokens)
        total = 0.0
        self.model.train()
        try:
            for micro in self.micro_batches(lengths):
                inputs = [request.data[i].inputs for i in micro]
                with torch.set_grad_enabled(not request.forward_only):
                    logp, mask = self.logprobs([tokens[i] for i in micro], [d["target_tokens"] for d in inputs])
                    loss, per_position = compute_loss(request.loss_fn, config, logp, mask, inputs)
                    if not request.forward_only:
                        loss.backward()
                total += float(loss.detach())
                for row, i in enumerate(micro):
                    logprobs[i] = logp[row, -lengths[i]:].detach().float().cpu().numpy()
                    elementwise[i] = per_position[row, -lengths[i]:].float().cpu().numpy()
        finally:
            self.model.eval()
        return encode_forward_backward({"logprobs": logprobs, "elementwise_loss": elementwise}, {"loss:sum": total})

    def optim_step(self, adam: Mapping[str, Any]) -> dict[str, float]:
        """One AdamW step with the request's hyper-parameters on the accumulated gradients, which are then
        cleared. ``grad_clip_norm`` 0 means no clipping."""
        params = {k: float(adam[k]) for k in ADAM_FIELDS if k in adam}
        lr, b1, b2 = params.get("learning_rate", 1e-4), params.get("beta1", 0.9), params.get("beta2", 0.95)
        eps, wd, clip = params.get("eps", 1e-12), params.get("weight_decay", 0.0), params.get("grad_clip_norm", 0.0)
        if not (lr >= 0 and 0 <= b1 < 1 and 0 <= b2 < 1 and eps > 0 and wd >= 0 and clip >= 0):
            raise RequestError(f"optim_step: invalid Adam parameters {params}; need learning_rate >= 0, 0 <= beta1, "
                               "beta2 < 1, eps > 0, weight_decay >= 0, grad_clip_norm >= 0")
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        if self.optimizer is None:
            self.optimizer = torch.optim.AdamW(trainable, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        for group in self.optimizer.param_groups:
            group.update(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        norm = optimizer_step(self.model, self.optimizer, clip)  # the trainer's: clip (0: none), step, zero
        self.steps += 1
        return {"grad_norm:mean": norm, "step:max": float(self.steps)}

    def state(self, optimizer: bool = True) -> dict[str, Any]:
        state: dict[str, Any] = {"model": self.model.state_dict(),
                                 "steps": self.steps, "lora": dict(self.lora) if self.lora else None}
        if optimizer and self.optimizer is not None:
            state["optimizer"] = self.optimizer.state_dict()
        return state

    def load(self, state: Mapping[str, Any], optimizer: bool) -> None:
        if (state.get("lora") or None) != self.lora:
            raise RequestError(f"load_weights: the state was saved from a model with LoRA {state.get('lora')}, this "
                               f"model has {self.lora}")
        missing, unexpected = self.model.load_state_dict(state["model"], strict=False)
        if missing or unexpected:
            raise RequestError(f"load_weights: the checkpoint does not fit this model (missing {missing[:5]}, "
                               f"unexpected {unexpected[:5]})")
        self.model.zero_grad(set_to_none=True)
        self.optimizer, self.steps = None, int(state.get("steps", 0))
        if optimizer and "optimizer" in state:
            trainable = [p for p in self.model.parameters() if p.requires_grad]
            self.optimizer = torch.optim.AdamW(trainable)
            self.optimizer.load_state_dict(state["optimizer"])


@dataclass(frozen=True)
class SampleSpec:
    """A ``sample`` request's sampling parameters, validated."""

    temperature: float
    max_tokens: int
    stop_ids: tuple[int, ...] | None
    """Token ids that end a sample (``None``: the model's end tokens)."""


def sample_spec(params: Mapping[str, Any], max_tokens_limit: int) -> SampleSpec:
    """Validate Tinker ``SamplingParams`` (a :class:`RequestError` names what is not supported)."""
    temperature = params.get("temperature", 1.0)
    top_k, top_p = params.get("top_k", -1), params.get("top_p", 1.0)
    if top_k not in (-1, 0, None) or top_p not in (1, 1.0, None):
        raise RequestError(f"sample: top_k={top_k}, top_p={top_p}: this service samples the full distribution "
                           "only (top_k=-1, top_p=1), so its log-probs are those the trainer re-scores")
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not 0 <= temperature <= 100:
        raise RequestError(f"sample: temperature {temperature!r} out of range [0, 100]")
    max_tokens = params.get("max_tokens") or 64
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= max_tokens_limit:
        raise RequestError(f"sample: max_tokens {max_tokens!r} out of range [1, {max_tokens_limit}]")
    stop = params.get("stop")
    if stop is not None and not (isinstance(stop, list) and stop and
                                 all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in stop)):
        raise RequestError(f"sample: stop {stop!r} is not supported; valid: omitted (the model's end tokens) or a "
                           "non-empty list of token ids (stop strings are not supported)")
    return SampleSpec(float(temperature), max_tokens, tuple(sorted(set(stop))) if stop is not None else None)


class SamplerModel(ModelRuntime):
    """A frozen model that samples (transformers ``generate``) and scores prompts."""

    def sample_many(self, prompts: Sequence[tuple[ModelTokens, int, int]], spec: SampleSpec) -> list[list[SampledSequence]]:
        """Sample ``n`` replies to each ``(tokens, n, seed)`` in ONE batched ``generate``. Every reply is drawn
        from its own stream, seeded from its request's seed and its index, so it does not depend on which
        requests share the batch."""
        rows = [(t, seed, j) for t, n, seed in prompts for j in range(n)]
        seeds = [int(np.random.SeedSequence([seed, j]).generate_state(1, np.uint64)[0]) for _, seed, j in rows]
        replies = generate_tokens(self.model, [t.ids for t, _, _ in rows], [t.mm_inputs for t, _, _ in rows],
                                  pad_id=self.pad_id, temperature=spec.temperature, max_new_tokens=spec.max_tokens,
                                  suppress_ids=self.suppress_ids,
                                  end_ids=list(spec.stop_ids) if spec.stop_ids is not None else self.end_ids,
                                  seed=seeds)
        out, k = [], 0
        for _, n, _ in prompts:
            out.append([SampledSequence(r.ids, r.logprobs, r.stopped) for r in replies[k:k + n]])
            k += n
        return out

    def prompt_logprobs(self, tokens: ModelTokens) -> np.ndarray:
        """Each prompt token's log-prob given the tokens before it (NaN for the first token and for image
        tokens, which are inputs, not predictions)."""
        if tokens.image_positions[-1]:
            raise RequestError("sample: prompt log-probs of a prompt that ends with an image are not supported "
                               "(end it with the text after the image)")
        lp = np.full(len(tokens.ids), np.nan, dtype=np.float32)
        if len(tokens.ids) > 1:
            with torch.no_grad():
                logp, _ = self.logprobs([ModelTokens(tokens.ids[:-1], _prefix_mm(tokens), tokens.image_positions[:-1])],
                                        [tokens.ids[1:]])
            lp[1:] = logp[0].float().cpu().numpy()
        lp[tokens.image_positions] = np.nan
        return lp


def _prefix_mm(tokens: ModelTokens) -> dict[str, np.ndarray]:
    """The multimodal tensors of ``tokens.ids[:-1]`` (the last token is never an image pad: it is a target)."""
    mm = dict(tokens.mm_inputs)
    for key in ("mm_token_type_ids", "token_type_ids"):
        if key in mm:
            mm[key] = mm[key][:-1]
    return mm


def load_runtime(path: str | Path, device: str = "cpu") -> tuple[Any, Any]:
    """``(model, processor)`` of a model folder, fp32, in eval mode."""
    from vlenvs_train.models.processor import load_processor
    from vlenvs_train.policies.hf import load_model

    return load_model(path, "float32", device), load_processor(path)
