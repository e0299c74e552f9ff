"""Geometry3k throughput on one core: problems generated + rendered per second, answers graded per
second on a realistic mix of model answers, and the worst adversarial answer.

Targets (issues 4 and 13): >= 200 problems/s generated+rendered, >= 5,000 answers/s graded, worst
adversarial answer <= 10 ms of CPU (the fixed corpus plus answers built to use the evaluator's whole
work budget). Run: ``python benchmarks/geometry3k_throughput.py``.
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
    """An equivalent spelling that needs real arithmetic (a sum, a product, a quotient)."""
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
    grader.gold_exact.cache_clear()
    grader.gold_value.cache_clear()


def costly_answers() -> list[str]:
    """Answers inside every bound that make the evaluator work hardest: large prime radicands, powers of
    sums of roots, rationalised denominators, long chains of products and nested roots."""
    big = "99999989"  # a prime just below the radicand bound: trial division runs to its square root
    return [
        "\\boxed{" + "*".join([f"\\sqrt{{{big}}}"] * 8) + "}",
        "\\boxed{" + "".join(f"\\sqrt[{k}]{{{big}}}" for k in range(2, 12)) + "}",
        "\\boxed{(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{24}}",
        "\\boxed{(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{-24}}",
        "\\boxed{\\frac{1}{\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7}+\\frac{1}{\\sqrt{11}+\\sqrt{13}+\\sqrt{17}+\\sqrt{19}}}",
        "\\boxed{" + "(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{12}" * 4 + "}",
        "\\boxed{" + "(99999999999999999999/99999999999999999997)^{24}" * 3 + "}",
        "\\boxed{" + "\\sqrt{" * 9 + big + "}" * 9 + "}",
        "\\boxed{" + "+".join(f"\\sqrt{{{p}}}" for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43)) + "}",
        "<think>" + "\\boxed{1}" * 3 + "</think>" + "\\boxed{(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{24}}" * 4,
        "\\boxed{" + "(" * 9 + "1" + ")^{24}" * 9 + "}",
        "\\boxed{B} = (\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{24}",  # a value after the answer must agree with it
        "\\boxed{" + ", ".join(["(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{12}"] * 4) + "}",  # several answers, one budget
        "\\boxed{\\sqrt{12}}" * 3 + "\\boxed{\\sqrt{12} or (\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{24}} = " + "\\sqrt{12}",
        "Let me see. " * 2000 + "So x = (\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)^{24}.",  # a stated value in prose
    ] + random_costly(500)


FRAGMENTS = (
    "\\sqrt{99999989}", "(\\sqrt2+\\sqrt3+\\sqrt5+\\sqrt7)", "(\\sqrt{11}-\\sqrt{13})", "^{24}", "^{-24}", "^{1/12}",
    "^{-7/12}", "\\frac{1}{", "}", "\\sqrt[11]{", "99999999999999999999", "*", "+", "-", "\\pi", "(", ")", "/",
)


def random_costly(n: int, seed: int = 0) -> list[str]:
    """``n`` random answers (up to the 160-character bound) glued from costly fragments."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = ""
        while True:
            frag = FRAGMENTS[int(rng.integers(len(FRAGMENTS)))]
            if len(s) + len(frag) > 160:
                break
            s += frag
        out.append("\\boxed{" + s + "}")
    return out


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
        t0 = time.process_time()  # CPU time: other processes on a shared machine do not count
        verdicts = [grader.grade(r, g, m) for r, g, m in mix]
        cold.append(len(mix) / (time.process_time() - t0))
    methods: dict[str, int] = {}
    for v in verdicts:
        key = v.method.split(":")[0]
        methods[key] = methods.get(key, 0) + 1
    warm = median_rate(lambda: [grader.grade(r, g, m) for r, g, m in mix] and len(mix))
    gold = grader.Gold("2\\sqrt{3}", value=12**0.5, letter="B")
    worst_case, worst, per_case = "", 0.0, []
    hostile = ADVERSARIAL + costly_answers()
    for response in hostile:
        times = []
        for mode in ("free_form", "multiple_choice", "free_form"):
            clear_caches()
            t0 = time.process_time()
            grader.grade(response, gold, mode)
            times.append(time.process_time() - t0)
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
                ["answers graded per CPU second, first pass (caches cleared)", statistics.median(cold), ">= 5,000"],
                ["answers graded /s, repeated answers (caches warm)", warm, ""],
                [f"hostile answers: worst of {len(hostile)} x 3 runs (CPU ms)", worst * 1e3, "<= 10"],
                ["hostile answers: median per answer (CPU ms)", statistics.median(per_case) * 1e3, ""],
            ],
        )
    )
    print(f"mix of {len(mix)} answers decided by: " + ", ".join(f"{k} {v}" for k, v in sorted(methods.items())))
    print(f"slowest hostile answer: {worst_case[:60]!r} -> {grader.grade(worst_case, gold).method}")


if __name__ == "__main__":
    main()
