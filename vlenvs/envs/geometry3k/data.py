"""Loaders of the real Geometry3K dataset from a local directory, in the layouts in use:

* InterGPS per-problem folders ``<split>/<id>/data.json`` + ``img_diagram.png`` (split folders ``train``,
  ``val`` (or ``validation``), ``test``); stray folders that hold no ``data.json`` and have a non-numeric
  name (``__MACOSX``, ``.ipynb_checkpoints``) are skipped;
* the hub's parquet shards ``[data/]<split>-*.parquet`` (hiyouga/geometry3k): columns ``images``, ``problem``,
  ``answer``, ``choices``, ``ground_truth`` (the letter), ``id``; older copies have only ``images``,
  ``problem``, ``answer`` (free-form mode only);
* verl-style single files ``[data/]<split>.parquet`` (``train.parquet``, ``test.parquet``): the hub columns
  after verl's preprocessing, where ``problem``/``answer`` moved to ``extra_info.question``/``extra_info.answer``
  (and ``reward_model.ground_truth``); ``choices``/``ground_truth`` are kept when the source had them.

The two families show *different problem text* for the same problem: data.json has both the original
``problem_text`` ("Find x.") and ``annotat_text`` (the text the hub's ``problem`` column carries, which
often adds the diagram's facts); :data:`TEXTS` selects one (``Geometry3kConfig.problem_text``).

Nothing is downloaded. Every problem is checked while loading (fields present and not null, four choices,
a letter A-D, the answer text equal to the lettered choice, an image that fully decodes); anything wrong
raises :class:`DatasetError` naming the file (and row), so a split loads completely or not at all.
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
from vlenvs.envs.geometry3k.config import DATA_DIR_ENV, SPLIT_ALIASES, SPLITS

#: Problem-text choices: ``auto`` (the layout's own: data.json ``problem_text``, parquet ``problem``),
#: ``original`` (data.json ``problem_text``; folders only), ``annotated`` (data.json ``annotat_text`` or
#: the parquet ``problem`` column).
TEXTS = ("auto", "original", "annotated")
FILE_NAMES = {"train": ("train",), "validation": ("val", "validation"), "test": ("test",)}
LETTERS = "ABCD"


@dataclass(frozen=True)
class Record:
    """One Geometry3K problem."""

    id: str
    split: str
    problem: str
    choices: tuple[str, ...]
    """The four choice texts; ``()`` for the older 3-column layout (free-form mode only)."""
    letter: str | None
    """The correct choice letter (None without choices)."""
    answer: str
    """Text of the correct answer (often LaTeX, e.g. ``2\\sqrt{3}``)."""
    image_png: bytes
    source: str
    """Where the problem came from (file, and row for parquet): named by errors at reset."""
    precise_value: float | None = None
    problem_type: tuple[str, ...] = ()


def canonical_split(split: str) -> str:
    """``split`` with its aliases resolved (``val`` -> ``validation``); a typed error for unknown ones."""
    split = SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise invalid_choice("split", split, SPLITS + tuple(SPLIT_ALIASES))
    return split


def resolve_root(data_dir: str | None) -> Path:
    """The dataset directory from the argument or ``$VLENVS_GEOMETRY3K_DIR``."""
    raw = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not raw:
        raise DatasetError(
            f"no Geometry3K directory given: pass data_dir=... or set ${DATA_DIR_ENV} to a local copy "
            "(per-problem folders <split>/<id>/data.json, data/<split>-*.parquet or <split>.parquet); "
            "nothing is downloaded"
        )
    root = Path(raw).expanduser()
    if not root.is_dir():
        raise DatasetError(f"Geometry3K directory {str(root)!r} does not exist or is not a directory")
    return root


def load_split(
    data_dir: str | None, split: str, *, need_choices: bool = False, text: str = "auto"
) -> tuple[Record, ...]:
    """Load every problem of ``split`` from whichever layout ``data_dir`` holds.

    ``need_choices``: multiple-choice mode; data without choices then raises :class:`DatasetError`.
    ``text``: which problem text to show, one of :data:`TEXTS`.
    """
    split = canonical_split(split)
    if text not in TEXTS:
        raise invalid_choice("problem_text", text, TEXTS)
    root = resolve_root(data_dir)
    for name in FILE_NAMES[split]:
        if (root / name).is_dir():
            records = _read_folders(root / name, split, text)
            break
    else:
        records = _read_parquet_split(root, split, text)
    if need_choices and records and not records[0].choices:
        raise DatasetError(
            f"{records[0].source}: this copy of Geometry3K has no 'choices'/'ground_truth' columns (the older "
            "3-column layout images/problem/answer), so it supports mode='free_form' only"
        )
    return records


def _read_parquet_split(root: Path, split: str, text: str) -> tuple[Record, ...]:
    for folder in (root / "data", root):
        if not folder.is_dir() or not any(folder.glob("*.parquet")):
            continue
        files = [f for name in FILE_NAMES[split] for f in sorted(folder.glob(f"{name}-*.parquet"))]
        files += [folder / f"{name}.parquet" for name in FILE_NAMES[split] if (folder / f"{name}.parquet").is_file()]
        if not files:
            found = sorted(p.name for p in folder.glob("*.parquet"))
            want = " or ".join(f"{n}-*.parquet, {n}.parquet" for n in FILE_NAMES[split])
            raise DatasetError(f"no {want} file in {str(folder)!r} (found: {', '.join(found)})")
        if text == "original":
            raise DatasetError(
                f"{str(files[0])!r}: the parquet layouts carry only the annotated problem text (InterGPS "
                "'annotat_text'); use problem_text='annotated' or 'auto', or the per-problem folders"
            )
        return tuple(r for f in files for r in _read_parquet(f, split))
    names = " or ".join(str(root / n) for n in FILE_NAMES[split])
    raise DatasetError(
        f"{str(root)!r} holds no layout of Geometry3K for split {split!r}: expected {names} with <id>/data.json, "
        f"data/{split}-*.parquet or {split}.parquet"
    )


def decode_check(data: bytes, where: str) -> bytes:
    """``data`` after checking it decodes completely as an image (not only its structure)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception as e:  # noqa: BLE001 - pillow raises many types for corrupt data
        raise DatasetError(f"corrupt or unreadable diagram image in {where}: {e}") from None
    return data


def _text(value: Any, where: str, field: str) -> str:
    if value is None:
        raise DatasetError(f"{where}: {field!r} is null")
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise DatasetError(f"{where}: {field!r} must be text, got {type(value).__name__} {value!r}")
    out = str(value).strip()
    if not out:
        raise DatasetError(f"{where}: {field!r} is empty")
    return out


def _choices(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise DatasetError(f"{where}: 'choices' must be a list of 4 answers, got {value!r}")
    return tuple(_text(c, where, f"choices[{k}]") for k, c in enumerate(value))


def _letter(value: Any, where: str, field: str) -> str:
    letter = _text(value, where, field).upper()
    if letter not in LETTERS:
        raise DatasetError(f"{where}: {field!r} must be a letter A-D, got {value!r}")
    return letter


def _check_answer(answer: str, choices: tuple[str, ...], letter: str, where: str) -> None:
    """The answer text must be the lettered choice (same spelling or same exact value)."""
    from vlenvs.envs.geometry3k.answers import normalize
    from vlenvs.envs.geometry3k.grader import gold_exact

    choice = choices[LETTERS.index(letter)]
    if normalize(answer) == normalize(choice):
        return
    exact = gold_exact(answer)
    if exact is None or exact != gold_exact(choice):
        raise DatasetError(f"{where}: 'answer' {answer!r} is not choice {letter} {choice!r} of {list(choices)}")


def _numeric(name: str) -> bool:
    return name.isdigit()


def _read_folders(split_dir: Path, split: str, text: str) -> tuple[Record, ...]:
    dirs = [d for d in split_dir.iterdir() if d.is_dir() and ((d / "data.json").exists() or _numeric(d.name))]
    dirs.sort(key=lambda d: (not _numeric(d.name), int(d.name) if _numeric(d.name) else 0, d.name))
    if not dirs:
        raise DatasetError(f"split folder {str(split_dir)!r} holds no problem folders")
    return tuple(_read_folder(d, split, text) for d in dirs)


def _read_folder(d: Path, split: str, text: str) -> Record:
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
    field = "annotat_text" if text == "annotated" else "problem_text"
    for key in (field, "choices", "answer"):
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
    return Record(
        id=str(meta.get("id", d.name)),
        split=split,
        problem=_text(meta[field], where, field),
        choices=choices,
        letter=letter,
        answer=choices[LETTERS.index(letter)],
        image_png=decode_check(png, str(img_path)),
        source=str(d),
        precise_value=precise,
        problem_type=kinds,
    )


def _image_bytes(value: Any) -> bytes | None:
    """The PNG bytes of an ``images`` cell: a list of one image struct, a struct, or raw bytes."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("bytes")
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None


def _field(item: dict[str, Any], where: str, names: tuple[tuple[str, ...], ...]) -> Any:
    """The first of the (nested) columns ``names`` the row has, e.g. ``("extra_info", "answer")``."""
    for path in names:
        value: Any = item
        for key in path:
            value = value.get(key, KeyError) if isinstance(value, dict) else KeyError
        if value is not KeyError:
            return value
    raise DatasetError(f"{where}: no column {' or '.join('.'.join(p) for p in names)}")


def _read_parquet(path: Path, split: str) -> list[Record]:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except ImportError:
        raise DatasetError(f"reading {str(path)!r} needs pyarrow: pip install 'vlenvs[geometry]'") from None
    except Exception as e:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise DatasetError(f"corrupt or unreadable parquet file {str(path)!r}: {e}") from None
    cols = set(table.column_names)
    has_problem = "problem" in cols or "extra_info" in cols
    has_answer = "answer" in cols or "extra_info" in cols or "reward_model" in cols
    if "images" not in cols or not has_problem or not has_answer:
        raise DatasetError(
            f"{str(path)!r} lacks column(s) images/problem/answer (or verl's extra_info); has {', '.join(sorted(cols))}"
        )
    with_choices = "choices" in cols and "ground_truth" in cols
    records = []
    for row, item in enumerate(table.to_pylist()):
        where = f"{path} row {row}"
        png = _image_bytes(item["images"])
        if png is None:
            raise DatasetError(f"{where}: 'images' holds no image bytes")
        problem = _text(_field(item, where, (("problem",), ("extra_info", "question"))), where, "problem")
        answer_cols = (("answer",), ("extra_info", "answer"), ("reward_model", "ground_truth"))
        answer = _text(_field(item, where, answer_cols), where, "answer")
        choices: tuple[str, ...] = ()
        letter = None
        if with_choices:
            choices = _choices(item["choices"], where)
            letter = _letter(item["ground_truth"], where, "ground_truth")
            _check_answer(answer, choices, letter, where)
        index = item.get("id", (item.get("extra_info") or {}).get("index", row))
        records.append(
            Record(
                id=str(index if index is not None else row),
                split=split,
                problem=problem.replace("<image>", "").strip(),
                choices=choices,
                letter=letter,
                answer=answer,
                image_png=decode_check(png, where),
                source=where,
            )
        )
    if not records:
        raise DatasetError(f"{str(path)!r} holds no rows")
    return records
