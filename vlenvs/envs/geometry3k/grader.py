"""The grader: is a model's free-text answer equal to the ground truth? Deterministic and bounded.

Pipeline: :func:`~vlenvs.envs.geometry3k.answers.extract` finds the answer (after the last ``</think>``:
``\\boxed{}``, ``<answer>`` tags, an ``Answer:`` line (a restated "The final answer is $x$." inside it is
followed), a bare letter, the value a final clause states (``So x = 12.``), a short reply), then
:func:`~vlenvs.envs.geometry3k.answers.items` splits it where ``or``/``and``/``,``/``;``/``/`` join several
answers (``A or B``, ``D, 80``); every answer offered (and every earlier ``\\boxed{}`` and a ``= value``
written right after the last one) must be right: some right and some wrong is ``multiple_answers``. Each:

1. multiple choice: a leading choice letter (``D``, ``(D) 80``, ``D. 80``, ``D - 80``, ``**Answer: D**``, ``a``)
   must be the correct letter; text after it that is a value must equal the correct choice (a letter with a
   contradicting value is wrong), prose after it (``A because it fits``) is ignored;
2. :func:`~vlenvs.envs.geometry3k.answers.normalize` canonicalises the answer; a known spelling of the
   ground truth wins;
3. the exact evaluator (:mod:`~vlenvs.envs.geometry3k.evaluate`) computes the answer's exact value
   (rationals times products of prime roots and powers of pi) and compares it with the ground truth's:
   exactly, or, for a rounded ground truth (a dataset decimal such as ``5.2``) or a rounded answer (a bare
   decimal with >= 3 significant digits such as ``3.46``), within half a unit of the last written place
   (plus a relative 1e-9), in double precision.

There is no CAS, no timer and no signal: answers outside the grammar or its bounds are *refused*
(``method="rejected:<reason>"``, a wrong answer) after a bounded amount of work counted in operations,
so the same (response, ground truth, mode) gets the same verdict in every thread, process, load and call
order; all the answers of one response share one work budget. Model text is never
passed to ``eval`` or ``sympify``; :func:`grade` never raises.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from vlenvs.core.errors import invalid_choice
from vlenvs.envs.geometry3k.answers import MAX_ANSWER, choice_of, decimal_tolerance, extract, items, normalize
from vlenvs.envs.geometry3k.evaluate import evaluate
from vlenvs.envs.geometry3k.surd import Budget, Refused, Surd

MODES = ("free_form", "multiple_choice")
#: Relative slack of every floating-point comparison (rounding of double precision, not of the answer).
RELATIVE_SLACK = 1e-9


@dataclass(frozen=True)
class Gold:
    """The ground truth of one problem."""

    text: str
    """The correct answer as written (LaTeX or plain), e.g. ``2\\sqrt{3}``."""
    value: float | None = None
    """Its numeric value when known (generated problems, Geometry3K's ``precise_value``); used only when
    ``text`` is outside the evaluator's grammar."""
    letter: str | None = None
    """The correct choice letter (multiple-choice mode)."""
    tolerance: float = 0.0
    """Absolute tolerance: 0 for exact answers, half the last decimal place of a rounded one."""
    forms: frozenset[str] = field(default_factory=frozenset)
    """Further accepted spellings (already normalised)."""

    @classmethod
    def from_text(cls, text: str, letter: str | None = None, value: float | None = None) -> Gold:
        """A dataset answer: a decimal like ``5.2`` is taken as rounded to its last place."""
        norm = normalize(text)
        tol = 0.0
        m = re.fullmatch(r"-?\d+\.(\d+)", norm)
        if m:
            tol = 0.5 * 10.0 ** -len(m.group(1))
        return cls(text=text, value=value, letter=letter, tolerance=tol, forms=frozenset({norm}))


@dataclass(frozen=True)
class Verdict:
    """The grade of one response."""

    correct: bool
    parsed: str
    """The extracted, normalised answer ('' when none was found)."""
    formatted: bool
    """The answer was marked explicitly (``\\boxed{}``, ``<answer>`` tags or an answer line)."""
    method: str
    """What decided: ``letter``, ``string``, ``exact``, ``number``, ``rejected:<reason>`` (outside the
    grammar or its bounds, see :mod:`~vlenvs.envs.geometry3k.evaluate`), ``multiple_answers``,
    ``too_many_answers``, ``none``, ``too_long``, ``error``."""


@lru_cache(maxsize=4096)
def gold_exact(text: str) -> Surd | None:
    """The exact value of a ground-truth text, or None when it is outside the grammar."""
    try:
        return evaluate(normalize(text))
    except Refused:
        return None


@lru_cache(maxsize=4096)
def gold_value(text: str) -> float | None:
    """Numeric value of a ground-truth answer text (None when outside the grammar)."""
    exact = gold_exact(text)
    return float(exact) if exact is not None else None


def _close(value: float, gold: float, tolerance: float) -> bool:
    return abs(value - gold) <= tolerance + RELATIVE_SLACK * max(1.0, abs(gold))


def compare(s: str, gold: Gold, budget: Budget | None = None) -> tuple[bool, str]:
    """``(correct, method)`` for a normalised answer ``s`` (no letters) against ``gold``; ``budget``: the
    evaluator's work units (shared by every answer of one response; a fresh one by default)."""
    if s in gold.forms or s == normalize(gold.text):
        return True, "string"
    try:
        value = evaluate(s, budget)
    except Refused as e:
        return False, f"rejected:{e.reason}"
    exact = gold_exact(gold.text)
    tolerance = max(decimal_tolerance(s), gold.tolerance)
    if exact is not None and tolerance == 0.0:
        return value == exact, "exact"
    target = float(exact) if exact is not None else gold.value
    if target is None:
        return False, "string"
    number = float(value)
    return math.isfinite(number) and _close(number, target, tolerance), "number"


def grade(response: object, gold: Gold, mode: str = "free_form") -> Verdict:
    """Grade one response against ``gold``; never raises for any response (a broken one is wrong).

    ``mode`` must be one of :data:`MODES` (a typed error otherwise)."""
    if mode not in MODES:
        raise invalid_choice("mode", mode, MODES)
    if not isinstance(response, str):
        return Verdict(False, "", False, "error")
    try:
        return _grade(response, gold, mode)
    except (RecursionError, MemoryError, ValueError, OverflowError, ZeroDivisionError):
        return Verdict(False, "", False, "error")  # a bug guard: the bounds should make these impossible


def _grade(response: str, gold: Gold, mode: str) -> Verdict:
    found = extract(response)
    if found.answer is None:
        return Verdict(False, "", False, found.how)
    fmt = found.formatted
    budget = Budget()  # one work budget for every answer the response offers
    verdicts = [_judge(a, gold, mode, fmt, budget) for a in (found.answer, *found.others)]
    if found.after:  # \boxed{D} = 70: a readable value right after the answer must agree with it
        after = _judge(found.after, gold, mode, fmt, budget)
        if not after.method.startswith("rejected:"):
            verdicts.append(after)
    return _agree(verdicts, fmt)


def _agree(verdicts: list[Verdict], fmt: bool) -> Verdict:
    """One verdict for several answers of one response: right when all are right; ``multiple_answers`` when
    some are right and some wrong (a hedge); the first's verdict when all are wrong."""
    head = verdicts[0]
    if all(v.correct for v in verdicts) or not any(v.correct for v in verdicts):
        return head
    return Verdict(False, head.parsed, fmt, "multiple_answers")


def _judge(answer: str, gold: Gold, mode: str, fmt: bool, budget: Budget) -> Verdict:
    if len(answer) > 4 * MAX_ANSWER:
        return Verdict(False, answer[:MAX_ANSWER], fmt, "too_long")
    offered = items(answer)
    if offered is None:
        return Verdict(False, answer[:MAX_ANSWER], fmt, "too_many_answers")
    if not offered:
        return Verdict(False, "", fmt, "none")
    return _agree([_judge_item(a, gold, mode, fmt, budget) for a in offered], fmt)


def _judge_item(answer: str, gold: Gold, mode: str, fmt: bool, budget: Budget) -> Verdict:
    choice = choice_of(answer)
    if choice is not None:
        letter, rest = choice
        if mode != "multiple_choice" or not gold.letter:
            return Verdict(False, letter, fmt, "letter")
        if letter != gold.letter:
            return Verdict(False, letter, fmt, "letter")
        if not rest:
            return Verdict(True, letter, fmt, "letter")
        ok, method = compare(normalize(rest), gold, budget)  # the letter's value must be the correct choice's
        return Verdict(ok, f"{letter} {normalize(rest)}", fmt, "letter" if ok else f"letter_value:{method}")
    s = normalize(answer)
    if len(s) > MAX_ANSWER:
        return Verdict(False, s[:MAX_ANSWER], fmt, "too_long")
    ok, method = compare(s, gold, budget)
    return Verdict(ok, s, fmt, method)


def warm_up() -> None:
    """Build the prime table now (about a millisecond); kept for callers of the old CAS warm-up."""
    from vlenvs.envs.geometry3k.surd import _primes

    _primes()
