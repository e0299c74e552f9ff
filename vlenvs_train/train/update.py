"""Optimizer steps: SFT epochs and GRPO updates over recorded turns (re-scored, never re-tokenized)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vlenvs_train.algos.grpo import grpo_token_loss, loss_normalizer, right_align, sft_token_loss, turn_loss_weights
from vlenvs_train.policies.base import PolicyOutput
from vlenvs_train.policies.scoring import response_scores
from vlenvs_train.train.config import GRPOConfig, SFTConfig


@dataclass(frozen=True)
class Scoring:
    """How the trainer re-scores replies: the sampler's pad token, temperature and suppressed tokens."""

    pad_id: int
    temperature: float = 1.0
    suppress_ids: tuple[int, ...] = ()

    def logprobs(self, model: Any, outputs: Sequence[PolicyOutput]) -> tuple[torch.Tensor, torch.Tensor]:
        logp, mask, _ = self.scores(model, outputs)
        return logp, mask

    def scores(self, model: Any, outputs: Sequence[PolicyOutput],
               entropy: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Log-probs, mask and (``entropy``) the per-token entropy of the sampling distribution."""
        return response_scores(model, outputs, pad_id=self.pad_id, temperature=self.temperature,
                               suppress_ids=self.suppress_ids, entropy=entropy)


def chunks(indices: Sequence[int], size: int) -> list[list[int]]:
    return [list(indices[k:k + size]) for k in range(0, len(indices), size)]


def optimizer_step(model: Any, optimizer: torch.optim.Optimizer, max_grad_norm: float) -> float:
    """Clip, step, zero; returns the gradient norm before clipping (of the fp32 master gradients when the
    optimizer keeps master weights, :class:`~vlenvs_train.train.precision.MasterWeightAdamW`)."""
    gradients = getattr(optimizer, "gradients", None)
    params = gradients() if gradients is not None else [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm if max_grad_norm > 0 else float("inf"))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(norm)


def sft_epoch(model: Any, optimizer: torch.optim.Optimizer, examples: Sequence[PolicyOutput], config: SFTConfig,
              scoring: Scoring, rng: np.random.Generator) -> dict[str, float]:
    """One shuffled pass over ``examples``; mean token NLL and token count."""
    model.train()
    order = rng.permutation(len(examples))
    total, tokens = 0.0, 0.0
    for batch in chunks(order, config.batch_size):
        norm = float(sum(len(examples[i].response_ids) for i in batch))
        for micro in chunks(batch, config.micro_batch_size):
            logp, mask = scoring.logprobs(model, [examples[i] for i in micro])
            loss = sft_token_loss(logp, mask, normalizer=norm)
            loss.backward()
            total += float(loss.detach()) * norm
        tokens += norm
        optimizer_step(model, optimizer, config.max_grad_norm)
    model.eval()
    return {"sft_loss": total / max(tokens, 1.0), "sft_tokens": tokens}


@torch.no_grad()
def score_all(model: Any, outputs: Sequence[PolicyOutput], scoring: Scoring, micro: int) -> list[np.ndarray]:
    """Per-turn log-probs of the recorded replies under ``model`` (no gradient)."""
    out: list[np.ndarray] = []
    for part in chunks(range(len(outputs)), micro):
        logp, mask = scoring.logprobs(model, [outputs[i] for i in part])
        out += [logp[b][mask[b]].float().cpu().numpy() for b in range(len(part))]
    return out


def grpo_update(model: Any, optimizer: torch.optim.Optimizer, turns: Sequence[PolicyOutput],
                advantages: Sequence[float], config: GRPOConfig, scoring: Scoring, rng: np.random.Generator,
                ref_model: Any = None, episodes: Sequence[int] | None = None,
                norm_tokens: float | None = None) -> dict[str, float]:
    """PPO-clipped GRPO updates on ``turns`` (one assistant reply each) with one advantage per turn.

    Old log-probs are the sampler's (``old_logprobs="behaviour"``) or recomputed here first
    (``"recompute"``); the loss's truncated importance weights compare them with the sampler's. ``episodes``
    (the episode id of each turn; default: each turn its own) and ``norm_tokens`` (tokens per episode, for
    ``loss_agg="token_sum_norm"``; default ``config.norm_tokens``) set the loss aggregation's weights
    (:func:`~vlenvs_train.algos.grpo.turn_loss_weights`). The statistics of the update pass (loss, gradient norm,
    clip fraction, importance weights, KL, entropy of the policy per token) are returned only when a turn was
    used.
    """
    adv = np.asarray(advantages, dtype=np.float64)
    episode_ids = np.arange(len(turns)) if episodes is None else np.asarray(episodes)
    keep = [i for i in range(len(turns)) if len(turns[i].response_ids) and
            (adv[i] != 0 or not config.skip_zero_advantage)]
    stats: dict[str, float] = {"turns_used": float(len(keep))}
    if not keep:
        return stats
    device = next(model.parameters()).device
    behaviour = [turns[i].logprobs for i in range(len(turns))]
    old = score_all(model, turns, scoring, config.micro_batch_size) if config.old_logprobs == "recompute" else behaviour
    ref = score_all(ref_model, turns, scoring, config.micro_batch_size) if ref_model is not None else None
    lengths = np.array([len(t.response_ids) for t in turns], dtype=np.float64)
    weights = np.zeros(len(turns))
    weights[keep] = turn_loss_weights(lengths[keep], episode_ids[keep], config.loss_agg)
    constant = None
    if config.loss_agg == "token_sum_norm":
        per_episode = norm_tokens if norm_tokens is not None else config.norm_tokens
        if per_episode is None:
            raise ValueError("loss_agg='token_sum_norm' needs norm_tokens (tokens per episode)")
        constant = per_episode * len(np.unique(episode_ids)) / config.minibatches
    model.train()
    sums: dict[str, float] = {"loss": 0.0, "clip_frac": 0.0, "is_weight": 0.0, "kl": 0.0, "grad_norm": 0.0,
                              "entropy": 0.0}
    is_max, steps, tokens_seen = 0.0, 0, 0.0
    per_mb = -(-len(keep) // config.minibatches)
    for _ in range(config.ppo_epochs):
        order = [keep[j] for j in rng.permutation(len(keep))]
        for mb in chunks(order, per_mb):
            norm = loss_normalizer(weights[mb], lengths[mb], config.loss_agg, constant)
            for micro in chunks(mb, config.micro_batch_size):
                logp, mask, entropy = scoring.scores(model, [turns[i] for i in micro], entropy=True)
                width = logp.shape[1]
                loss, s = grpo_token_loss(
                    logp, mask, old_logp=right_align([old[i] for i in micro], width, device),
                    behaviour_logp=right_align([behaviour[i] for i in micro], width, device),
                    advantages=torch.as_tensor(adv[micro], dtype=torch.float32, device=device),
                    clip_low=config.clip_low, clip_high=config.clip_high, is_level=config.is_level,
                    is_cap=config.is_cap, kl_coef=config.kl_coef, normalizer=norm,
                    ref_logp=right_align([ref[i] for i in micro], width, device) if ref is not None else None,
                    turn_weights=torch.as_tensor(weights[micro], dtype=torch.float32, device=device),
                )
                loss.backward()
                sums["loss"] += float(loss.detach())
                for k in ("clip_frac", "is_weight", "kl"):
                    sums[k] += s[k] * s["tokens"]
                sums["entropy"] += float(entropy.sum())
                is_max = max(is_max, s["is_weight_max"])
                tokens_seen += s["tokens"]
            sums["grad_norm"] += optimizer_step(model, optimizer, config.max_grad_norm)
            steps += 1
    model.eval()
    stats.update({"loss": sums["loss"] / steps, "grad_norm": sums["grad_norm"] / steps, "is_weight_max": is_max,
                  **{k: sums[k] / max(tokens_seen, 1.0) for k in ("clip_frac", "is_weight", "kl", "entropy")}})
    return stats
