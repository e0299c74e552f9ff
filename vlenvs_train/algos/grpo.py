"""Multi-turn GRPO as small named functions over right-aligned ``[B, R]`` token tensors.

A row is one assistant turn of one episode (its prompt and observation tokens are not in the tensors at
all: :func:`~vlenvs_train.policies.scoring.response_logprobs` returns only the response tokens, so they are
masked out by construction). Every turn of an episode gets its episode's advantage (or, with per-turn
rewards, its own return-to-go's), normalised within the group of episodes played from the same env seed.

The loss per token is the PPO-clipped surrogate ``min(r A, clip(r, 1-eps_low, 1+eps_high) A)`` with
``r = exp(logp - old_logp)``, times a truncated importance weight ``min(exp(old_logp - behaviour_logp), cap)``
(token- or sequence-level) that corrects for the sampler (vLLM, or the transformers sampler on older
weights) not being exactly the trainer, plus an optional KL to a reference model (k3 estimator).

How the token losses of a minibatch are combined (:data:`LOSS_AGGS`, ``grpo.loss_agg``) decides how much each
turn and each episode weighs; :func:`turn_loss_weights` gives every token of a turn a weight and
:func:`loss_normalizer` the minibatch's divisor:

- ``"token_mean"``: every response token weighs the same; the sum is divided by the minibatch's token count
  (DAPO's token-level loss, Yu et al. 2025). A failed 8-turn episode weighs 8/3 of a 3-turn success.
- ``"turn_mean"``: each turn's tokens are averaged, then the turns (original GRPO's per-sequence mean,
  Shao et al. 2024, with a turn as the sequence). Every turn weighs the same, so long episodes still weigh more.
- ``"episode_mean"``: each episode's tokens (all its turns) are averaged, then the episodes: every episode weighs
  the same whatever its length (SkyRL's multi-turn choice: the trajectory is the sequence of its
  ``sequence_mean`` loss reduction).
- ``"token_sum_norm"``: the token sum divided by a constant, the episodes of the iteration times the most tokens
  an episode can have (Dr. GRPO, Liu et al. 2025: no length normalisation that depends on the samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

from vlenvs.core.errors import invalid_choice

AdvantageScale = Literal["std", "none"]
ISLevel = Literal["token", "sequence", "none"]
LossAgg = Literal["token_mean", "turn_mean", "episode_mean", "token_sum_norm"]
#: The loss aggregations (see the module docstring).
LOSS_AGGS = ("token_mean", "turn_mean", "episode_mean", "token_sum_norm")


def group_advantages(returns: np.ndarray, groups: np.ndarray, scale: AdvantageScale = "std",
                     eps: float = 1e-6) -> np.ndarray:
    """``(R - mean_group(R)) [/ (std_group(R) + eps)]`` for each entry; a group whose returns are all equal
    gets 0 (it carries no learning signal)."""
    if scale not in ("std", "none"):
        raise invalid_choice("advantage scale", scale, ("std", "none"))
    returns = np.asarray(returns, dtype=np.float64)
    groups = np.asarray(groups)
    adv = np.zeros_like(returns)
    for g in np.unique(groups):
        sel = groups == g
        centred = returns[sel] - returns[sel].mean()
        adv[sel] = centred / (returns[sel].std() + eps) if scale == "std" else centred
    return adv


def returns_to_go(rewards: Sequence[float], gamma: float = 1.0) -> np.ndarray:
    """Discounted sum of the rewards from each turn to the end of the episode."""
    out = np.zeros(len(rewards))
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = float(rewards[t]) + gamma * acc
        out[t] = acc
    return out


def turn_advantages(episode_rewards: Sequence[Sequence[float]], groups: Sequence[int], mode: Literal["episode", "turn"],
                    scale: AdvantageScale = "std", gamma: float = 1.0) -> list[np.ndarray]:
    """One advantage per turn of each episode.

    ``"episode"``: every turn gets its episode's group-normalised return. ``"turn"``: each turn's
    return-to-go, normalised over all turns of the episodes of its group.
    """
    if mode == "episode":
        adv = group_advantages(np.array([sum(r) for r in episode_rewards]), np.asarray(groups), scale)
        return [np.full(len(r), a) for r, a in zip(episode_rewards, adv)]
    if mode != "turn":
        raise invalid_choice("advantage mode", mode, ("episode", "turn"))
    rtg = [returns_to_go(r, gamma) for r in episode_rewards]
    flat = np.concatenate(rtg) if rtg else np.zeros(0)
    flat_groups = np.concatenate([np.full(len(r), g) for r, g in zip(rtg, groups)]) if rtg else np.zeros(0)
    adv = group_advantages(flat, flat_groups, scale)
    out, k = [], 0
    for r in rtg:
        out.append(adv[k:k + len(r)])
        k += len(r)
    return out


def right_align(rows: Sequence[np.ndarray], width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Per-turn arrays (e.g. behaviour log-probs) as a right-aligned, zero-padded ``[B, width]`` tensor."""
    out = torch.zeros((len(rows), width), dtype=torch.float32)
    for b, row in enumerate(rows):
        if len(row):
            out[b, width - len(row):] = torch.as_tensor(np.asarray(row, dtype=np.float32))
    return out.to(device)


def importance_ratios(old_logp: torch.Tensor, behaviour_logp: torch.Tensor, mask: torch.Tensor,
                      level: ISLevel = "token") -> torch.Tensor:
    """``pi_old / pi_behaviour`` per token (``"token"``), per turn (``"sequence"``: the product over the turn's
    tokens, broadcast to them) or all ones (``"none"``); 0 outside ``mask``, untruncated, detached."""
    with torch.no_grad():
        if level == "none":
            return torch.ones_like(old_logp)
        log_ratio = (old_logp - behaviour_logp).masked_fill(~mask, 0.0)
        if level == "token":
            return torch.exp(log_ratio).masked_fill(~mask, 0.0)
        if level == "sequence":
            return torch.exp(log_ratio.sum(-1, keepdim=True)).expand_as(old_logp).masked_fill(~mask, 0.0)
    raise invalid_choice("importance weight level", level, ("token", "sequence", "none"))


def truncated_importance_weights(old_logp: torch.Tensor, behaviour_logp: torch.Tensor, mask: torch.Tensor,
                                 level: ISLevel = "token", cap: float = 2.0) -> torch.Tensor:
    """``min(pi_old / pi_behaviour, cap)`` of :func:`importance_ratios`; detached."""
    return importance_ratios(old_logp, behaviour_logp, mask, level).clamp(max=cap)


def clipped_surrogate(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, clip_low: float,
                      clip_high: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token PPO objective ``min(r A, clip(r) A)`` (to maximise) and whether the clip was active.

    ``advantages`` is ``[B]`` (one per turn) or ``[B, R]``.
    """
    adv = advantages if advantages.dim() == logp.dim() else advantages[:, None]
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * adv
    clipped = ratio.clamp(1.0 - clip_low, 1.0 + clip_high) * adv
    return torch.minimum(unclipped, clipped), (clipped < unclipped).detach()


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) from samples of pi: ``exp(d) - d - 1`` with ``d = ref - logp``."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1.0


def masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return values.masked_fill(~mask, 0.0).sum()


def signal_fraction(returns: np.ndarray, groups: np.ndarray) -> float:
    """Fraction of the groups whose returns are not all equal (the others carry no learning signal)."""
    returns, groups = np.asarray(returns, dtype=np.float64), np.asarray(groups)
    ids = np.unique(groups)
    if not len(ids):
        return 0.0
    return float(np.mean([np.ptp(returns[groups == g]) > 0 for g in ids]))


def turn_loss_weights(lengths: Sequence[int], episodes: Sequence[int], mode: LossAgg = "token_mean") -> np.ndarray:
    """The weight of each token of each turn in the loss of :data:`LOSS_AGGS` mode ``mode`` (before the
    minibatch's :func:`loss_normalizer`): 1 (``"token_mean"``, ``"token_sum_norm"``), one over the turn's
    token count (``"turn_mean"``) or one over the token count of all turns of its episode among ``lengths``
    (``"episode_mean"``). ``lengths`` are the turns' response lengths, ``episodes`` their episode ids."""
    lengths = np.asarray(lengths, dtype=np.float64)
    if mode in ("token_mean", "token_sum_norm"):
        return np.ones_like(lengths)
    if mode == "turn_mean":
        return 1.0 / np.maximum(lengths, 1.0)
    if mode == "episode_mean":
        episodes = np.asarray(episodes)
        if episodes.shape != lengths.shape:
            raise ValueError(f"{len(episodes)} episode ids for {len(lengths)} turns")
        ids, inverse = np.unique(episodes, return_inverse=True)
        totals = np.bincount(inverse, weights=lengths, minlength=len(ids))
        return 1.0 / np.maximum(totals[inverse], 1.0)
    raise invalid_choice("grpo.loss_agg", mode, LOSS_AGGS)


def loss_normalizer(weights: np.ndarray, lengths: Sequence[int], mode: LossAgg = "token_mean",
                    constant: float | None = None) -> float:
    """The divisor of a minibatch's weighted token-loss sum: ``sum(weight * length)`` over its turns (the mean
    modes: the loss is a weighted mean, e.g. the mean over its episodes for ``"episode_mean"``), or ``constant``
    for ``"token_sum_norm"`` (the same for every minibatch whatever its lengths)."""
    if mode == "token_sum_norm":
        if constant is None or constant <= 0:
            raise ValueError(f"loss_agg='token_sum_norm' needs a positive constant, got {constant!r}")
        return float(constant)
    if mode not in LOSS_AGGS:
        raise invalid_choice("grpo.loss_agg", mode, LOSS_AGGS)
    return max(float(np.dot(np.asarray(weights, dtype=np.float64), np.asarray(lengths, dtype=np.float64))), 1e-12)


def grpo_token_loss(logp: torch.Tensor, mask: torch.Tensor, *, old_logp: torch.Tensor, behaviour_logp: torch.Tensor,
                    advantages: torch.Tensor, clip_low: float = 0.2, clip_high: float = 0.2,
                    is_level: ISLevel = "token", is_cap: float = 2.0, ref_logp: torch.Tensor | None = None,
                    kl_coef: float = 0.0, normalizer: float | None = None,
                    turn_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The GRPO loss of a (micro-)batch of turns: the token losses, times their turn's weight (``turn_weights``,
    ``[B]``, :func:`turn_loss_weights`; default 1), summed and divided by ``normalizer`` (default: this batch's
    token count; pass the whole minibatch's :func:`loss_normalizer` when accumulating micro-batches).

    Returns the loss (to minimise) and statistics over the batch's tokens: clip fraction, mean truncated
    importance weight, largest untruncated one, mean KL, token count.
    """
    tokens = float(mask.sum())
    norm = normalizer if normalizer is not None else max(tokens, 1.0)
    ratios = importance_ratios(old_logp, behaviour_logp, mask, is_level)
    weights = ratios.clamp(max=is_cap)
    objective, clipped = clipped_surrogate(logp, old_logp, advantages, clip_low, clip_high)
    per_token = -weights * objective
    kl_mean = 0.0
    if ref_logp is not None and kl_coef > 0:
        kl = k3_kl(logp, ref_logp)
        per_token = per_token + kl_coef * kl
        kl_mean = float(masked_sum(kl.detach(), mask)) / max(tokens, 1.0)
    if turn_weights is not None:
        per_token = per_token * turn_weights.to(per_token.dtype)[:, None]
    loss = masked_sum(per_token, mask) / norm
    stats = {"clip_frac": float((clipped & mask).sum()) / max(tokens, 1.0),
             "is_weight": float(masked_sum(weights, mask)) / max(tokens, 1.0),
             "is_weight_max": float(ratios[mask].max()) if tokens else 0.0, "kl": kl_mean, "tokens": tokens}
    return loss, stats


def sft_token_loss(logp: torch.Tensor, mask: torch.Tensor, normalizer: float | None = None) -> torch.Tensor:
    """Negative log-likelihood of the assistant tokens (the only tokens in ``logp``), token-averaged."""
    norm = normalizer if normalizer is not None else max(float(mask.sum()), 1.0)
    return -masked_sum(logp, mask) / norm
