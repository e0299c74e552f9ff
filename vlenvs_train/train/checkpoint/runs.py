"""A run's checkpoints: ``OUT/checkpoints/step_XXXXXXXX/`` folders, newest first, with fallback past bad ones.

:func:`save_checkpoint` writes a new folder atomically and only then deletes those beyond ``keep``.
:func:`latest_valid_checkpoint` verifies the newest one and, when it is bad, warns naming the file and what is
wrong and falls back to the previous one; when none is valid it raises :class:`CheckpointError` listing every
one it tried.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlenvs_train.train.checkpoint.store import CheckpointError, read_folder, write_folder

_STEP = re.compile(r"^step_(\d{8,})$")


class CheckpointWarning(UserWarning):
    """A checkpoint was skipped (corrupted or incomplete) and an older one is used instead."""


@dataclass
class Loaded:
    """A verified checkpoint: its folder and its state (manifest fields and decoded entries)."""

    path: Path
    state: dict[str, Any]
    skipped: list[tuple[Path, str]]
    """Newer checkpoints that were bad, with what was wrong (empty when the newest was fine)."""


def checkpoint_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def list_checkpoints(out_dir: str | Path) -> list[Path]:
    """Checkpoint folders of the run, oldest first (by tag)."""
    folder = checkpoint_dir(out_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    """The newest checkpoint folder (not verified: :func:`latest_valid_checkpoint` loads one safely)."""
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def legacy_checkpoints(out_dir: str | Path) -> list[Path]:
    """Old pickle checkpoints (``step_*.pt``), which are never loaded."""
    folder = checkpoint_dir(out_dir)
    return sorted(folder.glob("step_*.pt")) if folder.is_dir() else []


def save_checkpoint(out_dir: str | Path, tag: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` as ``checkpoints/step_{tag:08d}``; then delete all but the newest ``keep`` (never the
    new one)."""
    path = write_folder(checkpoint_dir(out_dir) / f"step_{tag:08d}", state, {"tag": int(tag)})
    found = list_checkpoints(out_dir)
    for old in [p for p in found if p != path][: max(0, len(found) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """One checkpoint folder's verified state (raises :class:`CheckpointError` naming what is wrong)."""
    return read_folder(path)


def latest_valid_checkpoint(out_dir: str | Path) -> Loaded | None:
    """The newest checkpoint that verifies, warning about each newer bad one; ``None`` when the run has no
    checkpoint at all; :class:`CheckpointError` when it has some but none is valid."""
    candidates = list_checkpoints(out_dir)
    if not candidates:
        legacy = legacy_checkpoints(out_dir)
        if legacy:
            raise CheckpointError(f"{str(legacy[-1])!r} is an old pickle checkpoint ('.pt'); it is not loaded "
                                  "(loading a pickle can run code). Start the run afresh (--overwrite)")
        return None
    skipped: list[tuple[Path, str]] = []
    for path in reversed(candidates):
        try:
            state = read_folder(path)
        except CheckpointError as e:
            skipped.append((path, str(e)))
            continue
        for bad, why in skipped:
            warnings.warn(f"SKIPPING BAD CHECKPOINT {str(bad)!r}: {why}; using the older {str(path)!r}",
                          CheckpointWarning, stacklevel=2)
        return Loaded(path, state, skipped)
    raise CheckpointError(f"no valid checkpoint in {str(checkpoint_dir(out_dir))!r}; tried "
                          + "; ".join(f"{str(p)!r}: {why}" for p, why in skipped))


def quarantine(paths: list[Path]) -> list[Path]:
    """Rename bad checkpoint folders to ``bad_step_...`` (kept for inspection, never loaded or overwritten)."""
    moved = []
    for p in paths:
        target = p.with_name(f"bad_{p.name}")
        k = 1
        while target.exists():
            target, k = p.with_name(f"bad{k}_{p.name}"), k + 1
        p.rename(target)
        moved.append(target)
    return moved
