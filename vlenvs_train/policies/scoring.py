"""Trainer-side log-probs: one forward pass on exactly the recorded prompt + response tokens.

The sampler is the source of truth: a :class:`~vlenvs_train.policies.base.PolicyOutput` holds the prompt
tokens it saw, the tokens it sampled and the multimodal tensors the processor produced. Re-scoring feeds
exactly those (with ``mm_token_type_ids``, so Qwen-VL's 3D rotary positions are the generation's) and
applies the sampler's temperature and suppressed tokens, so the result equals the behaviour log-probs up
to float rounding when the weights are the same (tests assert 1e-4 in fp32).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from vlenvs_train.policies.base import PolicyOutput

#: Multimodal tensors concatenated along dim 0 across samples (one row per patch / per image).
CONCAT_KEYS = ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw", "second_per_grid_ts")
#: Multimodal tensors laid out per token (padded like ``input_ids``).
PER_TOKEN_KEYS = ("mm_token_type_ids", "token_type_ids")


def collate(sequences: Sequence[np.ndarray], mm_inputs: Sequence[dict[str, np.ndarray]], pad_id: int,
            device: Any = "cpu", dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Left-pad token sequences into one batch with their multimodal inputs (per-token ones padded with 0).

    Left padding keeps every sequence's end at the last position: generation appends there, and re-scoring
    reads the last logits.
    """
    n = len(sequences)
    length = max(len(s) for s in sequences)
    ids = torch.full((n, length), pad_id, dtype=torch.long)
    mask = torch.zeros((n, length), dtype=torch.long)
    batch: dict[str, Any] = {}
    for row, seq in enumerate(sequences):
        k = len(seq)
        ids[row, length - k:] = torch.as_tensor(np.asarray(seq), dtype=torch.long)
        mask[row, length - k:] = 1
    for key in PER_TOKEN_KEYS:
        if any(key in mm for mm in mm_inputs):
            tt = torch.zeros((n, length), dtype=torch.long)
            for row, (seq, mm) in enumerate(zip(sequences, mm_inputs)):
                if key in mm:
                    v = torch.as_tensor(np.asarray(mm[key]), dtype=torch.long)
                    tt[row, length - len(seq): length - len(seq) + len(v)] = v
            batch[key] = tt
    for key in CONCAT_KEYS:
        parts = [torch.as_tensor(np.asarray(mm[key])) for mm in mm_inputs if key in mm and len(mm[key])]
        if parts:
            batch[key] = torch.cat(parts, dim=0)
    if dtype is not None and "pixel_values" in batch:
        batch["pixel_values"] = batch["pixel_values"].to(dtype)
    batch["input_ids"], batch["attention_mask"] = ids, mask
    return {k: v.to(device) for k, v in batch.items()}


def mask_logits(logits: torch.Tensor, temperature: float, suppress_ids: Sequence[int]) -> torch.Tensor:
    """The sampler's logits: divided by the temperature, suppressed tokens at -inf."""
    logits = logits.float() / temperature
    if len(suppress_ids):
        logits = logits.index_fill(-1, torch.as_tensor(list(suppress_ids), device=logits.device), float("-inf"))
    return logits


def response_logprobs(model: Any, outputs: Sequence[PolicyOutput], *, pad_id: int, temperature: float = 1.0,
                      suppress_ids: Sequence[int] = (), device: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probs of every recorded response token under ``model`` (differentiable).

    Returns ``(logprobs, mask)``, both ``[B, R]`` with ``R`` the longest response; row ``b``'s response is
    right-aligned (its ``len(response_ids)`` last entries; ``mask`` marks them).
    """
    logp, mask, _ = response_scores(model, outputs, pad_id=pad_id, temperature=temperature,
                                    suppress_ids=suppress_ids, device=device)
    return logp, mask


def response_scores(model: Any, outputs: Sequence[PolicyOutput], *, pad_id: int, temperature: float = 1.0,
                    suppress_ids: Sequence[int] = (), device: Any = None,
                    entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """:func:`response_logprobs` and, with ``entropy``, the entropy (nats, detached) of the sampling
    distribution at every response position (``[B, R]``, 0 outside the mask), from the same logits."""
    device = device if device is not None else next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    seqs = [np.concatenate([o.prompt_ids, o.response_ids]) for o in outputs]
    batch = collate(seqs, [o.mm_inputs for o in outputs], pad_id, device=device, dtype=dtype)
    r = max(len(o.response_ids) for o in outputs)
    if r == 0:
        empty = torch.zeros((len(outputs), 0), device=device)
        return empty, empty.bool(), (empty if entropy else None)
    logits = model(**batch, use_cache=False, logits_to_keep=r + 1).logits[:, :-1]  # [B, r, V] predicts the last r
    logp = torch.log_softmax(mask_logits(logits, temperature, suppress_ids), dim=-1)
    targets = batch["input_ids"][:, -r:]
    picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    lengths = torch.as_tensor([len(o.response_ids) for o in outputs], device=device)
    mask = torch.arange(r, device=device)[None, :] >= (r - lengths)[:, None]
    ent = None
    if entropy:
        with torch.no_grad():  # entr(0) = 0: suppressed tokens (-inf logits) add nothing
            ent = torch.special.entr(logp.detach().exp()).sum(-1).masked_fill(~mask, 0.0)
    return picked.masked_fill(~mask, 0.0), mask, ent


def unpad(values: torch.Tensor, mask: torch.Tensor) -> list[np.ndarray]:
    """Per-row arrays of the masked (right-aligned) entries, as float32 numpy."""
    return [values[b][mask[b]].detach().float().cpu().numpy() for b in range(values.shape[0])]


def sequence_logprobs(model: Any, sequences: Sequence[np.ndarray], mm_inputs: Sequence[dict[str, np.ndarray]],
                      targets: Sequence[np.ndarray], *, pad_id: int, temperature: float = 1.0,
                      suppress_ids: Sequence[int] = (), device: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probs of ``targets[b][i]`` given ``sequences[b][: i + 1]`` at every position (differentiable), with
    the sampler's temperature and suppressed tokens like :func:`response_scores` (Tinker's ``forward``: each
    position of a model input predicts its target token).

    Returns ``(logprobs, mask)``, both ``[B, L]``, row ``b`` right-aligned (its ``len(sequences[b])`` last
    entries; ``mask`` marks them). ``targets[b]`` has one entry per position of ``sequences[b]``.
    """
    device = device if device is not None else next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    batch = collate(sequences, mm_inputs, pad_id, device=device, dtype=dtype)
    n, length = batch["input_ids"].shape
    tgt = torch.zeros((n, length), dtype=torch.long)
    for b, t in enumerate(targets):
        assert len(t) == len(sequences[b]), (len(t), len(sequences[b]))
        tgt[b, length - len(t):] = torch.as_tensor(np.asarray(t), dtype=torch.long)
    tgt = tgt.to(device)
    logits = model(**batch, use_cache=False).logits
    logp = torch.log_softmax(mask_logits(logits, temperature, suppress_ids), dim=-1)
    picked = logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    mask = batch["attention_mask"].bool()
    return picked.masked_fill(~mask, 0.0), mask
