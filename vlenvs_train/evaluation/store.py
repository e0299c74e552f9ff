"""The output folder of an evaluation: per-episode records appended durably, and what resuming needs.

``episodes.jsonl`` gets one JSON line per finished episode, written, flushed and ``fsync``'d batch by batch,
so a killed run loses at most the batch in flight (a torn last line is dropped when the folder is reopened).
``run.json`` holds the run's :meth:`~vlenvs_train.evaluation.config.EvalRunConfig.identity`; reopening
the folder with other values raises :class:`~vlenvs_train.evaluation.config.ResumeMismatchError`. A lock
file keeps two runs from writing the same folder at once.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.evaluation.config import check_same_identity
from vlenvs_train.viewer.files import write_durably

__all__ = ["EPISODES", "LOCK", "RUN", "ResultStore", "write_durably"]

EPISODES = "episodes.jsonl"
RUN = "run.json"
LOCK = ".lock"


class ResultStore:
    """Open (or create) ``out``; ``records`` maps ``(env key, seed)`` to the records already there."""

    def __init__(self, out: str | Path, identity: Mapping[str, Any], overwrite: bool = False) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.out / LOCK, "w")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise InvalidConfigError(f"another evaluation is writing to {self.out}; wait for it or choose "
                                     f"another --out") from None
        self.path = self.out / EPISODES
        run = self.out / RUN
        if overwrite:
            self.path.unlink(missing_ok=True)
            run.unlink(missing_ok=True)
        if run.exists():
            check_same_identity(json.loads(run.read_text()), identity, str(self.out))
        elif self.path.exists() and self.path.stat().st_size:
            raise InvalidConfigError(f"{self.path} exists without {RUN}: not an evaluation folder of this tool; "
                                     f"choose another --out or pass --overwrite")
        else:
            write_durably(run, json.dumps(dict(identity), indent=1, sort_keys=True) + "\n")
        self.records: dict[tuple[str, int], dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        """Read the finished episodes; a torn last line (a run killed mid-write) is cut off the file."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        good = 0
        for line in data.splitlines(keepends=True):
            try:
                rec = json.loads(line)
            except ValueError:
                break
            if not line.endswith(b"\n") or not isinstance(rec, dict):
                break
            self.records[(rec["env"], int(rec["seed"]))] = rec
            good += len(line)
        if good < len(data):
            with open(self.path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())

    def done(self, env_key: str, seed: int) -> bool:
        return (env_key, int(seed)) in self.records

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Add finished episodes: appended, flushed and ``fsync``'d before returning."""
        records = list(records)
        lines = "".join(json.dumps(r, separators=(",", ":"), allow_nan=False) + "\n" for r in records)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
        for r in records:
            self.records[(r["env"], int(r["seed"]))] = r

    def close(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

