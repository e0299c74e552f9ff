"""Metrics of a run: one JSONL file (every row), one CSV per kind of row, and TensorBoard scalars.

Rows are ``{"kind": "train"|"sft"|"eval"|..., "step": int, ...numbers}``; a row may add keys earlier rows of its
kind lacked (the CSV then gets a column for them, empty in the earlier rows). On resume,
:meth:`MetricsLogger.truncate` drops rows written after the checkpoint's step (they are recomputed), so
a resumed run's files equal an uninterrupted run's.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from typing import Any


class MetricsLogger:
    """Appends metric rows to ``metrics.jsonl``, ``<kind>.csv`` and (optionally) TensorBoard under ``out_dir``."""

    def __init__(self, out_dir: str | Path, tensorboard: bool = True, purge_step: int | None = None) -> None:
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.jsonl = self.dir / "metrics.jsonl"
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.dir / "tensorboard"), purge_step=purge_step)
            except ImportError:
                warnings.warn("tensorboard is not installed: TensorBoard logging is off (pip install tensorboard)",
                              stacklevel=2)

    def log(self, kind: str, step: int, values: dict[str, Any]) -> dict[str, Any]:
        row = {"kind": kind, "step": int(step), **{k: _plain(v) for k, v in values.items()}}
        with self.jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
        path = self.dir / f"{kind}.csv"
        new = not path.exists()
        header = list(row) if new else next(csv.reader(path.open()), [])
        added = [k for k in row if k not in header]
        if added and not new:  # a key that earlier rows lacked (e.g. update statistics): a column for it
            _write_csv(path, header + added, self.rows(kind))
        else:
            with path.open("a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
                if new:
                    writer.writeheader()
                writer.writerow(row)
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("kind", "step") and isinstance(v, (int, float)):
                    self.tb.add_scalar(f"{kind}/{k}", v, int(step))
            self.tb.flush()
        return row

    def rows(self, kind: str | None = None) -> list[dict[str, Any]]:
        return read_rows(self.jsonl, kind)

    def truncate(self, keep: Any) -> None:
        """Keep only the rows for which ``keep(row)`` is true (JSONL and CSVs are rewritten)."""
        rows = [r for r in read_rows(self.jsonl) if keep(r)]
        self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
        for path in self.dir.glob("*.csv"):
            _write_csv(path, next(csv.reader(path.open()), []), [r for r in rows if r["kind"] == path.stem])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _write_csv(path: Path, header: list[str], rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` under ``header`` (an empty file for no header); a row's missing keys are empty cells."""
    with path.open("w", newline="") as f:
        if header:
            writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)


def read_rows(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if kind is None or r["kind"] == kind]


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    return v
