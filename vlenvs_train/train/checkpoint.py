"""Checkpoints: model and optimizer state, every RNG, the sampler's call counter, the run's position.

Written atomically (temporary file, then rename) as ``checkpoints/step_XXXXXXXX.pt``; the newest is what
``--resume`` continues from. Older ones beyond ``keep`` are deleted.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def rng_state() -> dict[str, Any]:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def save_checkpoint(out_dir: str | Path, tag: int, state: dict[str, Any], keep: int = 2) -> Path:
    """Write ``state`` (plus the RNG states) as checkpoint ``tag``; keep the newest ``keep``."""
    folder = checkpoint_dir(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{tag:08d}.pt"
    tmp = path.with_suffix(".tmp")
    torch.save({**state, "rng": rng_state()}, tmp)
    os.replace(tmp, path)
    for old in sorted(folder.glob("step_*.pt"))[:-keep]:
        old.unlink()
    return path


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    found = sorted(checkpoint_dir(out_dir).glob("step_*.pt"))
    return found[-1] if found else None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)
