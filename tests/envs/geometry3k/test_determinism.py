"""Verdicts depend only on (response, ground truth, mode): identical serially, in a thread pool and in
a process pool while another process keeps the CPU busy, and in any call order. No test here times
anything; there is no timer in the grader to race."""

import multiprocessing
import random
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction

from vlenvs.envs.geometry3k.adversarial import ADVERSARIAL
from vlenvs.envs.geometry3k.exact import Exact
from vlenvs.envs.geometry3k.grader import Gold, grade

ISSUE = [  # graded wrong under load, right in a thread, or flipping between runs, before issue 13
    ("\\boxed{(30)}", "30"),
    ("(1/2)", "\\frac{1}{2}"),
    ("\\left(\\frac{1}{2}\\right)", "\\frac{1}{2}"),
    ("(2\\sqrt{3})", "2\\sqrt{3}"),
    ("(\\pi/6)", "\\frac{\\pi}{6}"),
    ("(3)/(5)", "\\frac{3}{5}"),
    ("\\pi\\cdot\\frac{1}{6}", "\\frac{\\pi}{6}"),
]


def _cases() -> list[tuple[str, str, str, str]]:
    rng = random.Random(13)
    cases = [(r, g, "A", m) for r, g in ISSUE for m in ("free_form", "multiple_choice")]
    cases += [(r[:200_000], "2\\sqrt{3}", "B", m) for r in ADVERSARIAL for m in ("free_form", "multiple_choice")]
    for _ in range(200):
        e = Exact.of(Fraction(rng.randint(1, 99), rng.randint(1, 12)), rng.choice([1, 2, 3, 5]), rng.randint(0, 1))
        other = e + Exact.of(Fraction(1, rng.randint(1, 50))) if rng.random() < 0.5 else e
        spelled = rng.choice([other.latex(), other.text(), f"\\frac{{2({other.latex()})}}{{2}}", f"{float(other):.3f}"])
        cases.append((rng.choice(["\\boxed{{{}}}", "Answer: {}", "<answer>({})</answer>"]).format(spelled),
                      e.latex(), rng.choice("ABCD"), rng.choice(["free_form", "multiple_choice"])))
    return cases


CASES = _cases()


def judge(case: tuple[str, str, str, str]) -> tuple[bool, str, bool, str]:
    response, gold, letter, mode = case
    v = grade(response, Gold.from_text(gold, letter=letter), mode)
    return (v.correct, v.parsed, v.formatted, v.method)


def test_issue_answers_are_right():
    assert all(judge((r, g, "A", "free_form"))[0] for r, g in ISSUE)


def test_same_verdicts_in_threads_processes_under_load_and_any_order():
    serial = [judge(c) for c in CASES]
    order = list(range(len(CASES)))
    random.Random(1).shuffle(order)
    shuffled = {i: judge(CASES[i]) for i in order}
    assert [shuffled[i] for i in range(len(CASES))] == serial
    load = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            threaded = list(pool.map(judge, CASES))
        with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
            processed = list(pool.map(judge, CASES, chunksize=16))
    finally:
        load.kill()
        load.wait()
    assert threaded == serial
    assert processed == serial
    assert sum(v[0] for v in serial) > 100  # the mix holds many right answers, not only wrong ones
