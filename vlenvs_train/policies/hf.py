"""The transformers backend: batched ``generate`` with any image-text-to-text model, CPU or GPU."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from vlenvs.core.errors import invalid_choice
from vlenvs_train.models.processor import end_token_ids, vision_special_token_ids
from vlenvs_train.policies.base import PolicyOutput, PolicyRequest, SamplingConfig, check_outputs
from vlenvs_train.policies.encode import PromptEncoder
from vlenvs_train.policies.sampler import ScoringSpec, read_sampler_state, sampler_state
from vlenvs_train.policies.scoring import collate, mask_logits

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(name_or_path: str | Path, dtype: str = "float32", device: str = "auto") -> Any:
    """An image-text-to-text model (Qwen2.5-VL, Qwen3-VL, the tiny model, ...) from a folder or hub id."""
    from transformers import AutoModelForImageTextToText

    if dtype not in DTYPES:
        raise invalid_choice("dtype", dtype, DTYPES)
    model = AutoModelForImageTextToText.from_pretrained(str(name_or_path), dtype=DTYPES[dtype])
    return model.to(resolve_device(device)).eval()


class HFPolicy:
    """Samples replies with ``model.generate`` for a whole batch at once (left-padded).

    Implements the trainer's :class:`~vlenvs_train.policies.sampler.Sampler` protocol. Randomness: a seeded
    policy samples call ``k`` from its own stream seeded ``seed + k`` (the global torch RNG is forked around
    ``generate`` and left as it was), so other code drawing random numbers does not change its samples and it
    changes no one else's. Penalties the model's generation config may carry (e.g. ``repetition_penalty``)
    are overridden with neutral values: log-probs are those of temperature + suppressed tokens only.

    Args:
        model: a folder or hub id, or an already loaded model (e.g. the trainer's, shared in-process).
        processor: the model's processor or its folder (loaded from ``model`` when that is a path).
        sampling: temperature, reply length, seed, vision-token suppression.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:0"``, ...
        dtype: weights' dtype when loading from a path.
    """

    def __init__(self, model: str | Path | Any, processor: Any = None, sampling: SamplingConfig = SamplingConfig(),
                 device: str = "auto", dtype: Literal["float32", "bfloat16", "float16"] = "float32") -> None:
        if isinstance(processor, (str, Path)):
            processor = PromptEncoder.from_pretrained(processor).processor
        if isinstance(model, (str, Path)):
            processor = processor if processor is not None else PromptEncoder.from_pretrained(model).processor
            model = load_model(model, dtype, device)
        elif processor is None:
            raise invalid_choice("processor", None, ["the model's processor or folder (needed with a loaded model)"])
        self.model = model
        self.encoder = PromptEncoder(processor)
        self.sampling = sampling
        tok = self.encoder.tokenizer
        self.suppress_ids = vision_special_token_ids(tok) if sampling.suppress_vision_tokens else []
        self.end_ids = end_token_ids(tok, getattr(model, "generation_config", None))
        self._calls = 0
        self._weight_version = 0
        # an unseeded policy still samples on its own streams, from a seed drawn once (not reproducible)
        self._base_seed = sampling.seed if sampling.seed is not None else int.from_bytes(os.urandom(6), "little")

    # ------------------------------------------------------------ Sampler protocol
    @property
    def scoring_spec(self) -> ScoringSpec:
        return ScoringSpec(temperature=self.sampling.scoring_temperature, suppressed_ids=tuple(self.suppress_ids))

    @property
    def weight_version(self) -> int:
        return self._weight_version

    @torch.no_grad()
    def update_weights(self, named_params: Iterable[tuple[str, Any]]) -> int:
        """Copy the given weights into this policy's model (nothing to copy for its own parameters, e.g. when
        it samples the trainer's model object itself); returns the new weight version."""
        own = dict(self.model.named_parameters())
        for name, value in named_params:
            target = own.get(name)
            if target is None:
                raise invalid_choice("parameter name", name, list(own))
            if target is not value:
                target.copy_(value.detach().to(device=target.device, dtype=target.dtype))
        self._weight_version += 1
        return self._weight_version

    def state_dict(self) -> dict[str, Any]:
        return sampler_state(self._calls, self.sampling.seed, self._weight_version)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self._calls, self._weight_version = read_sampler_state(state, "HFPolicy")

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def pad_id(self) -> int:
        return self.encoder.pad_id

    @torch.no_grad()
    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        if not requests:
            return []
        s = self.sampling
        encoded = [self.encoder.encode(r.messages) for r in requests]
        seed = (s.seed if s.seed is not None else self._base_seed) + self._calls
        replies = generate_tokens(self.model, [e.prompt_ids for e in encoded], [e.mm_inputs for e in encoded],
                                  pad_id=self.pad_id, temperature=s.temperature, max_new_tokens=s.max_new_tokens,
                                  suppress_ids=self.suppress_ids, end_ids=self.end_ids, seed=seed)
        self._calls += 1
        results = []
        for enc, reply in zip(encoded, replies):
            text = self.encoder.tokenizer.decode(reply.ids, skip_special_tokens=True)
            results.append(PolicyOutput(
                text=text, prompt_ids=enc.prompt_ids, response_ids=reply.ids, logprobs=reply.logprobs,
                mm_inputs=enc.mm_inputs, finish_reason="stop" if reply.stopped else "length",
                weight_version=self._weight_version,
            ))
        return check_outputs(requests, results, "HFPolicy")


@dataclass
class GeneratedReply:
    """One sampled reply: its token ids (the end token included when it stopped), their log-probs under the
    distribution sampled from, and whether an end token stopped it."""

    ids: np.ndarray
    logprobs: np.ndarray
    stopped: bool


@contextlib.contextmanager
def private_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Run sampling on the stream ``seed``; the global RNGs are restored afterwards."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


class RowSeededSampling:
    """A logits processor that samples every row from its own seeded stream (Gumbel-max: the argmax of
    ``logits / temperature + Gumbel noise`` is a sample of ``softmax(logits / temperature)``), so a row's sample
    depends on its seed only, not on which other prompts share its batch. Used with greedy ``generate``."""

    def __init__(self, seeds: Sequence[int], temperature: float) -> None:
        self.generators = [torch.Generator().manual_seed(int(s) % 2**63) for s in seeds]
        self.temperature = temperature

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        u = torch.stack([torch.rand(scores.shape[-1], generator=g) for g in self.generators]).to(scores.device)
        return scores.float() / self.temperature - torch.log(-torch.log(u))  # u = 0: noise -inf, never picked


@torch.no_grad()
def generate_tokens(model: Any, prompt_ids: Sequence[np.ndarray], mm_inputs: Sequence[dict[str, np.ndarray]], *,
                    pad_id: int, temperature: float, max_new_tokens: int, suppress_ids: Sequence[int],
                    end_ids: Sequence[int], seed: int | Sequence[int]) -> list[GeneratedReply]:
    """Sample one reply per prompt with ``model.generate`` in one left-padded batch.

    ``seed``: one stream for the batch (an int: ``generate``'s own sampling, forked from the global RNG), or one
    seed per prompt (:class:`RowSeededSampling`: each reply independent of the batch it is in). Log-probs are of
    the distribution sampled from: temperature (1 when greedy) and ``suppress_ids`` banned; the model's
    generation-config penalties and truncations are overridden with neutral values.
    """
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    batch = collate(prompt_ids, mm_inputs, pad_id, device=device, dtype=dtype)
    per_row = not isinstance(seed, (int, np.integer))
    if per_row and len(seed) != len(prompt_ids):
        raise ValueError(f"{len(seed)} seeds for {len(prompt_ids)} prompts")
    sample = temperature > 0 and not per_row
    neutral = dict(top_k=0, top_p=1.0, typical_p=1.0, min_p=0.0, epsilon_cutoff=0.0, eta_cutoff=0.0) if sample else {}
    processors = [RowSeededSampling(seed, temperature)] if per_row and temperature > 0 else []
    with private_rng(0 if per_row else int(seed), device):
        out = model.generate(
            **batch, do_sample=sample, temperature=temperature if sample else None, **neutral,
            repetition_penalty=1.0, no_repeat_ngram_size=0, min_new_tokens=0, max_new_tokens=max_new_tokens,
            suppress_tokens=list(suppress_ids) or None, eos_token_id=list(end_ids), pad_token_id=pad_id,
            logits_processor=processors or None, output_scores=not per_row, output_logits=per_row,
            return_dict_in_generate=True,
        )
    new = out.sequences[:, batch["input_ids"].shape[1]:]
    if per_row:  # the noise is not part of the distribution: log-probs from the raw logits, as the trainer scores
        scores = mask_logits(torch.stack(out.logits, dim=1), temperature if temperature > 0 else 1.0, suppress_ids)
    else:
        scores = torch.stack(out.scores, dim=1).float()  # scores: the sampler's logits
    logp = torch.log_softmax(scores, dim=-1)
    picked = logp.gather(-1, new[:, : logp.shape[1]].unsqueeze(-1)).squeeze(-1).cpu().numpy()
    new = new.cpu().numpy()
    ends = set(int(e) for e in end_ids)
    replies = []
    for row in range(len(prompt_ids)):
        tokens = new[row]
        stop = next((i for i, t in enumerate(tokens) if int(t) in ends), None)
        n = len(tokens) if stop is None else stop + 1
        replies.append(GeneratedReply(tokens[:n].astype(np.int64), picked[row, :n].astype(np.float32), stop is not None))
    return replies
