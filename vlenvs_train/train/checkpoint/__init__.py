"""Checkpoints without pickle: safetensors + a verified JSON manifest (:mod:`.store`), a run's checkpoint
folders with fallback past bad ones (:mod:`.runs`), JSON/tensor encoding of nested state and RNGs (:mod:`.codec`).
"""

from vlenvs_train.train.checkpoint.codec import rng_state, set_rng_state
from vlenvs_train.train.checkpoint.runs import (
    CheckpointWarning,
    Loaded,
    checkpoint_dir,
    latest_checkpoint,
    latest_valid_checkpoint,
    legacy_checkpoints,
    list_checkpoints,
    load_checkpoint,
    quarantine,
    save_checkpoint,
)
from vlenvs_train.train.checkpoint.store import CheckpointError, read_folder, read_manifest, write_folder

__all__ = [
    "CheckpointError",
    "CheckpointWarning",
    "Loaded",
    "checkpoint_dir",
    "latest_checkpoint",
    "latest_valid_checkpoint",
    "legacy_checkpoints",
    "list_checkpoints",
    "load_checkpoint",
    "quarantine",
    "read_folder",
    "read_manifest",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
    "write_folder",
]
