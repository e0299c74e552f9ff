"""Geometry3k throughput on one core: problems generated + rendered per second, answers graded per
second on a realistic mix of model answers, and the worst adversarial answer.

Targets (issue 4): >= 200 problems/s generated+rendered, >= 5,000 answers/s graded, worst adversarial
case <= 100 ms. Run: ``python benchmarks/geometry3k_throughput.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from _common import machine_context, median_rate, pin_one_core, table

from vlenvs.envs.geometry3k import grader
from vlenvs.envs.geometry3k.adversarial import ADVERSARIAL
from vlenvs.envs.geometry3k.diagram import render_figure
from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.generate import LETTERS, TOPICS, generate
from vlenvs.envs.geometry3k.tasks import item_from_generated

SIZE = 256
COT = "Let me look at the diagram. " * 40  # ~1 KB of reasoning before the answer


def _cas_form(e: Exact) -> str:
    """An equivalent spelling the fast path does not read (it goes to math-verify)."""
    return f"\\frac{{2 \\cdot ({e.latex()})}}{{2}}"


#: (share of the mix, mode, response maker(answer, wrong answer, unit, rng)): what a policy in training writes
MIX = (
    (0.25, "free_form", lambda a, w, u, rng: f"\\boxed{{{a.latex()}}}"),
    (0.15, "free_form", lambda a, w, u, rng: f"{COT}So the answer is \\boxed{{{a.latex()}}}."),
    (0.10, "free_form", lambda a, w, u, rng: f"{COT}\nAnswer: {a.text()}{u}"),
    (0.07, "free_form", lambda a, w, u, rng: f"<answer>{float(a):.3f}</answer>"),
    (0.18, "free_form", lambda a, w, u, rng: f"{COT}\\boxed{{{w.latex()}}}"),
    (0.07, "multiple_choice", lambda a, w, u, rng: f"\\boxed{{{LETTERS[int(rng.integers(4))]}}}"),
    (0.10, "free_form", lambda a, w, u, rng: f"\\boxed{{{_cas_form(a if rng.random() < 0.5 else w)}}}"),
    (0.08, "free_form", lambda a, w, u, rng: COT + "I am not sure."),
)


def answer_mix(n: int, seed: int = 0) -> list[tuple[str, grader.Gold, str]]:
    """``n`` (response, gold, mode) triples drawn from :data:`MIX`."""
    rng = np.random.default_rng(seed)
    shares = np.array([m[0] for m in MIX])
    out = []
    for k in range(n):
        g = generate(rng, ("easy", "medium", "hard")[k % 3], TOPICS)
        gold = item_from_generated(g, str(k)).gold
        _, mode, make = MIX[int(rng.choice(len(MIX), p=shares / shares.sum()))]
        out.append((make(g.problem.answer, g.choices[(g.correct + 1) % 4], g.problem.unit, rng), gold, mode))
    return out


def clear_caches() -> None:
    grader._CAS_CACHE.clear()
    grader._cas_parse.cache_clear()
    grader.gold_value.cache_clear()


def main() -> None:
    pinned = pin_one_core()
    print(machine_context() + f"; {pinned}")
    rng = np.random.default_rng(0)
    gen_rate = median_rate(lambda: [generate(rng, "medium", TOPICS) for _ in range(50)] and 50)
    probs = [generate(rng, "medium", TOPICS) for _ in range(200)]
    render_rate = median_rate(lambda: [render_figure(p.problem.figure, SIZE, SIZE) for p in probs[:50]] and 50)
    both_rate = median_rate(
        lambda: [render_figure(generate(rng, "medium", TOPICS).problem.figure, SIZE, SIZE) for _ in range(50)] and 50
    )
    grader.warm_up()
    mix = answer_mix(3000)
    cold = []
    for _ in range(3):  # every answer new to the caches: the rate of a first pass over fresh rollouts
        clear_caches()
        t0 = time.perf_counter()
        verdicts = [grader.grade(r, g, m) for r, g, m in mix]
        cold.append(len(mix) / (time.perf_counter() - t0))
    methods: dict[str, int] = {}
    for v in verdicts:
        key = v.method.split(":")[0]
        methods[key] = methods.get(key, 0) + 1
    warm = median_rate(lambda: [grader.grade(r, g, m) for r, g, m in mix] and len(mix))
    gold = grader.Gold("2\\sqrt{3}", value=12**0.5, letter="B")
    worst_case, worst, per_case = "", 0.0, []
    for response in ADVERSARIAL:
        times = []
        for _ in range(3):
            clear_caches()
            t0 = time.perf_counter()
            grader.grade(response, gold)
            times.append(time.perf_counter() - t0)
        per_case.append(statistics.median(times))
        if max(times) > worst:
            worst, worst_case = max(times), response
    print(
        table(
            ["measure", "value", "target"],
            [
                ["problems generated /s (no image)", gen_rate, ""],
                [f"diagrams rendered /s ({SIZE}x{SIZE}, 2x supersampled)", render_rate, ""],
                ["problems generated + rendered /s", both_rate, ">= 200"],
                ["answers graded /s, first pass (caches cleared)", statistics.median(cold), ">= 5,000"],
                ["answers graded /s, repeated answers (caches warm)", warm, ""],
                [f"adversarial answers: worst of {len(ADVERSARIAL)} x 3 runs (ms)", worst * 1e3, "<= 100"],
                ["adversarial answers: median per answer (ms)", statistics.median(per_case) * 1e3, ""],
            ],
        )
    )
    print(f"mix of {len(mix)} answers decided by: " + ", ".join(f"{k} {v}" for k, v in sorted(methods.items())))
    print(f"slowest adversarial answer: {worst_case[:60]!r}")


if __name__ == "__main__":
    main()
