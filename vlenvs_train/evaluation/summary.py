"""Per-env, per-family and overall metrics of episode records, as JSON, CSV and a printed table.

Metrics (the trainer's held-out evaluation reports the same ones): ``success_rate`` (fraction of episodes
that ended in success), ``mean_return`` (summed reward per episode), ``invalid_rate`` (invalid replies per
reply), ``mean_length`` (turns per episode), ``episodes``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

METRICS = ("episodes", "success_rate", "mean_return", "invalid_rate", "mean_length")


def metrics(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The metrics of a group of episode records (all zero for an empty group)."""
    n = len(records)
    turns = sum(r["length"] for r in records)
    return {
        "episodes": n,
        "success_rate": sum(bool(r["success"]) for r in records) / n if n else 0.0,
        "mean_return": sum(r["return"] for r in records) / n if n else 0.0,
        "invalid_rate": sum(r["invalid"] for r in records) / turns if turns else 0.0,
        "mean_length": turns / n if n else 0.0,
    }


def _grouped(records: Iterable[Mapping[str, Any]], key: str) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault(str(r[key]), []).append(r)
    return groups


def summarize(records: Sequence[Mapping[str, Any]], env_order: Sequence[str] = ()) -> dict[str, Any]:
    """``{"envs": {key: metrics}, "families": {family: metrics}, "all": metrics}``; envs in ``env_order``
    first (then by name), families by name."""
    envs = _grouped(records, "env")
    order = [k for k in env_order if k in envs] + sorted(set(envs) - set(env_order))
    families = _grouped(records, "family")
    return {"envs": {k: metrics(envs[k]) for k in order},
            "families": {k: metrics(families[k]) for k in sorted(families)},
            "all": metrics(records)}


def rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per env, family and the overall group: ``level``, ``name`` and the metrics."""
    out = [{"level": "env", "name": k, **m} for k, m in summary["envs"].items()]
    out += [{"level": "family", "name": k, **m} for k, m in summary["families"].items()]
    out.append({"level": "all", "name": "all", **summary["all"]})
    return out


def to_csv(summary: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["level", "name", *METRICS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(summary))
    return buf.getvalue()


def to_table(summary: Mapping[str, Any]) -> str:
    """A fixed-width text table: the envs, then the families, then all."""
    table = rows(summary)
    width = max(len("name"), *(len(r["name"]) for r in table))
    head = f"{'level':<7} {'name':<{width}} {'episodes':>8} {'success':>8} {'return':>9} {'invalid':>8} {'length':>8}"
    lines = [head, "-" * len(head)]
    for r in table:
        lines.append(f"{r['level']:<7} {r['name']:<{width}} {r['episodes']:>8d} {r['success_rate']:>8.3f} "
                     f"{r['mean_return']:>9.3f} {r['invalid_rate']:>8.3f} {r['mean_length']:>8.2f}")
    return "\n".join(lines)
