"""Per-env, per-family and overall metrics of episode records, as JSON, CSV and a printed table.

Metrics (the trainer's held-out evaluation reports the same first five): ``success_rate`` (fraction of
episodes that ended in success), ``mean_return`` (summed reward per episode), ``invalid_rate`` (invalid replies
per reply), ``mean_length`` (turns per episode), ``episodes``, ``ungradable_rate`` (replies the env's grader
refused as outside its grammar or bounds, ``info["ungradable"]``, per reply; they also count as wrong) and
``accuracy`` (fraction of episodes whose first reply succeeded: one graded reply per problem, as EasyR1
scores Geometry3K; equal to ``success_rate`` with one attempt per problem). Accuracy is only defined for
answer-graded episodes (a turn's info carries ``grade_method``, as Geometry3K's does): it is computed over
those alone and is ``None`` (JSON ``null``, an empty CSV cell, blank in the table) for a group without any,
e.g. Maze2D.

Runs by problem index add a ``benchmark`` block per env (:func:`benchmark`): the accuracy over the problems
played, labelled with the EasyR1 protocol when they are the whole split.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

METRICS = ("episodes", "success_rate", "mean_return", "invalid_rate", "mean_length", "ungradable_rate", "accuracy")
#: The label of an accuracy over every problem of a split, once each, one reply graded per problem.
EASYR1 = ("EasyR1 protocol: every problem of the split once, one reply graded per problem; "
          "accuracy = correct first replies / problems")


def _turn_infos(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t.get("info") or {} for t in record.get("turns") or ()]


def first_reply_correct(record: Mapping[str, Any]) -> bool:
    """Whether the episode's first reply succeeded (its first turn's ``info["success"]``)."""
    infos = _turn_infos(record)
    return bool(infos[0].get("success", False)) if infos else False


def ungradable_replies(record: Mapping[str, Any]) -> int:
    """Replies of the episode the env's grader refused (``info["ungradable"]``)."""
    return sum(bool(i.get("ungradable", False)) for i in _turn_infos(record))


def answer_graded(record: Mapping[str, Any]) -> bool:
    """Whether the episode's replies were graded as answers (a turn's info carries ``grade_method``)."""
    return any("grade_method" in i for i in _turn_infos(record))


def metrics(records: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """The metrics of a group of episode records (all zero for an empty group; ``accuracy`` None unless
    some episode is answer-graded, see :func:`answer_graded`)."""
    n = len(records)
    graded = [r for r in records if answer_graded(r)]
    turns = sum(r["length"] for r in records)
    return {
        "episodes": n,
        "success_rate": sum(bool(r["success"]) for r in records) / n if n else 0.0,
        "mean_return": sum(r["return"] for r in records) / n if n else 0.0,
        "invalid_rate": sum(r["invalid"] for r in records) / turns if turns else 0.0,
        "mean_length": turns / n if n else 0.0,
        "ungradable_rate": sum(ungradable_replies(r) for r in records) / turns if turns else 0.0,
        "accuracy": sum(map(first_reply_correct, graded)) / len(graded) if graded else None,
    }


def _grouped(records: Iterable[Mapping[str, Any]], key: str) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault(str(r[key]), []).append(r)
    return groups


def benchmark(records: Sequence[Mapping[str, Any]], seeds: Sequence[int], num_problems: int | None) -> dict[str, Any]:
    """The benchmark block of one env played by problem index: ``records`` are its episodes of problems
    ``seeds`` in a split of ``num_problems`` (``None``: no fixed list). ``protocol`` is :data:`EASYR1` when
    the problems are the whole split, each once; ``families`` holds the same numbers per problem family."""
    whole = num_problems is not None and sorted(int(r["seed"]) for r in records) == list(range(num_problems))

    def block(group: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        n, correct, bad = len(group), sum(map(first_reply_correct, group)), sum(map(ungradable_replies, group))
        return {"problems": n, "correct": correct, "accuracy": correct / n if n else 0.0,
                "ungradable": bad, "ungradable_rate": bad / n if n else 0.0}

    where = f"problems {seeds[0]}..{seeds[-1]}" if seeds else "no problems"
    protocol = EASYR1 if whole else (f"by problem index, {where} of " +
                                     (f"{num_problems}" if num_problems is not None else "an unbounded generator"))
    families = _grouped(records, "family")
    return {"protocol": protocol, "split_size": num_problems, "whole_split": whole, **block(records),
            "families": {k: block(families[k]) for k in sorted(families)}}


def summarize(records: Sequence[Mapping[str, Any]], env_order: Sequence[str] = (),
              by_index: Mapping[str, tuple[Sequence[int], int | None]] | None = None) -> dict[str, Any]:
    """``{"envs": {key: metrics}, "families": {family: metrics}, "all": metrics}``; envs in ``env_order``
    first (then by name), families by name. ``by_index``: per env key played by problem index, its problem
    indices and split size; adds ``"benchmark": {key: benchmark(...)}``."""
    envs = _grouped(records, "env")
    order = [k for k in env_order if k in envs] + sorted(set(envs) - set(env_order))
    families = _grouped(records, "family")
    out: dict[str, Any] = {"envs": {k: metrics(envs[k]) for k in order},
                           "families": {k: metrics(families[k]) for k in sorted(families)},
                           "all": metrics(records)}
    if by_index:
        out["benchmark"] = {k: benchmark(envs.get(k, []), seeds, count) for k, (seeds, count) in by_index.items()}
    return out


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
    writer.writerows(rows(summary))  # None is written as an empty cell
    return buf.getvalue()


def _blank(value: float | None, width: int, spec: str) -> str:
    return " " * width if value is None else f"{value:>{width}{spec}}"


def to_table(summary: Mapping[str, Any]) -> str:
    """A fixed-width text table: the envs, then the families, then all; then one line per benchmark env."""
    table = rows(summary)
    width = max(len("name"), *(len(r["name"]) for r in table))
    head = (f"{'level':<7} {'name':<{width}} {'episodes':>8} {'success':>8} {'return':>9} {'invalid':>8} "
            f"{'length':>8} {'ungrad.':>8} {'accuracy':>8}")
    lines = [head, "-" * len(head)]
    for r in table:
        lines.append(f"{r['level']:<7} {r['name']:<{width}} {r['episodes']:>8d} {r['success_rate']:>8.3f} "
                     f"{r['mean_return']:>9.3f} {r['invalid_rate']:>8.3f} {r['mean_length']:>8.2f} "
                     f"{r['ungradable_rate']:>8.3f} {_blank(r['accuracy'], 8, '.3f')}".rstrip())
    for key, b in summary.get("benchmark", {}).items():
        lines.append(f"{key}: accuracy {b['accuracy']:.4f} ({b['correct']}/{b['problems']} problems; "
                     f"ungradable {b['ungradable_rate']:.4f}) - {b['protocol']}")
    return "\n".join(lines)
