"""The Tinker API's built-in losses, computed with the trainer's own loss code (:mod:`vlenvs_train.algos`).

Tinker's losses are sums over every position of every datum (a client scales its ``weights`` / ``advantages``
to get a mean), over the log-probs ``logp`` of each position's target token:

- ``cross_entropy``: ``-sum(weights * logp)`` (inputs ``target_tokens``, optional ``weights``, default 1) —
  :func:`~vlenvs_train.algos.grpo.sft_token_loss` of ``weights * logp`` with normaliser 1;
- ``importance_sampling``: ``-sum(exp(logp - logprobs) * advantages)`` (inputs ``target_tokens``, ``logprobs``
  = the sampler's, ``advantages``) — :func:`~vlenvs_train.algos.grpo.grpo_token_loss` with the sampler as old
  policy, no clipping, no extra importance weight, normaliser 1;
- ``ppo``: ``-sum(min(r A, clip(r, lo, hi) A))`` with ``r = exp(logp - logprobs)`` and ``loss_fn_config``
  ``clip_low_threshold`` (default 0.8) and ``clip_high_threshold`` (default 1.2) — the same GRPO loss with
  ``clip_low = 1 - lo`` and ``clip_high = hi - 1``.

Positions whose weight (or advantage) is 0 are left out of the sums, so a target the sampler can never produce
(a banned vision token, log-prob ``-inf``) at such a position costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from vlenvs.core.errors import RequestError
from vlenvs_train.algos.grpo import clipped_surrogate, grpo_token_loss, right_align, sft_token_loss

#: Loss functions this service computes, with the ``loss_fn_inputs`` each needs (``weights`` is optional).
LOSS_INPUTS = {"cross_entropy": ("target_tokens",), "importance_sampling": ("target_tokens", "logprobs", "advantages"),
               "ppo": ("target_tokens", "logprobs", "advantages")}
OPTIONAL_INPUTS = {"cross_entropy": ("weights",), "importance_sampling": (), "ppo": ()}
#: ``loss_fn_config`` keys each loss takes, with their defaults.
LOSS_CONFIG = {"cross_entropy": {}, "importance_sampling": {},
               "ppo": {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2}}


def check_request(loss_fn: str, config: Mapping[str, float], inputs: Sequence[Mapping[str, np.ndarray]],
                  lengths: Sequence[int], vocab_size: int) -> dict[str, float]:
    """Validate a ``forward_backward`` request's loss, config and per-datum inputs; the config with defaults."""
    if loss_fn not in LOSS_INPUTS:
        raise RequestError(f"loss_fn {loss_fn!r} is not supported by this service; valid choices: "
                           f"{', '.join(LOSS_INPUTS)}")
    allowed = LOSS_CONFIG[loss_fn]
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise RequestError(f"loss_fn_config keys {unknown} are not used by {loss_fn!r}; valid: {sorted(allowed) or 'none'}")
    merged = {**allowed, **{k: float(v) for k, v in config.items()}}
    if loss_fn == "ppo" and not (0.0 <= merged["clip_low_threshold"] <= 1.0 <= merged["clip_high_threshold"]):
        raise RequestError(f"ppo needs 0 <= clip_low_threshold <= 1 <= clip_high_threshold, got {merged}")
    need, optional = LOSS_INPUTS[loss_fn], OPTIONAL_INPUTS[loss_fn]
    for i, (d, n) in enumerate(zip(inputs, lengths)):
        missing = [k for k in need if k not in d]
        extra = sorted(set(d) - set(need) - set(optional))
        if missing or extra:
            raise RequestError(f"datum {i}: {loss_fn!r} takes loss_fn_inputs {list(need) + list(optional)}; "
                               f"missing {missing}, not used {extra}")
        for key, arr in d.items():
            if arr.shape != (n,):
                raise RequestError(f"datum {i}: loss_fn_inputs[{key!r}] has shape {list(arr.shape)}; the model input "
                                   f"has {n} positions, so it must be [{n}]")
            if not np.isfinite(arr).all():
                raise RequestError(f"datum {i}: loss_fn_inputs[{key!r}] holds NaN or infinite values")
        t = d["target_tokens"]
        if t.dtype.kind != "i" or (t < 0).any() or (t >= vocab_size).any():
            raise RequestError(f"datum {i}: target_tokens must be integer token ids in 0..{vocab_size - 1}")
    return merged


def compute_loss(loss_fn: str, config: Mapping[str, float], logp: torch.Tensor, mask: torch.Tensor,
                 inputs: Sequence[Mapping[str, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    """The summed loss of a micro-batch and its per-position loss (``[B, L]``, right-aligned like ``logp``)."""
    width, device = logp.shape[1], logp.device

    def column(key: str, default: float | None = None) -> torch.Tensor:
        rows = [np.asarray(d[key] if key in d else np.full(len(d["target_tokens"]), default), dtype=np.float32)
                for d in inputs]
        return right_align(rows, width, device)

    if loss_fn == "cross_entropy":
        weights = column("weights", 1.0)
        used = mask & (weights != 0)
        weighted = (logp * weights).masked_fill(~used, 0.0)
        return sft_token_loss(weighted, used, normalizer=1.0), -weighted.detach()
    advantages, sampler = column("advantages"), column("logprobs")
    used = mask & (advantages != 0)
    if loss_fn == "importance_sampling":
        clip_low = clip_high = float("inf")
    else:
        clip_low, clip_high = 1.0 - config["clip_low_threshold"], config["clip_high_threshold"] - 1.0
    safe_logp = logp.masked_fill(~used, 0.0)
    safe_sampler = sampler.masked_fill(~used, 0.0)
    loss, _ = grpo_token_loss(safe_logp, used, old_logp=safe_sampler, behaviour_logp=safe_sampler,
                              advantages=advantages, clip_low=clip_low, clip_high=clip_high, is_level="none",
                              normalizer=1.0)
    with torch.no_grad():
        objective, _ = clipped_surrogate(safe_logp, safe_sampler, advantages, clip_low, clip_high)
    return loss, (-objective).masked_fill(~used, 0.0)
