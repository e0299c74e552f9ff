"""Servable model folders: what ``transformers`` and vLLM load as is, from the trainer's model or any checkpoint.

A folder holds ``config.json``, ``generation_config.json`` and ``model.safetensors`` (``save_pretrained`` of
the trained model, in the run's ``model.dtype``), plus the base model folder's processing files copied as they
are (tokenizer, chat template, image and video preprocessor configs, processor config: vLLM builds the stock
processor, which wants the video one), plus ``vlenvs_export.json`` saying where the weights came from. Written
to a temporary folder and renamed into place.

The trainer writes ``OUT/model/`` at the end of every training stage (SFT, GRPO: the latest stage's weights);
``vlenvs-train export RUN_DIR [--checkpoint PATH] DIR`` writes one from a run's newest (or any) checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.train.checkpoint.store import commit_folder

#: Files of the base model folder never copied (weights, and the tiny builder's own record).
_SKIP_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf")
_SKIP_NAMES = ("config.json", "generation_config.json", "model.safetensors.index.json", "tiny_vlm.json",
               "vlenvs_export.json")


def source_folder(source: str | Path) -> Path | None:
    """The local folder of a model folder or hub id (from the local hub cache only; ``None`` if not there)."""
    path = Path(source)
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(source), local_files_only=True))
    except Exception:  # noqa: BLE001 - not a cached hub model: the processor is saved instead
        return None


def write_model_folder(model: Any, source: str | Path, target: str | Path, provenance: dict[str, Any],
                       processor: Any = None) -> Path:
    """Write ``model`` as a Hugging Face folder ``target`` (replaced atomically), with the processing files of
    the base model ``source`` (its folder, or ``processor.save_pretrained`` when it is not local)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    folder = source_folder(source)
    if folder is not None:
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.name not in _SKIP_NAMES and not f.name.endswith(_SKIP_SUFFIXES):
                shutil.copy2(f, tmp / f.name)
    elif processor is not None:
        processor.save_pretrained(str(tmp))
    (tmp / "vlenvs_export.json").write_text(json.dumps({"base_model": str(source), **provenance}, indent=1))
    return commit_folder(tmp, target, sync_files=True)


def export_checkpoint(run_dir: str | Path, target: str | Path, checkpoint: str | Path | None = None) -> Path:
    """Write the model of a run's checkpoint (default: its newest valid one) as a servable folder ``target``."""
    from vlenvs_train.train import backends
    from vlenvs_train.train.checkpoint import latest_valid_checkpoint, load_checkpoint
    from vlenvs_train.train.config import config_from_dict

    run_dir = Path(run_dir)
    if checkpoint is not None:
        path = Path(checkpoint)
        state = load_checkpoint(path)
    else:
        if not run_dir.is_dir():
            raise InvalidConfigError(f"export: run folder {str(run_dir)!r} does not exist")
        loaded = latest_valid_checkpoint(run_dir)
        if loaded is None:
            raise InvalidConfigError(f"export: no checkpoint in {str(run_dir)!r} (expected checkpoints/step_*/)")
        path, state = loaded.path, loaded.state
    target = Path(target)
    if target.exists() and any(target.iterdir()) and not (target / "vlenvs_export.json").exists():
        raise InvalidConfigError(f"export: {str(target)!r} exists and is not an exported model folder; "
                                 "give a new or empty folder")
    # the run may have moved since: its recorded out_dir is not where it is now, and export writes nothing there
    config = config_from_dict({**state["config"], "out_dir": str(run_dir if checkpoint is None else path.parent.parent)})
    model, processor = backends.load_trainable(replace(config.model, device="cpu", gradient_checkpointing=False))
    model.load_state_dict(state["model"])
    return write_model_folder(model, backends.model_path(config.model), target,
                              {"checkpoint": str(path), "rl_step": state["state"]["rl_step"],
                               "stages_done": state["state"]["done"]}, processor)
