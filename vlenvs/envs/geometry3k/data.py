"""Loaders of the real Geometry3K dataset from a local directory, in both layouts in use:

* the original per-problem folders ``<split>/<id>/data.json`` + ``img_diagram.png``
  (split folders ``train``, ``val`` or ``validation``, ``test``);
* the parquet layout of RL frameworks, ``data/<split>-*.parquet`` with columns ``images``,
  ``problem``, ``answer``, ``choices``, ``ground_truth``.

Nothing is downloaded. Every problem is checked while loading (fields present, four choices, a letter
A-D, an image that decodes); a missing or corrupt file raises :class:`DatasetError` naming it, so a
split either loads completely or not at all.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from vlenvs.core.errors import DatasetError, invalid_choice
from vlenvs.envs.geometry3k.config import DATA_DIR_ENV, SPLITS

FOLDER_NAMES = {"train": ("train",), "validation": ("val", "validation"), "test": ("test",)}
PARQUET_COLUMNS = ("images", "problem", "answer", "choices", "ground_truth")
LETTERS = "ABCD"


@dataclass(frozen=True)
class Record:
    """One Geometry3K problem."""

    id: str
    split: str
    problem: str
    choices: tuple[str, ...]
    letter: str
    """The correct choice letter."""
    answer: str
    """Text of the correct choice (often LaTeX, e.g. ``2\\sqrt{3}``)."""
    image_png: bytes
    precise_value: float | None = None
    problem_type: tuple[str, ...] = ()


def resolve_root(data_dir: str | None) -> Path:
    """The dataset directory from the argument or ``$VLENVS_GEOMETRY3K_DIR``."""
    raw = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not raw:
        raise DatasetError(
            f"no Geometry3K directory given: pass data_dir=... or set ${DATA_DIR_ENV} to a local copy "
            "(per-problem folders <split>/<id>/data.json, or data/<split>-*.parquet); nothing is downloaded"
        )
    root = Path(raw).expanduser()
    if not root.is_dir():
        raise DatasetError(f"Geometry3K directory {str(root)!r} does not exist or is not a directory")
    return root


def load_split(data_dir: str | None, split: str) -> tuple[Record, ...]:
    """Load every problem of ``split`` from whichever layout ``data_dir`` holds."""
    if split not in SPLITS:
        raise invalid_choice("split", split, SPLITS)
    root = resolve_root(data_dir)
    parquet_dir = root / "data" if (root / "data").is_dir() else root
    if any(parquet_dir.glob("*.parquet")):
        files = sorted(parquet_dir.glob(f"{split}-*.parquet"))
        if not files:
            found = sorted(p.name for p in parquet_dir.glob("*.parquet"))
            raise DatasetError(f"no {split}-*.parquet file in {str(parquet_dir)!r} (found: {', '.join(found)})")
        return tuple(r for f in files for r in _read_parquet(f, split))
    for name in FOLDER_NAMES[split]:
        if (root / name).is_dir():
            return _read_folders(root / name, split)
    raise DatasetError(
        f"{str(root)!r} holds neither layout of Geometry3K for split {split!r}: expected "
        f"{' or '.join(str(root / n) for n in FOLDER_NAMES[split])} with <id>/data.json, or data/{split}-*.parquet"
    )


def _check_image(data: bytes, where: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except Exception as e:  # noqa: BLE001 - pillow raises many types for corrupt data
        raise DatasetError(f"corrupt or unreadable diagram image in {where}: {e}") from None
    return data


def _choices(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise DatasetError(f"{where}: 'choices' must be a list of 4 answers, got {value!r}")
    return tuple(str(c) for c in value)


def _letter(value: Any, where: str, field: str) -> str:
    letter = str(value).strip().upper()
    if letter not in LETTERS:
        raise DatasetError(f"{where}: {field!r} must be a letter A-D, got {value!r}")
    return letter


def _folder_order(d: Path) -> tuple[bool, int, str]:
    return (not d.name.isdigit(), int(d.name) if d.name.isdigit() else 0, d.name)


def _read_folders(split_dir: Path, split: str) -> tuple[Record, ...]:
    dirs = sorted((d for d in split_dir.iterdir() if d.is_dir()), key=_folder_order)
    if not dirs:
        raise DatasetError(f"split folder {str(split_dir)!r} holds no problem folders")
    records = []
    for d in dirs:
        meta_path, img_path = d / "data.json", d / "img_diagram.png"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DatasetError(f"missing file {str(meta_path)!r}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DatasetError(f"corrupt file {str(meta_path)!r}: {e}") from None
        where = str(meta_path)
        if not isinstance(meta, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        for key in ("problem_text", "choices", "answer"):
            if key not in meta:
                raise DatasetError(f"{where}: missing field {key!r}")
        choices = _choices(meta["choices"], where)
        letter = _letter(meta["answer"], where, "answer")
        try:
            png = img_path.read_bytes()
        except OSError:
            raise DatasetError(f"missing or unreadable file {str(img_path)!r}") from None
        precise = meta.get("precise_value")
        try:
            precise = float(precise) if precise is not None else None
        except (TypeError, ValueError):
            precise = None
        kinds = tuple(str(k) for k in (meta.get("problem_type_graph") or []) + (meta.get("problem_type_goal") or []))
        records.append(
            Record(
                id=str(meta.get("id", d.name)),
                split=split,
                problem=str(meta["problem_text"]),
                choices=choices,
                letter=letter,
                answer=choices[LETTERS.index(letter)],
                image_png=_check_image(png, str(img_path)),
                precise_value=precise,
                problem_type=kinds,
            )
        )
    return tuple(records)


def _image_bytes(value: Any) -> bytes | None:
    """The PNG bytes of an ``images`` cell: a list of one image struct, a struct, or raw bytes."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("bytes")
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None


def _read_parquet(path: Path, split: str) -> list[Record]:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except ImportError:
        raise DatasetError(f"reading {str(path)!r} needs pyarrow: pip install 'vlenvs[geometry]'") from None
    except Exception as e:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise DatasetError(f"corrupt or unreadable parquet file {str(path)!r}: {e}") from None
    missing = [c for c in PARQUET_COLUMNS if c not in table.column_names]
    if missing:
        raise DatasetError(f"{str(path)!r} lacks column(s) {', '.join(missing)}; has {', '.join(table.column_names)}")
    records = []
    for row, item in enumerate(table.to_pylist()):
        where = f"{path} row {row}"
        png = _image_bytes(item["images"])
        if png is None:
            raise DatasetError(f"{where}: 'images' holds no image bytes")
        choices = _choices(item["choices"], where)
        letter = _letter(item["ground_truth"], where, "ground_truth")
        problem = str(item["problem"]).replace("<image>", "").strip()
        records.append(
            Record(
                id=str(item.get("id", f"{path.stem}-{row}")),
                split=split,
                problem=problem,
                choices=choices,
                letter=letter,
                answer=str(item["answer"]),
                image_png=_check_image(png, where),
            )
        )
    return records
