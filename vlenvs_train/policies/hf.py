"""The transformers backend: batched ``generate`` with any image-text-to-text model, CPU or GPU."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from vlenvs.core.errors import invalid_choice
from vlenvs_train.models.processor import end_token_ids, vision_special_token_ids
from vlenvs_train.policies.base import PolicyOutput, PolicyRequest, SamplingConfig, check_outputs
from vlenvs_train.policies.encode import PromptEncoder
from vlenvs_train.policies.sampler import ScoringSpec, read_sampler_state, sampler_state
from vlenvs_train.policies.scoring import collate

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

    @contextlib.contextmanager
    def _private_rng(self) -> Iterator[None]:
        """Run sampling on this policy's own stream; the global RNGs are restored afterwards."""
        cuda = [self.device] if self.device.type == "cuda" else []
        seed = self.sampling.seed if self.sampling.seed is not None else self._base_seed
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed + self._calls)
            yield

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
        dtype = next(self.model.parameters()).dtype
        batch = collate([e.prompt_ids for e in encoded], [e.mm_inputs for e in encoded], self.pad_id,
                        device=self.device, dtype=dtype)
        sample = s.temperature > 0
        neutral = dict(top_k=0, top_p=1.0, typical_p=1.0, min_p=0.0, epsilon_cutoff=0.0, eta_cutoff=0.0) if sample \
            else {}
        with self._private_rng():
            out = self.model.generate(
                **batch, do_sample=sample, temperature=s.temperature if sample else None, **neutral,
                repetition_penalty=1.0, no_repeat_ngram_size=0, min_new_tokens=0, max_new_tokens=s.max_new_tokens,
                suppress_tokens=self.suppress_ids or None, eos_token_id=self.end_ids, pad_token_id=self.pad_id,
                output_scores=True, return_dict_in_generate=True,
            )
        self._calls += 1
        new = out.sequences[:, batch["input_ids"].shape[1]:]
        logp = torch.log_softmax(torch.stack(out.scores, dim=1).float(), dim=-1)  # scores: the sampler's logits
        picked = logp.gather(-1, new[:, : logp.shape[1]].unsqueeze(-1)).squeeze(-1).cpu().numpy()
        new = new.cpu().numpy()
        ends = set(self.end_ids)
        results = []
        for row, enc in enumerate(encoded):
            tokens = new[row]
            stop = next((i for i, t in enumerate(tokens) if int(t) in ends), None)
            n = len(tokens) if stop is None else stop + 1
            ids = tokens[:n].astype(np.int64)
            text = self.encoder.tokenizer.decode(ids, skip_special_tokens=True)
            results.append(PolicyOutput(
                text=text, prompt_ids=enc.prompt_ids, response_ids=ids, logprobs=picked[row, :n].astype(np.float32),
                mm_inputs=enc.mm_inputs, finish_reason="stop" if stop is not None else "length",
                weight_version=self._weight_version,
            ))
        return check_outputs(requests, results, "HFPolicy")
