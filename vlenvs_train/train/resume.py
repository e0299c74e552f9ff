"""What a run folder may be used for: resume rules (which config keys may change) and fresh-run checks.

Resuming continues the checkpoint's run exactly, so the config must be the checkpoint's. Keys in
:data:`SAFE_TO_CHANGE` do not change what is trained (logging, progress bars, evaluation cadence and size,
checkpoint cadence, threads, memory knobs, how robustly env workers run) and may differ; any other difference
is refused with :class:`ConfigChangeError` listing every differing key (``old -> new``), unless
``--allow-config-change`` is given: then the new values are used from the resume point on (e.g. the optimizer
takes the new learning rate) and the change is appended to ``OUT/config_changes.jsonl``. Keys in
:data:`NEVER_CHANGE` cannot take effect in a resumed run (the RNG states and weights come from the checkpoint)
and are refused even then.

A fresh run into a folder that already holds a run (:data:`RUN_FILES`) is refused with :class:`RunFolderError`
(use ``--resume``, another ``out_dir``, or ``--overwrite`` to delete the old run's files first).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vlenvs.core.errors import InvalidConfigError

#: Dotted config keys (or key prefixes ending in ".") that may change on resume: they do not change the
#: training trajectory. Evaluations restore the sampler's state afterwards, so their cadence and size do not
#: change training rollouts. (``torch_threads`` is not here: it can change float summation order, so a resumed
#: run would no longer equal the uninterrupted one bit for bit; change it with ``--allow-config-change``.)
SAFE_TO_CHANGE = (
    "name", "out_dir", "progress", "tensorboard", "checkpoint_every", "keep_checkpoints",
    "eval.every", "eval.quick_episodes", "eval.episodes", "eval.batch", "eval.gif_episodes",
    "eval.viewer_episodes", "eval.test_kwargs",
    "rollout.worker_timeout_s", "rollout.max_worker_restarts", "rollout.ray_address",
    "model.gradient_checkpointing",
    "sampler.vllm.gpu_memory_utilization", "sampler.vllm.kv_cache_gib",
    "sampler.server.",
)
#: Keys that cannot take effect after a resume (refused even with ``--allow-config-change``): the RNGs are
#: restored from the checkpoint (``seed``) and so are the weights (the model's identity and dtype).
NEVER_CHANGE = ("seed", "model.path", "model.tiny.", "model.dtype")
#: What makes a folder hold a run (a fresh run refuses to write into it).
RUN_FILES = ("checkpoints", "metrics.jsonl", "reference", "model")
#: Removed by ``--overwrite`` (besides :data:`OVERWRITTEN_GLOBS`).
OVERWRITTEN = (*RUN_FILES, "tensorboard", "config_changes.jsonl", "learning_curve.png", "episodes.gif", "config.yaml")
#: Also removed by ``--overwrite``: the held-out evaluations' trajectory viewers.
OVERWRITTEN_GLOBS = ("*.csv", "viewer_*.html")
ABSENT = "<absent>"


class ConfigChangeError(InvalidConfigError):
    """``--resume`` with a config that differs from the checkpoint's in keys that change training."""


class RunFolderError(InvalidConfigError):
    """A fresh run would write into a folder that holds another run."""


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"grpo": {"lr": 1}}`` -> ``{"grpo.lr": 1}`` (nested mappings flattened; lists/tuples kept whole, as lists)."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = json.loads(json.dumps(v)) if isinstance(v, (list, tuple, Mapping)) else v
    return out


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{dotted_key: (old, new)}`` for every key whose value differs (:data:`ABSENT` where one side lacks it)."""
    a, b = flatten(old), flatten(new)
    return {k: (a.get(k, ABSENT), b.get(k, ABSENT)) for k in sorted(set(a) | set(b)) if a.get(k, ABSENT) != b.get(k, ABSENT)}


def _matches(key: str, patterns: tuple[str, ...]) -> bool:
    return any(key == p or (p.endswith(".") and key.startswith(p)) or key.startswith(p + ".") for p in patterns)


def _listing(changes: Mapping[str, tuple[Any, Any]]) -> str:
    return "\n".join(f"  {k}: {old!r} -> {new!r}" for k, (old, new) in changes.items())


def check_resume_config(old: Mapping[str, Any], new: Mapping[str, Any], allow_change: bool = False,
                        checkpoint: str = "the checkpoint") -> dict[str, tuple[Any, Any]]:
    """The config changes a resume may make; raises :class:`ConfigChangeError` for any it may not."""
    changes = config_changes(old, new)
    never = {k: v for k, v in changes.items() if _matches(k, NEVER_CHANGE)}
    if never:
        raise ConfigChangeError(f"--resume cannot change these keys of {checkpoint}'s config (the weights and RNG "
                                f"states come from the checkpoint; start a new run instead):\n{_listing(never)}")
    unsafe = {k: v for k, v in changes.items() if not _matches(k, SAFE_TO_CHANGE)}
    if unsafe and not allow_change:
        raise ConfigChangeError(
            f"--resume with a config that differs from {checkpoint}'s in keys that change training:\n"
            f"{_listing(unsafe)}\nResume with the same values, or pass --allow-config-change to use the new ones "
            f"from here on (recorded in config_changes.jsonl). Keys that may always change: {', '.join(SAFE_TO_CHANGE)}")
    return changes


def check_stage_changes(changes: Mapping[str, tuple[Any, Any]], state: Mapping[str, Any],
                        has_reference: bool) -> None:
    """Refuse allowed-by-flag changes that could not take effect where the run stands, so that ``config.yaml``
    never disagrees with what ran: settings of a finished stage (``sft.*`` once SFT is done, ``grpo.*`` once
    GRPO is done: extend training with a new run from its weights instead), fewer GRPO iterations than already
    run, and a KL reference added after GRPO started without one (the reference is the policy at GRPO's start,
    which such a run did not keep)."""
    done, rl_step = set(state.get("done", ())), int(state.get("rl_step", 0))
    bad = {}
    for key, (old, new) in changes.items():
        if (key.startswith("sft.") and "sft" in done) or (key.startswith("grpo.") and "rl" in done):
            bad[key] = (old, new, "that stage is finished; to train longer or differently start a new run from "
                                  "its weights: vlenvs-train rl --init RUN out_dir=NEW ...")
        elif key == "grpo.iterations" and isinstance(new, int) and new < rl_step:
            bad[key] = (old, new, f"{rl_step} iterations have already run")
        elif key == "grpo.kl_coef" and rl_step > 0 and not has_reference and (new or 0) > 0:
            bad[key] = (old, new, "GRPO started without a KL reference, and the policy at its start was not kept")
    if bad:
        raise ConfigChangeError("--resume --allow-config-change: these changes cannot take effect in this run:\n"
                                + "\n".join(f"  {k}: {o!r} -> {n!r} ({why})" for k, (o, n, why) in bad.items()))


def preflight_fresh_run(out_dir: str | Path, resume: bool, overwrite: bool, init: str | Path | None) -> None:
    """The cheap part of the run-folder rules, for the command line before anything heavy is imported: a fresh
    run (no ``--resume``, no ``--overwrite``) into a folder that holds a run is refused at once. The trainer
    applies every rule again (``--init`` inside the folder, ``--overwrite``)."""
    if not resume and not overwrite and init is None:
        prepare_fresh_run(out_dir, overwrite=False)


def record_changes(out_dir: str | Path, changes: Mapping[str, tuple[Any, Any]], checkpoint: str) -> None:
    """Append one line to ``OUT/config_changes.jsonl``: when, from which checkpoint, every ``old -> new``."""
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "checkpoint": checkpoint,
            "changes": {k: {"old": o, "new": n} for k, (o, n) in changes.items()}}
    with (Path(out_dir) / "config_changes.jsonl").open("a") as f:
        f.write(json.dumps(line, default=str) + "\n")


def run_files(out_dir: str | Path) -> list[Path]:
    """The files/folders of ``out_dir`` that make it hold a run (non-empty ones only)."""
    out = Path(out_dir)
    found = []
    for name in RUN_FILES:
        p = out / name
        if (p.is_dir() and any(p.iterdir())) or (p.is_file() and p.stat().st_size > 0):
            found.append(p)
    return found + sorted(p for p in out.glob("*.csv") if p.stat().st_size > 0)


def prepare_fresh_run(out_dir: str | Path, overwrite: bool = False, keep: Path | None = None) -> None:
    """Refuse (:class:`RunFolderError`) to start a fresh run in a folder that holds one, or with ``overwrite``
    delete that run's files first (never ``keep``, e.g. an ``--init`` checkpoint inside it: refused instead)."""
    out = Path(out_dir)
    found = run_files(out)
    if not found:
        return
    if not overwrite:
        raise RunFolderError(
            f"out_dir {str(out)!r} already holds a run ({', '.join(p.name for p in found)}). Continue it with "
            "--resume, write to another out_dir (out_dir=...), or pass --overwrite to delete the old run's "
            "checkpoints and metrics first")
    doomed = [out / n for n in OVERWRITTEN if (out / n).exists()] + sorted(p for g in OVERWRITTEN_GLOBS
                                                                          for p in out.glob(g))
    if keep is not None:
        keep = Path(keep).resolve()
        hit = [p for p in doomed if keep == p.resolve() or p.resolve() in keep.parents]
        if hit:
            raise RunFolderError(f"--overwrite would delete the --init checkpoint {str(keep)!r}; use another out_dir")
    for p in doomed:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
