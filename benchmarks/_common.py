"""Shared benchmark helpers: machine context, one-core pinning, medians, memcpy bandwidth, tables."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np


def pin_one_core() -> str:
    """Pin this process to one CPU core (and single-threaded BLAS) so numbers are 'on one core'."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        core = sorted(os.sched_getaffinity(0))[-1]
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return "not pinned (no sched_setaffinity)"


def machine_context() -> str:
    """One paragraph describing where the numbers were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (
        f"machine: {cpu}; {os.cpu_count()} logical CPUs; python {platform.python_version()}; "
        f"numpy {np.__version__}; load average {load[0]:.2f}" if load[0] != "?" else f"machine: {cpu}"
    )


def median_rate(fn: Callable[[], int], repeats: int = 5, min_time: float = 0.3) -> float:
    """Median over ``repeats`` runs of (units done / seconds); each run loops ``fn`` for >= ``min_time`` s."""
    rates = []
    for _ in range(repeats):
        done, t0 = 0, time.perf_counter()
        while True:
            done += fn()
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        rates.append(done / dt)
    return statistics.median(rates)


def memcpy_bandwidth(nbytes: int = 64 << 20, repeats: int = 7) -> float:
    """numpy copy bandwidth in bytes/s (median), bytes copied (not read+written) per second."""
    src = np.ones(nbytes, dtype=np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - t0)
    return nbytes / statistics.median(times)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (so the output can be pasted into the README as is)."""
    fmt = lambda v: f"{v:,.0f}" if isinstance(v, float) and abs(v) >= 100 else (f"{v:.3g}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
