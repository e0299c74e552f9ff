"""Checkpoint folders: safetensors files plus a JSON manifest, written atomically, verified on every load.

A folder holds ``manifest.json`` and one ``NAME.safetensors`` per top-level entry of the saved state that has
tensors (``model.safetensors``, ``optimizer.safetensors``, ...). The manifest carries the state's JSON part
(:mod:`~vlenvs_train.train.checkpoint.codec`), the SHA-256 and size of every file, and a checksum of itself.
Loading verifies all of them before reading a tensor and never unpickles anything; any problem is a
:class:`CheckpointError` naming the file and what is wrong with it.

Writing goes to a hidden temporary folder next to the target (files fsynced), which is then renamed into
place: a folder named ``step_XXXXXXXX`` is always complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vlenvs.core.errors import VlenvsError
from vlenvs_train.train.checkpoint.codec import decode, encode

FORMAT = "vlenvs-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9_]+\.safetensors$")


class CheckpointError(VlenvsError, OSError):
    """A checkpoint is missing, incomplete, corrupted or not one of ours; the message names the file."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unshared(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors sharing memory (tied embeddings): copy all but the first of each."""
    seen: set[tuple[int, int]] = set()
    out = {}
    for name, t in tensors.items():
        key = (t.untyped_storage().data_ptr(), t.storage_offset()) if t.numel() else (id(t), 0)
        out[name] = t.clone() if key in seen else t
        seen.add(key)
    return out


def write_folder(target: str | Path, state: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``state`` (a mapping of top-level entries) as the checkpoint folder ``target``, atomically.

    ``extra`` are JSON-able manifest fields besides the state (e.g. the tag). An existing ``target`` is
    replaced only once the new folder is complete.
    """
    from safetensors.torch import save_file

    target = Path(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    files: dict[str, dict[str, Any]] = {}
    body: dict[str, Any] = {}
    for key, value in state.items():
        tensors: dict[str, torch.Tensor] = {}
        body[key] = encode(value, tensors, key)
        if tensors:
            name = f"{key}.safetensors"
            assert _NAME.match(name), name
            path = tmp / name
            save_file(_unshared({k[len(key) + 1:]: v for k, v in tensors.items()}), str(path))
            _fsync(path)
            files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {"format": FORMAT, "version": VERSION, **(extra or {}), "files": files, "state": body}
    manifest["checksum"] = hashlib.sha256(_canonical(manifest)).hexdigest()
    (tmp / MANIFEST).write_text(json.dumps(manifest))
    _fsync(tmp / MANIFEST)
    return commit_folder(tmp, target)


def commit_folder(tmp: Path, target: Path, sync_files: bool = False) -> Path:
    """Make the finished folder ``tmp`` (a sibling of ``target``) the folder ``target``: flushed to disk first
    (its files too with ``sync_files``), an existing ``target`` replaced only then, the parent's entry synced."""
    if sync_files:
        for f in tmp.rglob("*"):
            if f.is_file():
                _fsync(f)
    _fsync(tmp)
    aside = target.parent / f".old-{target.name}-{os.getpid()}"
    if target.exists():
        os.replace(target, aside)
    os.replace(tmp, target)
    _fsync(target.parent)
    shutil.rmtree(aside, ignore_errors=True)
    return target


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The verified manifest of ``folder``: its own checksum and every listed file's size and SHA-256."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint {str(folder)!r} is not a folder (checkpoints are folders with "
                              f"{MANIFEST}; old '.pt' pickle checkpoints are not loaded)")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint file {str(path)!r} is missing (incomplete checkpoint)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint file {str(path)!r} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not a vlenvs checkpoint manifest (format {FORMAT!r} expected)")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"{str(path)!r} has checkpoint format version {manifest.get('version')!r}; this "
                              f"version of vlenvs_train reads version {VERSION}")
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    if manifest.get("checksum") != hashlib.sha256(_canonical(body)).hexdigest():
        raise CheckpointError(f"checkpoint file {str(path)!r} is corrupted (its checksum does not match its content)")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise CheckpointError(f"{str(path)!r} lists no files")
    for name, info in files.items():
        if not _NAME.match(str(name)):
            raise CheckpointError(f"{str(path)!r} lists an invalid file name {name!r}")
        file = folder / name
        if not file.is_file():
            raise CheckpointError(f"checkpoint file {str(file)!r} is missing")
        size = file.stat().st_size
        if size != info.get("bytes"):
            raise CheckpointError(f"checkpoint file {str(file)!r} has {size} bytes, the manifest says "
                                  f"{info.get('bytes')} (truncated or replaced)")
        if sha256_file(file) != info.get("sha256"):
            raise CheckpointError(f"checkpoint file {str(file)!r} is corrupted (SHA-256 differs from the manifest's)")
    return manifest


def read_folder(folder: str | Path) -> dict[str, Any]:
    """The state :func:`write_folder` wrote, verified first (raises :class:`CheckpointError`)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    manifest = read_manifest(folder)
    tensors: dict[str, torch.Tensor] = {}
    for name in manifest["files"]:
        key = name[: -len(".safetensors")]
        try:
            loaded = load_file(str(folder / name))
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"checkpoint file {str(folder / name)!r} is not a readable safetensors file: "
                                  f"{e}") from None
        tensors.update({f"{key}/{k}": v for k, v in loaded.items()})
    try:
        state = {k: decode(v, tensors) for k, v in manifest["state"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"checkpoint {str(folder)!r} is inconsistent: {type(e).__name__}: {e}") from None
    return {**{k: v for k, v in manifest.items() if k not in ("state", "files", "checksum")}, **state}
