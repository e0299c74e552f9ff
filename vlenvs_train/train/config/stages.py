"""The stages of a run: ``sft`` (supervised fine-tuning), ``grpo`` (RL) and ``eval`` (held-out evaluation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from vlenvs.core.config import check_choice, check_float, check_int
from vlenvs.core.errors import InvalidConfigError


@dataclass(frozen=True)
class SFTConfig:
    """Supervised fine-tuning on demonstrations, loss on assistant tokens only."""

    source: Literal["oracle", "jsonl", "none"] = "oracle"
    """``"oracle"``: episodes of the env's oracle (shortest paths; Geometry's worked solutions), prompted
    exactly as the sampler prompts; ``"jsonl"``: chat conversations from ``dataset``; ``"none"``: skip SFT."""
    dataset: str | None = None
    """JSONL file for ``source="jsonl"`` (one ``{"messages": [...]}`` per line; image parts name a file)."""
    num_episodes: int = 64
    """Oracle episodes to record (``source="oracle"``)."""
    seed: int = 1_000_000
    """First env seed of the oracle episodes (disjoint from RL's and evaluation's seeds)."""
    epochs: int = 2
    """Passes over the demonstrations."""
    batch_size: int = 32
    """Turns per optimizer step."""
    micro_batch_size: int = 32
    """Turns per forward/backward (gradients are accumulated up to ``batch_size``)."""
    lr: float = 1e-3
    """Adam learning rate."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip."""

    def __post_init__(self) -> None:
        check_choice("sft.source", self.source, ("oracle", "jsonl", "none"))
        if self.source == "jsonl" and not self.dataset:
            raise InvalidConfigError("sft.source='jsonl' needs sft.dataset (a JSONL file of chat conversations)")
        check_int("sft.num_episodes", self.num_episodes, 1, 10_000_000)
        check_int("sft.seed", self.seed, 0, 2**62)
        check_int("sft.epochs", self.epochs, 0, 100_000)
        check_int("sft.batch_size", self.batch_size, 1, 1_000_000)
        check_int("sft.micro_batch_size", self.micro_batch_size, 1, 1_000_000)
        check_float("sft.lr", self.lr, 0.0, 10.0)
        check_float("sft.max_grad_norm", self.max_grad_norm, 0.0, 1e9)


@dataclass(frozen=True)
class GRPOConfig:
    """Multi-turn GRPO: groups of episodes from one env seed, PPO-clipped token loss over assistant turns."""

    iterations: int = 20
    """Rollout + update iterations."""
    groups: int = 8
    """Env seeds (groups) per iteration."""
    group_size: int = 8
    """Episodes per group (same seed, different samples)."""
    seed: int = 0
    """First env seed of training; iteration ``k`` uses seeds ``seed + k * groups ...``."""
    lr: float = 5e-4
    """Adam learning rate."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    ppo_epochs: int = 1
    """Passes over each iteration's turns."""
    minibatches: int = 1
    """Optimizer steps per pass."""
    micro_batch_size: int = 64
    """Turns per forward/backward (gradient accumulation)."""
    clip_low: float = 0.2
    """PPO clip below 1 (ratio >= 1 - clip_low)."""
    clip_high: float = 0.28
    """PPO clip above 1 (ratio <= 1 + clip_high; DAPO's "clip higher")."""
    advantage: Literal["episode", "turn"] = "episode"
    """``"episode"``: every turn gets its episode return's group-normalised advantage; ``"turn"``: its own
    return-to-go's (per-turn rewards)."""
    advantage_scale: Literal["std", "none"] = "std"
    """Divide by the group's standard deviation (GRPO) or only centre (Dr. GRPO)."""
    gamma: float = 1.0
    """Discount of per-turn returns-to-go (``advantage="turn"``)."""
    old_logprobs: Literal["behaviour", "recompute"] = "behaviour"
    """PPO's old log-probs: the sampler's (``"behaviour"``: no extra pass; exact when the sampler is the trained
    model) or recomputed by the trainer before the update (``"recompute"``: then the truncated importance
    weight corrects the sampler/trainer mismatch, e.g. vLLM or bf16)."""
    is_level: Literal["token", "sequence", "none"] = "token"
    """Truncated importance weight ``pi_old / pi_behaviour`` per token, per turn, or none."""
    is_cap: float = 2.0
    """Cap of the truncated importance weight."""
    kl_coef: float = 0.0
    """Weight of the k3 KL to the initial (reference) model; 0 (the default) keeps no reference model."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip."""
    skip_zero_advantage: bool = True
    """Leave out turns whose advantage is 0 (groups with equal returns): they contribute no gradient."""
    loss_agg: Literal["token_mean", "turn_mean", "episode_mean", "token_sum_norm"] = "token_mean"
    """How the token losses of a minibatch are combined (:mod:`vlenvs_train.algos.grpo`): ``"token_mean"``: every
    token weighs the same (DAPO); ``"turn_mean"``: mean per turn, then over turns (original GRPO's per-sequence
    mean); ``"episode_mean"``: mean per episode, then over episodes, so every episode weighs the same whatever its
    length (SkyRL's multi-turn choice); ``"token_sum_norm"``: token sum over a constant (Dr. GRPO)."""
    norm_tokens: int | None = None
    """The constant of ``loss_agg="token_sum_norm"``, in tokens per episode: a minibatch's loss is its token
    sum over ``norm_tokens * episodes of the iteration / minibatches``. ``None``: the most tokens an episode can
    have, ``sampler.max_new_tokens`` times the env's step limit."""

    def __post_init__(self) -> None:
        check_int("grpo.iterations", self.iterations, 0, 10_000_000)
        check_int("grpo.groups", self.groups, 1, 1_000_000)
        check_int("grpo.group_size", self.group_size, 2, 1_000_000)
        check_int("grpo.seed", self.seed, 0, 2**62)
        check_float("grpo.lr", self.lr, 0.0, 10.0)
        check_float("grpo.weight_decay", self.weight_decay, 0.0, 10.0)
        check_int("grpo.ppo_epochs", self.ppo_epochs, 1, 1000)
        check_int("grpo.minibatches", self.minibatches, 1, 1_000_000)
        check_int("grpo.micro_batch_size", self.micro_batch_size, 1, 1_000_000)
        check_float("grpo.clip_low", self.clip_low, 0.0, 1.0)
        check_float("grpo.clip_high", self.clip_high, 0.0, 100.0)
        check_choice("grpo.advantage", self.advantage, ("episode", "turn"))
        check_choice("grpo.advantage_scale", self.advantage_scale, ("std", "none"))
        check_float("grpo.gamma", self.gamma, 0.0, 1.0)
        check_choice("grpo.old_logprobs", self.old_logprobs, ("behaviour", "recompute"))
        check_choice("grpo.is_level", self.is_level, ("token", "sequence", "none"))
        check_float("grpo.is_cap", self.is_cap, 1.0, 1e6)
        check_float("grpo.kl_coef", self.kl_coef, 0.0, 1e6)
        check_float("grpo.max_grad_norm", self.max_grad_norm, 0.0, 1e9)
        check_choice("grpo.loss_agg", self.loss_agg, ("token_mean", "turn_mean", "episode_mean", "token_sum_norm"))
        if self.norm_tokens is not None:
            check_int("grpo.norm_tokens", self.norm_tokens, 1, 2**40)


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation on held-out env seeds."""

    episodes: int = 128
    """Episodes of the final evaluation (one per seed)."""
    seed: int = 10_000_000
    """First held-out seed (training uses seeds far below, SFT from ``sft.seed``)."""
    temperature: float = 0.0
    """Sampling temperature (0: greedy)."""
    batch: int = 64
    """Envs played at once."""
    every: int = 5
    """Quick evaluation every this many GRPO iterations (0: none)."""
    quick_episodes: int = 64
    """Episodes of the quick evaluations."""
    gif_episodes: int = 4
    """Episodes shown in the before/after GIF (0: no GIF)."""
    viewer_episodes: int = 8
    """Episodes of each held-out evaluation (``eval_init``, ``eval_sft``, ``eval_final``; not the quick ones) shown
    in its trajectory viewer ``OUT/viewer_<stage>.html``: frames, each turn's prompt and reply (0: no viewer)."""
    test_kwargs: dict[str, Any] = field(default_factory=dict)
    """``env.kwargs`` overrides of a second held-out evaluation after SFT and after GRPO (metric rows
    ``eval_sft_test``, ``eval_final_test``; same seeds), e.g. ``{split: test}`` for an env's test split (unseen
    visuals and phrasings); checked with ``env`` by building the env's config. Empty: no such evaluation."""

    def __post_init__(self) -> None:
        check_int("eval.episodes", self.episodes, 1, 10_000_000)
        check_int("eval.seed", self.seed, 0, 2**62)
        check_float("eval.temperature", self.temperature, 0.0, 100.0)
        check_int("eval.batch", self.batch, 1, 1_000_000)
        check_int("eval.every", self.every, 0, 10_000_000)
        check_int("eval.quick_episodes", self.quick_episodes, 1, 10_000_000)
        check_int("eval.gif_episodes", self.gif_episodes, 0, 64)
        check_int("eval.viewer_episodes", self.viewer_episodes, 0, 1024)
        if not isinstance(self.test_kwargs, Mapping):
            raise InvalidConfigError(f"eval.test_kwargs must be a mapping, got {self.test_kwargs!r}")
