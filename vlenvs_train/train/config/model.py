"""The ``model`` section: which model is trained and where it runs, checked without loading it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vlenvs.core.config import check_choice
from vlenvs.core.errors import InvalidConfigError, out_of_range
from vlenvs_train.train.config.fields import build_section

DTYPES = ("float32", "bfloat16", "float16")
#: ``model.device`` values (``cuda:N`` for any N); CUDA need not be present to validate a recipe.
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
DEVICE_RE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
#: A Hugging Face hub id ``org/name`` (used when no such local folder exists).
HUB_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
PATH_FORMS = "'tiny', a model folder containing config.json, or a Hugging Face hub id 'org/name'"


def check_model_path(path: str) -> None:
    """Raise unless ``path`` is ``"tiny"``, an existing model folder (with ``config.json``) or a hub id
    ``org/name`` that is not a local path. Nothing is downloaded or loaded."""
    if path == "tiny":
        return
    try:
        local = Path(path).expanduser()
        exists = local.exists()
    except (OSError, ValueError) as e:  # a NUL byte, a name too long, ...
        raise out_of_range("model.path", path, f"{PATH_FORMS}; not a usable path ({e})") from None
    if exists:
        if not local.is_dir():
            raise out_of_range("model.path", path, f"{PATH_FORMS}; this is a file, not a folder")
        if not (local / "config.json").is_file():
            raise out_of_range("model.path", path, f"{PATH_FORMS}; this folder has no config.json")
        return
    if HUB_ID_RE.fullmatch(path) and ".." not in path:
        return
    raise out_of_range("model.path", path, f"{PATH_FORMS}; no such folder")


def check_device(device: str) -> None:
    """Raise unless ``device`` is one of :data:`DEVICES` (the device itself need not exist here)."""
    if not isinstance(device, str) or not DEVICE_RE.fullmatch(device):
        raise out_of_range("model.device", device, "one of " + ", ".join(repr(d) for d in DEVICES))


@dataclass(frozen=True)
class ModelConfig:
    """Which model is trained and where it runs."""

    path: str = "tiny"
    """A model folder or hub id (Qwen2.5-VL, Qwen3-VL, ...), or ``"tiny"``: the offline tiny model built
    from ``tiny`` into the vlenvs cache. A folder must exist and hold ``config.json``; a hub id is ``org/name``."""
    tiny: dict[str, Any] = field(default_factory=dict)
    """Sizes of the tiny model (:class:`~vlenvs_train.models.tiny.TinyVLMConfig` fields) when ``path="tiny"``;
    validated by that class whatever ``path`` is."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """Dtype of the trained weights."""
    device: str = "auto"
    """``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``."""
    gradient_checkpointing: bool = False
    """Trade compute for memory in the backward pass (large models)."""

    def __post_init__(self) -> None:
        check_choice("model.dtype", self.dtype, DTYPES)
        if not isinstance(self.path, str) or not self.path:
            raise InvalidConfigError(f"model.path is {self.path!r}; give {PATH_FORMS}")
        check_model_path(self.path)
        check_device(self.device)
        from vlenvs_train.models.tiny import TinyVLMConfig  # no torch: the model is built only when loaded

        build_section(TinyVLMConfig, self.tiny, "model.tiny", prefix=True)
