"""The training run: evaluate, SFT, evaluate, multi-turn GRPO (sync weights after each update), evaluate.

GRPO rollouts and evaluations play in this process (``rollout.backend="sync"``) or on the env-worker
:class:`~vlenvs_train.rollout.pipeline.RolloutPipeline` (``"inline"``/``"process"``/``"ray"``): built on first
use, kept across iterations (weights are synced between its calls, while it is idle), closed when the run ends.

Stages run in order and each is recorded in the checkpoint when finished; GRPO also checkpoints every
``checkpoint_every`` iterations (:mod:`~vlenvs_train.train.checkpoint`: safetensors + a verified JSON manifest,
never a pickle). ``resume=True`` loads the newest valid checkpoint (model, optimizer, RNGs, the sampler's
state, the position in the run, the metric rows written so far; a corrupted newer one is reported and set
aside as ``bad_step_...``) and continues: rows written after that checkpoint are dropped and recomputed
identically, so nothing is lost or duplicated. What a resume may change in the config and when a fresh run
may use a folder: :mod:`~vlenvs_train.train.resume`. GRPO with ``kl_coef > 0`` saves its reference weights
once as ``OUT/reference/``. Each training stage ends by writing ``OUT/model/`` (:mod:`~vlenvs_train.train.export`).
Each held-out evaluation (``eval_*``) writes its trajectory viewer ``OUT/viewer_<stage>.html``
(``eval.viewer_episodes``; :mod:`vlenvs_train.viewer`).
Evaluations leave the sampler's state as they found it, so their cadence does not change training.
Low-precision models (``model.dtype`` bf16/fp16) train on fp32 master weights
(:mod:`~vlenvs_train.train.precision`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlenvs.core.errors import InvalidConfigError, invalid_choice
from vlenvs_train.adapter.agent import BatchedAgent
from vlenvs_train.algos.grpo import signal_fraction, turn_advantages
from vlenvs_train.algos.sft import TeacherPolicy, jsonl_examples
from vlenvs_train.policies.base import PolicyOutput
from vlenvs_train.models.processor import vision_special_token_ids
from vlenvs_train.policies.encode import PromptEncoder
from vlenvs_train.policies.sampler import Sampler, ScoringSpec, check_trainable_scoring
from vlenvs_train.rollout.pipeline import RolloutPipeline
from vlenvs_train.rollout.envs import EnvFactory
from vlenvs_train.train import backends, checkpoint
from vlenvs_train.train.config import TrainConfig, save_config
from vlenvs_train.train.export import write_model_folder
from vlenvs_train.train.metrics import MetricsLogger
from vlenvs_train.train.plots import episodes_gif, learning_curve
from vlenvs_train.train.precision import make_optimizer
from vlenvs_train.train.resume import check_resume_config, check_stage_changes, prepare_fresh_run, record_changes
from vlenvs_train.train.rollout import episode_limit, episode_metrics, make_env, pipeline_metrics, play_many, play_seeds
from vlenvs_train.train.update import Scoring, grpo_update, sft_epoch

#: Every stage, in run order. ``eval_*`` evaluate the model at that point on the held-out seeds.
STAGES = ("eval_init", "sft", "eval_sft", "rl", "eval_final")
COMMAND_STAGES = {"run": STAGES, "sft": ("sft", "eval_sft"), "rl": ("rl", "eval_final"), "eval": ("eval_final",)}


def _progress(iterable: Any, enabled: bool, **kw: Any) -> Any:
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, dynamic_ncols=True, **kw)


class Trainer:
    """One run of ``config`` writing to ``config.out_dir``.

    Args:
        config: the validated run config.
        stages: which of :data:`STAGES` to run (in run order).
        resume: continue from the newest valid checkpoint in ``out_dir`` (config changes: see
            :mod:`~vlenvs_train.train.resume`).
        init: a checkpoint folder (or run folder) whose model weights to start from (e.g. an SFT run's).
        overwrite: a fresh run into an ``out_dir`` that holds another run deletes that run's files first
            (without it: :class:`~vlenvs_train.train.resume.RunFolderError`).
        allow_config_change: with ``resume``, use config changes that alter training (recorded in
            ``OUT/config_changes.jsonl``) instead of refusing them.
    """

    def __init__(self, config: TrainConfig, stages: Sequence[str] = STAGES, resume: bool = False,
                 init: str | Path | None = None, overwrite: bool = False, allow_config_change: bool = False) -> None:
        for s in stages:
            if s not in STAGES:
                raise invalid_choice("stage", s, STAGES)
        self.config, self.stages = config, [s for s in STAGES if s in stages]
        self.out = Path(config.out_dir)
        # every check on the run folder, the checkpoint and the config before a model loads
        loaded, changes, init_weights = self._preflight(resume, init, overwrite, allow_config_change)
        self.out.mkdir(parents=True, exist_ok=True)
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self._seed_everything(config.seed)
        self.model, self.processor = backends.load_trainable(config.model)
        self.encoder = PromptEncoder(self.processor)
        self.sampler = backends.make_sampler(config.sampler, config.model, self.model, self.processor,
                                             weight_sync_dir=self.out / "sampler_weights")
        self.scoring, self.sft_scoring = self._scorings()
        self.state: dict[str, Any] = {"done": [], "rl_step": 0, "sft_epoch": 0, "metric_rows": 0, "frames": {}}
        self.optimizer: torch.optim.Optimizer | None = None
        self.phase = ""
        self.ref_model = None
        self.rng = np.random.default_rng(config.seed)
        if loaded is not None:
            checkpoint.quarantine([p for p, _ in loaded.skipped])
            if changes:
                record_changes(self.out, changes, str(loaded.path))
            self._restore(loaded.state)
        elif init_weights is not None:
            try:
                self.model.load_state_dict(init_weights)
            except RuntimeError as e:
                raise checkpoint.CheckpointError(f"--init {str(init)!r}: its weights do not fit model.path "
                                                 f"{config.model.path!r}: {e}") from None
            backends.sync_weights(self.sampler, self.model)
        elif "rl" in self.stages and config.grpo.iterations > 0 and config.sampler.backend == "openai_server":
            backends.sync_weights(self.sampler, self.model)  # servers start from exactly the trainer's weights
        self.logger = MetricsLogger(self.out, config.tensorboard,
                                    purge_step=self.state["rl_step"] + 1 if loaded is not None else None)
        if loaded is not None:
            keep = self.state["metric_rows"]
            counter = iter(range(10**12))
            self.logger.truncate(lambda _row: next(counter) < keep)
        save_config(config, self.out / "config.yaml")
        self.rl_env = None
        self._pipeline: RolloutPipeline | None = None
        self._episode_tokens: int | None = None

    def _preflight(self, resume: bool, init: str | Path | None, overwrite: bool,
                   allow_config_change: bool) -> tuple[checkpoint.Loaded | None, dict, dict | None]:
        """The checkpoint to resume (verified) and the config changes it may take, or the ``--init`` weights
        (verified); refuses a fresh run into a folder holding another run (unless ``overwrite``)."""
        if resume and overwrite:
            raise InvalidConfigError("--resume and --overwrite contradict each other: choose one")
        if resume and init is not None:
            raise InvalidConfigError("--resume continues the run's own checkpoint; --init cannot be combined with it")
        if resume:
            loaded = checkpoint.latest_valid_checkpoint(self.out)
            if loaded is None:
                raise InvalidConfigError(f"--resume: no checkpoint in {str(self.out)!r} "
                                         "(expected checkpoints/step_*/)")
            changes = check_resume_config(loaded.state["config"], self.config.to_dict(), allow_config_change,
                                          str(loaded.path))
            check_stage_changes(changes, loaded.state["state"], (self.out / "reference").is_dir())
            return loaded, changes, None
        init_path, init_state = self._init_checkpoint(init) if init is not None else (None, None)
        prepare_fresh_run(self.out, overwrite, keep=init_path)
        return None, {}, init_state["model"] if init_state is not None else None

    @staticmethod
    def _init_checkpoint(init: str | Path) -> tuple[Path, dict[str, Any]]:
        """The checkpoint folder ``--init`` names (a checkpoint folder, or a run folder's newest valid one) and its
        verified state, read once."""
        path = Path(init)
        if not path.exists():
            raise InvalidConfigError(f"--init: {str(path)!r} does not exist")
        if (path / "manifest.json").exists() or path.suffix == ".pt":
            return path, checkpoint.load_checkpoint(path)
        loaded = checkpoint.latest_valid_checkpoint(path)
        if loaded is None:
            raise InvalidConfigError(f"--init: no checkpoint in {str(path)!r} (a run folder or a checkpoint folder)")
        return loaded.path, loaded.state

    def _scorings(self) -> tuple[Scoring, Scoring]:
        """GRPO's and SFT's re-scoring; checks that the sampler samples what GRPO re-scores (typed error)."""
        expected = ScoringSpec(temperature=backends.sampling_config(self.config.sampler).scoring_temperature,
                               suppressed_ids=tuple(vision_special_token_ids(self.encoder.tokenizer)))
        if "rl" in self.stages and self.config.grpo.iterations > 0:
            if not isinstance(self.sampler, Sampler):
                raise invalid_choice("sampler for training", type(self.sampler).__name__,
                                     ["a Sampler (vlenvs_train.policies.sampler): hf, vllm_engine, "
                                      "openai_server"])
            check_trainable_scoring(expected, self.sampler.scoring_spec, type(self.sampler).__name__)
        pad = self.encoder.pad_id
        return Scoring(pad, expected.temperature, expected.suppressed_ids), Scoring(pad, 1.0, expected.suppressed_ids)

    # ------------------------------------------------------------------ run
    def run(self) -> dict[str, Any]:
        """Run the stages not done yet; returns the last evaluation of each stage."""
        try:
            for stage in self.stages:
                if stage in self.state["done"]:
                    continue
                if stage.startswith("eval_"):
                    self.evaluate_stage(stage)
                elif stage == "sft":
                    self.sft()
                    self.export_model(stage)
                else:
                    self.rl()
                    self.export_model(stage)
                self.state["done"].append(stage)
                self.save()
        except BaseException:
            self.close()  # no env workers left behind by a failed run
            raise
        self.finish()
        return {r["stage"]: r for r in self.logger.rows("eval")}

    def pipeline(self) -> RolloutPipeline | None:
        """The env-worker rollout pipeline (started on first use, then kept); ``None`` for ``rollout.backend=sync``."""
        config = self.config.rollout.pipeline_config()
        if config is not None and self._pipeline is None:
            self._pipeline = RolloutPipeline(EnvFactory.from_config(self.config.env), self.sampler, self.config.agent,
                                             config)
        return self._pipeline

    def close(self) -> None:
        """Stop the pipeline's env workers (if any were started)."""
        if self._pipeline is not None:
            self._pipeline.close()
            self._pipeline = None

    def finish(self) -> None:
        self.close()
        rows = self.logger.rows()
        if any(r["kind"] in ("train", "eval") for r in rows):
            learning_curve(rows, self.out / "learning_curve.png", f"{self.config.name}: {self.config.env.id}")
        frames = self.state["frames"]
        if self.config.eval.gif_episodes and "eval_init" in frames and len(frames) > 1:
            last = [k for k in ("eval_final", "eval_sft") if k in frames][0]
            episodes_gif(frames["eval_init"], frames[last], self.out / "episodes.gif")
        self.logger.close()

    # ---------------------------------------------------------------- stages
    def export_model(self, stage: str) -> Path:
        """Write the current weights as a servable Hugging Face folder ``OUT/model/`` (see :mod:`.export`)."""
        return write_model_folder(self.model, backends.model_path(self.config.model), self.out / "model",
                                  {"stage": stage, "rl_step": self.state["rl_step"],
                                   "sft_epoch": self.state["sft_epoch"]}, self.processor)

    @contextlib.contextmanager
    def _sampler_untouched(self) -> Iterator[None]:
        """Evaluations leave the sampler's state (call counter: its sampling seeds) as they found it, so their
        cadence and size do not change training rollouts."""
        saved = self.sampler.state_dict() if isinstance(self.sampler, Sampler) else None
        try:
            yield
        finally:
            if saved is not None:
                self.sampler.load_state_dict(saved)

    def evaluate_stage(self, stage: str) -> dict[str, float]:
        """The held-out evaluation ``stage``: its metrics row, the GIF's frames, and (``eval.viewer_episodes``
        > 0) its trajectory viewer ``OUT/viewer_<stage>.html``, rewritten whole when a resumed run reruns it."""
        frames: list[list[np.ndarray]] = []
        t0 = time.perf_counter()
        viewer = self.out / f"viewer_{stage}.html" if self.config.eval.viewer_episodes else None
        with self._sampler_untouched():
            metrics = backends.evaluate(self.sampler, self.config.env, self.config.agent, self.config.eval,
                                        frames=frames, pipeline=self.pipeline(), viewer=viewer,
                                        viewer_title=f"{self.config.name}: {stage} ({self.config.env.id})")
        self.state["frames"][stage] = frames
        row = self.logger.log("eval", self.state["rl_step"], {"stage": stage, **metrics,
                                                              "seconds": time.perf_counter() - t0})
        self._count_row()
        if self.config.eval.test_kwargs and stage != "eval_init":
            self.evaluate_test(stage)
        return row

    def evaluate_test(self, stage: str) -> dict[str, float]:
        """The held-out evaluation on the test env (``eval.test_kwargs`` over ``env.kwargs``, e.g. the test
        split), logged as stage ``<stage>_test``; played in this process (the pipeline's workers host the
        training env)."""
        t0 = time.perf_counter()
        with self._sampler_untouched():
            metrics = backends.evaluate(self.sampler, self.config.test_env(), self.config.agent, self.config.eval)
        row = self.logger.log("eval", self.state["rl_step"], {"stage": f"{stage}_test", **metrics,
                                                              "seconds": time.perf_counter() - t0})
        self._count_row()
        return row

    def sft_examples(self) -> list[PolicyOutput]:
        cfg = self.config.sft
        if cfg.source == "jsonl":
            return jsonl_examples(cfg.dataset, self.encoder)
        teacher = TeacherPolicy(self.encoder, self.config.agent.answer_format)
        seeds = list(range(cfg.seed, cfg.seed + cfg.num_episodes))
        episodes = play_many(self.config.env, self.config.agent, teacher, seeds, self.config.eval.batch)
        return [r.output for e in episodes for r in e.records]

    def sft(self) -> None:
        cfg = self.config.sft
        if cfg.source == "none" or cfg.epochs == 0:
            return
        examples = self.sft_examples()
        self._optimizer("sft", cfg.lr, 0.0)
        for epoch in _progress(range(self.state["sft_epoch"], cfg.epochs), self.config.progress, desc="SFT"):
            t0 = time.perf_counter()
            stats = sft_epoch(self.model, self.optimizer, examples, cfg, self.sft_scoring, self.rng)
            self.logger.log("sft", epoch + 1, {**stats, "examples": len(examples),
                                               "seconds": time.perf_counter() - t0})
            self._count_row()
            self.state["sft_epoch"] = epoch + 1
        backends.sync_weights(self.sampler, self.model)

    def rl(self) -> None:
        cfg = self.config.grpo
        self._optimizer("rl", cfg.lr, cfg.weight_decay)
        if cfg.kl_coef > 0 and self.ref_model is None:
            self.ref_model = self._reference_model()
        if self.pipeline() is None:
            self.rl_env = self.rl_env or make_env(self.config.env, cfg.groups * cfg.group_size)
        bar = _progress(range(self.state["rl_step"], cfg.iterations), self.config.progress, desc="GRPO",
                        initial=self.state["rl_step"], total=cfg.iterations)
        for step in bar:
            row = self.rl_iteration(step)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(success=f"{row['success_rate']:.2f}", invalid=f"{row['invalid_rate']:.2f}")
            self.state["rl_step"] = step + 1
            every = self.config.eval.every
            if every and (step + 1) % every == 0 and step + 1 < cfg.iterations:
                self.quick_eval()
            if self.config.checkpoint_every and (step + 1) % self.config.checkpoint_every == 0:
                self.save()

    def rl_iteration(self, step: int) -> dict[str, Any]:
        cfg = self.config.grpo
        t0 = time.perf_counter()
        first = cfg.seed + step * cfg.groups
        seeds = [first + g for g in range(cfg.groups) for _ in range(cfg.group_size)]
        agent_config = replace(self.config.agent, seed=first)
        pipe, extra = self.pipeline(), {}
        if pipe is None:
            episodes = play_seeds(self.rl_env, BatchedAgent(self.sampler, self.rl_env, agent_config), seeds)
        else:
            episodes = pipe.play_seeds(seeds, agent_config=agent_config)
            extra = pipeline_metrics([pipe.last_stats])
        t_roll = time.perf_counter() - t0
        groups = [k // cfg.group_size for k in range(len(episodes))]
        advs = turn_advantages([[r.reward for r in e.records] for e in episodes], groups, cfg.advantage,
                               cfg.advantage_scale, cfg.gamma)
        turns = [r.output for e in episodes for r in e.records]
        version = self.sampler.weight_version
        stale = sum(t.weight_version is not None and t.weight_version < version for t in turns)
        turn_episode = [k for k, e in enumerate(episodes) for _ in e.records]
        adv = np.concatenate(advs) if advs else np.zeros(0)
        t1 = time.perf_counter()
        stats = grpo_update(self.model, self.optimizer, turns, adv, cfg, self.scoring, self.rng, self.ref_model,
                            episodes=turn_episode, norm_tokens=self._norm_tokens())
        t2 = time.perf_counter()
        backends.sync_weights(self.sampler, self.model)
        t_sync = time.perf_counter() - t2
        tokens = sum(len(t.response_ids) for t in turns)
        row = self.logger.log("train", step + 1, {
            **episode_metrics(episodes), **stats, "turns": len(turns), "stale_fraction": stale / max(len(turns), 1),
            "signal_frac": signal_fraction(np.array([e.total_reward for e in episodes]), np.array(groups)),
            "adv_abs_mean": float(np.abs(adv).mean()) if len(adv) else 0.0,
            "reply_tokens": tokens / max(len(turns), 1), "rollout_seconds": t_roll, "update_seconds": t2 - t1,
            "sync_seconds": t_sync, "rollout_tokens_per_s": tokens / max(t_roll, 1e-9), **extra,
            **backends.sampler_counters(self.sampler), "seconds": time.perf_counter() - t0})
        self._count_row()
        return row

    def _norm_tokens(self) -> int | None:
        """``grpo.norm_tokens``, or for ``loss_agg="token_sum_norm"`` the most tokens an episode can have."""
        cfg = self.config.grpo
        if cfg.norm_tokens is not None or cfg.loss_agg != "token_sum_norm":
            return cfg.norm_tokens
        if self._episode_tokens is None:
            env = make_env(self.config.env, 1)
            try:
                self._episode_tokens = self.config.sampler.max_new_tokens * episode_limit(env)
            finally:
                env.close()
        return self._episode_tokens

    def quick_eval(self) -> None:
        with self._sampler_untouched():
            metrics = backends.evaluate(self.sampler, self.config.env, self.config.agent, self.config.eval,
                                        episodes=self.config.eval.quick_episodes, pipeline=self.pipeline())
        self.logger.log("eval", self.state["rl_step"], {"stage": "quick", **metrics, "seconds": 0.0})
        self._count_row()

    # ----------------------------------------------------------- internals
    def _count_row(self) -> None:
        self.state["metric_rows"] += 1

    def _optimizer(self, phase: str, lr: float, weight_decay: float, state: dict | None = None) -> None:
        if self.phase == phase and self.optimizer is not None:
            return
        self.optimizer = make_optimizer(self.model, lr, weight_decay, previous=self.optimizer)
        self.phase = phase
        if state is not None:
            self.optimizer.load_state_dict(state)
            for group in self.optimizer.param_groups:  # the config's values (they may have changed on resume)
                group["lr"], group["weight_decay"] = lr, weight_decay

    def _reference_model(self) -> Any:
        """The KL reference: the weights at the start of GRPO, saved once as ``OUT/reference/`` (hashed) so a
        resumed run uses the same reference, not its resumed policy."""
        folder = self.out / "reference"
        if folder.exists():
            weights = checkpoint.read_folder(folder)["model"]
        else:
            weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            checkpoint.write_folder(folder, {"model": weights})
        ref, _ = backends.load_trainable(self.config.model)
        ref.load_state_dict(weights)
        return ref

    def save(self) -> Path:
        tag = len(self.state["done"]) * 10**7 + self.state["rl_step"] * 100 + self.state["sft_epoch"]
        return checkpoint.save_checkpoint(self.out, tag, {
            "model": self.model.state_dict(), "phase": self.phase,
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "state": self.state, "trainer_rng": self.rng.bit_generator.state, "rng": checkpoint.rng_state(),
            "sampler": self.sampler.state_dict() if isinstance(self.sampler, Sampler) else None,
            "config": self.config.to_dict(),
        }, keep=self.config.keep_checkpoints)

    def _restore(self, ckpt: dict[str, Any]) -> None:
        try:
            self.model.load_state_dict(ckpt["model"])
            self.state = ckpt["state"]
            self.rng.bit_generator.state = ckpt["trainer_rng"]
            if ckpt["optimizer"] is not None:
                sft = ckpt["phase"] == "sft"
                cfg = self.config.sft if sft else self.config.grpo
                self._optimizer(ckpt["phase"], cfg.lr, 0.0 if sft else cfg.weight_decay, ckpt["optimizer"])
            checkpoint.set_rng_state(ckpt["rng"])
        except (KeyError, ValueError, TypeError, RuntimeError) as e:
            raise checkpoint.CheckpointError(f"checkpoint of {str(self.out)!r} does not fit this model/trainer: "
                                             f"{type(e).__name__}: {e}") from None
        backends.sync_weights(self.sampler, self.model)
        if ckpt.get("sampler") is not None and isinstance(self.sampler, Sampler):
            self.sampler.load_state_dict(ckpt["sampler"])  # after the sync: the checkpoint's weight version

    @staticmethod
    def _seed_everything(seed: int) -> None:
        import random

        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
