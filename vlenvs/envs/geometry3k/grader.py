"""The safe grader: is a model's free-text answer equal to the ground truth?

Pipeline: :func:`~vlenvs.envs.geometry3k.answers.extract` finds the answer (``\\boxed{}``, ``<answer>``
tags, an ``Answer:`` line, a bare letter), :func:`~vlenvs.envs.geometry3k.answers.normalize` canonicalises
it, then

1. a choice letter is compared with the correct letter (multiple-choice mode);
2. an exact match with a known spelling of the ground truth wins;
3. the fast path reads plain numbers, fractions and single radicals / multiples of pi and compares values;
4. anything else must pass size bounds (length, characters, commands, nesting, exponents, digits) and
   is then parsed and compared by math-verify (LaTeX parser only: its plain-expression reader uses
   sympy's ``parse_expr``, which evaluates code), under a wall-clock deadline.

Model text is never passed to ``eval`` or ``sympify``; every input gets a :class:`Verdict` and
:func:`grade` never raises.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from vlenvs.envs.geometry3k.answers import extract, letter_of, normalize, read_number

MODES = ("free_form", "multiple_choice")
#: Wall-clock budget of one math-verify comparison (seconds; main thread only, see :func:`deadline`).
CAS_BUDGET = 0.06
#: Bounds an answer must meet before it reaches the CAS.
MAX_CAS_LENGTH, MAX_DEPTH, MAX_POWERS, MAX_EXPONENT_DIGITS, MAX_DIGITS = 96, 4, 2, 2, 15
_ALLOWED = re.compile(r"[0-9A-Za-z\\{}()+\-*/^.,√ ]*")
_COMMANDS = {"frac", "sqrt", "pi", "circ"}
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_DIGIT_RUN = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


@dataclass(frozen=True)
class Gold:
    """The ground truth of one problem."""

    text: str
    """The correct answer as written (LaTeX or plain), e.g. ``2\\sqrt{3}``."""
    value: float | None = None
    """Its numeric value when known (generated problems, Geometry3K's ``precise_value``)."""
    letter: str | None = None
    """The correct choice letter (multiple-choice mode)."""
    tolerance: float = 0.0
    """Absolute tolerance of the value: 0 for exact answers, half the last decimal place of a rounded one."""
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
    """What decided: ``letter``, ``string``, ``number``, ``math_verify``, ``rejected:<bound>``, ``none``,
    ``too_long``, ``timeout``, ``error``."""


class _Timeout(BaseException):  # BaseException: libraries that swallow Exception cannot hide it
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the body after ``seconds`` with an interval timer (main thread, no other timer running).

    Elsewhere it does nothing, and the input bounds alone keep the CAS fast.
    """
    usable = threading.current_thread() is threading.main_thread() and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_bounds(s: str) -> str | None:
    """Why ``s`` may not reach the CAS (``None`` when it may): a cheap, linear scan."""
    if len(s) > MAX_CAS_LENGTH:
        return "length"
    if not _ALLOWED.fullmatch(s):
        return "characters"
    if any(c not in _COMMANDS for c in _COMMAND.findall(s)):
        return "command"
    depth = 0
    for ch in s:
        depth += ch in "{("
        depth -= ch in "})"
        if depth > MAX_DEPTH or depth < 0:
            return "nesting"
    if depth:
        return "nesting"
    if s.count("^") > MAX_POWERS or not _exponents_ok(s):
        return "exponent"
    if _DIGIT_RUN.search(s):
        return "digits"
    return None


def _exponents_ok(s: str) -> bool:
    """Every exponent is one small group (at most two digits, no power inside it or right after it)."""
    at = s.find("^")
    while at >= 0:
        rest = s[at + 1 :]
        if rest.startswith(("{", "(")):
            close = "}" if rest[0] == "{" else ")"
            end = rest.find(close)
            exp = rest[1:end] if end >= 0 else rest
            after = rest[end + 1 : end + 2] if end >= 0 else ""
        else:
            m = re.match(r"\d+|[A-Za-z]|\\[A-Za-z]+", rest)
            exp = m.group(0) if m else rest[:1]
            after = rest[len(exp) : len(exp) + 1]
        if any(c in exp for c in "^{(") or sum(c.isdigit() for c in exp) > MAX_EXPONENT_DIGITS or after == "^":
            return False
        at = s.find("^", at + 1)
    return True


def _close(value: float, gold: float, tolerance: float) -> bool:
    return abs(value - gold) <= max(tolerance, 1e-9 * max(1.0, abs(gold))) + 1e-12


def _to_latex(s: str) -> str:
    """Plain-text spellings the LaTeX parser does not know, in LaTeX."""
    s = re.sub(r"sqrt\(([^()]*)\)", r"\\sqrt{\1}", s.replace("\\sqrt", "sqrt"))
    s = re.sub(r"√\{?(\d+)\}?", r"\\sqrt{\1}", s)
    s = re.sub(r"(?<!\\)\bpi\b|(?<=\d)pi", r"\\pi ", s)
    return s.replace("sqrt", "\\sqrt").replace("\\\\sqrt", "\\sqrt").replace("*", "\\cdot ")


class _NoTimeoutWarning(logging.Filter):
    """math-verify warns when its own (whole-second, signal-based) timeout is off; ours replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


@lru_cache(maxsize=1)
def _math_verify():
    """Import and warm up math-verify once (about a second, outside any deadline: an interrupted import
    breaks the module, and the parser's first calls build its tables)."""
    try:
        import math_verify
    except ImportError:
        raise ImportError("the Geometry3k grader needs math-verify: pip install 'vlenvs[geometry]'") from None
    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_NoTimeoutWarning())
    for latex in ("\\frac{6}{\\sqrt{3}}", "\\sqrt{3}+1", "x", "2^{3}\\cdot\\pi"):
        found = math_verify.parse(
            f"${latex}$", extraction_config=[math_verify.LatexExtractionConfig()], parsing_timeout=None
        )
        math_verify.verify(found, found, timeout_seconds=None)
    return math_verify


@lru_cache(maxsize=4096)
def _cas_parse(latex: str):
    """A sympy object for an already extracted and normalised answer: math-verify's LaTeX parser
    (latex2sympy2_extended) directly, which skips math-verify's answer extraction (we did that) and is
    about a third faster; math-verify's full ``parse`` (it normalises more) when that fails."""
    mv = _math_verify()
    from latex2sympy2_extended import latex2sympy

    try:
        return latex2sympy(latex, is_real=True, convert_degrees=False, normalization_config=None)
    except Exception:  # noqa: BLE001 - any parser error: try math-verify's normalising front end
        found = mv.parse(f"${latex}$", extraction_config=[mv.LatexExtractionConfig()], parsing_timeout=None)
        return next((x for x in found if not isinstance(x, str)), None)


@lru_cache(maxsize=1024)
def gold_value(text: str) -> float | None:
    """Numeric value of a ground-truth answer text (trusted input; fast path, else the CAS)."""
    s = normalize(text)
    fast = read_number(s)
    if fast is not None:
        return None if fast.zero_division else fast.value
    if check_bounds(s):
        return None
    _math_verify()
    try:
        with deadline(1.0):
            expr = _cas_parse(_to_latex(s))
            return float(expr.evalf(15)) if expr is not None and not expr.free_symbols else None
    except (_Timeout, Exception):  # noqa: BLE001 - unparseable gold: compared by spelling only
        return None


_CAS_CACHE: dict[tuple[str, str, float | None, float], bool] = {}
_CAS_CACHE_SIZE = 65536


def _cas_equal(s: str, gold_text: str, value: float | None, tolerance: float) -> str:
    """``"yes"``/``"no"``/``"timeout"`` for an answer that passed :func:`check_bounds` (verdicts are
    cached; time-outs are not, so a slow moment does not stick)."""
    key = (s, gold_text, value, tolerance)
    if key not in _CAS_CACHE:
        result = _cas_compare(s, gold_text, value, tolerance)
        if result == "timeout":
            return result
        if len(_CAS_CACHE) >= _CAS_CACHE_SIZE:
            _CAS_CACHE.clear()
        _CAS_CACHE[key] = result == "yes"
    return "yes" if _CAS_CACHE[key] else "no"


def _cas_compare(s: str, gold_text: str, value: float | None, tolerance: float) -> str:
    verify = _math_verify().verify
    try:
        with deadline(CAS_BUDGET):
            pred = _cas_parse(_to_latex(s))
            if pred is None:
                return "no"
            if value is not None:  # a numeric ground truth: compare values; free symbols mean a wrong answer
                if getattr(pred, "free_symbols", True):
                    return "no"
                num = complex(pred.evalf(15))
                return "yes" if abs(num.imag) < 1e-12 and _close(num.real, value, tolerance) else "no"
            gold = _cas_parse(_to_latex(normalize(gold_text)))
            ok = gold is not None and verify(gold, pred, timeout_seconds=None)
            return "yes" if ok else "no"
    except _Timeout:
        return "timeout"
    except Exception:  # noqa: BLE001 - a CAS failure on untrusted input is a wrong answer
        return "no"


def grade(response: object, gold: Gold, mode: str = "free_form") -> Verdict:
    """Grade one response against ``gold``; never raises (a broken input is a wrong answer)."""
    try:
        return _grade(response, gold, mode)
    except (_Timeout, Exception):  # noqa: BLE001 - the contract is a verdict for every input
        return Verdict(False, "", False, "error")


def _grade(response: object, gold: Gold, mode: str) -> Verdict:
    if not isinstance(response, str):
        return Verdict(False, "", False, "error")
    found = extract(response)
    if found.answer is None:
        return Verdict(False, "", False, "none")
    s = normalize(found.answer)
    fmt = found.formatted
    if len(s) > 160:
        return Verdict(False, s[:160], fmt, "too_long")
    letter = letter_of(s)
    if letter is not None and mode == "multiple_choice" and gold.letter:
        return Verdict(letter == gold.letter, letter, fmt, "letter")
    if s in gold.forms or s == normalize(gold.text):
        return Verdict(True, s, fmt, "string")
    if letter is not None:
        return Verdict(False, letter, fmt, "letter")
    value = gold.value if gold.value is not None else gold_value(gold.text)
    fast = read_number(s)
    if fast is not None and value is not None:
        ok = not fast.zero_division and _close(fast.value, value, max(fast.tolerance, gold.tolerance))
        return Verdict(ok, s, fmt, "number")
    bound = check_bounds(s)
    if bound is not None:
        return Verdict(False, s, fmt, f"rejected:{bound}")
    result = _cas_equal(s, gold.text, value, gold.tolerance)
    return Verdict(result == "yes", s, fmt, "math_verify" if result != "timeout" else "timeout")


def warm_up() -> None:
    """Import and exercise math-verify now (about a second) rather than on the first answer that needs it."""
    _math_verify()
