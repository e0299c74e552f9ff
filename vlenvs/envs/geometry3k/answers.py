"""Reading an answer out of untrusted model text: extraction, choice letters and normalisation.

Everything here is linear in the input (no backtracking regexes over the whole text, no
recursion), and nothing is ever evaluated as code."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vlenvs.envs.geometry3k.evaluate import evaluate
from vlenvs.envs.geometry3k.surd import Refused

#: Longest extracted answer that is graded at all (longer ones are wrong by definition).
MAX_ANSWER = 160
#: How far past ``\boxed{`` or ``<answer>`` the extractor scans for the closing delimiter.
MAX_SCAN = 4096
#: Answers short enough to be taken as the whole response when no explicit format is found.
MAX_BARE = 64

_LETTER = re.compile(r"\(?([A-Da-d])\)?[.:)]?")
_ANSWER_LINE = re.compile(r"(?:answer|choice|option)[ \t]*(?:is|:|=)[ \t]*:?[ \t]*([^\n]*)", re.IGNORECASE)
_LHS = re.compile(r"(?:[a-z]|m?∠?[A-Z]{1,3}|m\\angle[A-Z]{1,3}|\\angle[A-Z]{1,3}|[a-z]+\([A-Z]\)|[a-z]{3}[A-Z])")
_TEXT_CMD = re.compile(r"\\(?:text|mathrm|textrm|mbox|operatorname)\{([^{}]{0,40})\}")
_UNITS = re.compile(
    r"(?:square|sq\.?)?(?:units?|cm|mm|km|m|in|inches|ft|feet|yd|yards|meters?|centimeters?)(?:\^?\{?2\}?|²)?$"
)
_DEGREES = ("^{\\circ}", "^\\circ", "\\circ", "°", "\\degree", "degrees", "degree", "deg")
_REPLACE = (
    ("\\left", ""),
    ("\\right", ""),
    ("\\!", ""),
    ("\\,", ""),
    ("\\;", ""),
    ("\\:", ""),
    ("\\ ", ""),
    ("~", ""),
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("−", "-"),
    ("–", "-"),
    ("×", "*"),
    ("·", "*"),
    ("⋅", "*"),
    ("\\cdot", "*"),
    ("\\times", "*"),
    ("π", "\\pi"),
    ("÷", "/"),
    ("\\approx", "="),
    ("≈", "="),
    ("\\displaystyle", ""),
)

@dataclass(frozen=True)
class Extracted:
    """The answer found in a response and how it was marked."""

    answer: str | None
    how: str
    """``boxed``, ``tag``, ``line``, ``letter``, ``bare`` or ``none``."""
    others: tuple[str, ...] = ()
    """Earlier ``\\boxed{}`` answers of the same response (at most :data:`MAX_BOXES` - 1): a response that
    boxes several different answers is wrong."""

    @property
    def formatted(self) -> bool:
        """The response marked its answer explicitly (``\\boxed{}``, ``<answer>`` tags or an answer line)."""
        return self.how in ("boxed", "tag", "line")


#: Most ``\boxed{}`` answers read from one response; a response with more is not graded ("too_many_answers").
MAX_BOXES = 4


def _braced(text: str, start: int) -> str | None:
    """The contents of the brace group opening at ``text[start] == '{'`` (bounded scan), or None."""
    depth = 0
    end = min(len(text), start + MAX_SCAN)
    for i in range(start, end):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return None


def _boxed_at(text: str, pos: int) -> str | None:
    brace = text.find("{", pos, pos + 8)
    if brace < 0:  # \boxed 12
        rest = text[pos + 6 : pos + 6 + MAX_BARE].strip().split()
        return rest[0].rstrip("$.") if rest else None
    return _braced(text, brace)


def _boxes(text: str) -> list[str] | None:
    """The ``\\boxed{}``/``\\fbox{}`` contents of ``text``, last first: ``[]`` when there is none or the last
    one is unclosed, ``None`` when there are more than :data:`MAX_BOXES` (closed or not: at most
    ``MAX_BOXES + 1`` are ever scanned)."""
    out: list[str] = []
    end = len(text)
    for seen in range(MAX_BOXES + 1):
        pos = max(text.rfind("\\boxed", 0, end), text.rfind("\\fbox", 0, end))
        if pos < 0:
            return out
        if seen == MAX_BOXES:
            return None
        inner = _boxed_at(text, pos)
        if inner is None and not out:
            return []
        if inner is not None:
            out.append(inner)
        end = pos
    return out


def _after_thinking(text: str) -> str:
    """The part after the last ``</think>`` when it holds anything (reasoning may try answers out)."""
    pos = text.rfind("</think>")
    if pos >= 0 and text[pos + 8 :].strip():
        return text[pos + 8 :]
    return text


def extract(text: str) -> Extracted:
    """Find the answer in a response (after its last ``</think>``, when there is text after it): last
    ``\\boxed{}``, then ``<answer>`` tags, then an ``Answer: ...`` line, then a bare choice letter or a
    short bare response."""
    text = _after_thinking(text)
    boxes = _boxes(text)
    if boxes is None:
        return Extracted(None, "too_many_answers")
    if boxes:
        return Extracted(boxes[0], "boxed", tuple(boxes[1:]))
    low = text.lower() if len(text) <= 4 * MAX_SCAN else text[-4 * MAX_SCAN :].lower()
    base = len(text) - len(low)
    tags: list[str] = []
    end = len(low)
    for _ in range(MAX_BOXES + 1):  # the last tag, and earlier ones that must agree with it
        open_at = low.rfind("<answer>", 0, end)
        if open_at < 0:
            break
        if len(tags) == MAX_BOXES:
            return Extracted(None, "too_many_answers")
        close = low.find("</answer>", open_at, min(end, open_at + MAX_SCAN))
        tags.append(text[base + open_at + 8 : base + close if close >= 0 else base + min(end, open_at + 8 + MAX_SCAN)])
        end = open_at
    if tags:
        return Extracted(tags[0], "tag", tuple(t for t in tags[1:] if t.strip()))
    lines = [m for m in _ANSWER_LINE.finditer(text, base) if m.group(1).strip(" \t*")]  # the last answer line
    if lines:
        return Extracted(lines[-1].group(1)[:MAX_SCAN], "line")
    stripped = text.strip()
    if _LETTER.fullmatch(stripped):
        return Extracted(stripped, "letter")
    if 0 < len(stripped) <= MAX_BARE:
        return Extracted(stripped, "bare")
    return Extracted(None, "none")


_CHOICE = (
    re.compile(r"\(([A-Da-d])\)[.:]?\s*(.*)", re.S),  # (D) 80, (a)
    re.compile(r"([A-D])(?:[.:)]|\s|$)\s*(.*)", re.S),  # D. 80, D) 80, A because it fits
    re.compile(r"([a-d])(?:[.:)]\s*(.*)|$)", re.S),  # a, a. 4, a) 4 (a lower-case letter needs punctuation)
)
_OPTION = re.compile(r"^(?:option|choice)\s*", re.IGNORECASE)
_PROSE = re.compile(r"[A-Za-z]{2,}")
_WRAP = re.compile(r"\\(?:text|textbf|mathbf|mathrm|textrm|mbox|bf)\{([^{}]{0,40})\}")


def choice_of(answer: str) -> tuple[str, str] | None:
    """``(letter, rest)`` when an extracted answer starts with a choice letter: ``D``, ``(D) 80``,
    ``D. 80``, ``Answer: D) 80``, ``a``; ``rest`` is the text after the letter ('' when it is prose such
    as ``because it fits``). None when the answer does not start with a letter."""
    s = _WRAP.sub(r"\1", answer).replace("$", "").strip().strip("*").strip()
    s = _OPTION.sub("", s)
    for pattern in _CHOICE:
        m = pattern.fullmatch(s)
        if m:
            rest = (m.group(2) or "").strip().strip("*").strip().rstrip(".")
            if rest.startswith("="):  # B = 30 names a point or variable, not a choice
                return None
            if _PROSE.match(rest) and not rest.startswith(("sqrt", "pi")):
                rest = ""
            return m.group(1).upper(), rest
    return None


def normalize(answer: str) -> str:
    """A canonical spelling: no math delimiters, spacing, units, degree signs or ``x =`` prefix."""
    s = answer.strip()
    if len(s) > MAX_ANSWER:
        return s[: MAX_ANSWER + 1]  # too long to be graded; kept too long
    s = s.replace("$", "").replace("\\(", "").replace("\\)", "").replace("\\[", "").replace("\\]", "")
    for old, new in _REPLACE:
        s = s.replace(old, new)
    s = _TEXT_CMD.sub(r"\1", s)
    s = "".join(s.split()).strip("*")
    if "=" in s:
        lhs, rhs = s.rsplit("=", 1)
        if rhs and _LHS.fullmatch(lhs.split("=")[0] or "x"):
            s = rhs
    s = s.rstrip(".,;")
    for d in _DEGREES:
        s = s.replace(d, "")
    s = _UNITS.sub("", s) if s and not s[-1].isdigit() else s
    if s.startswith("{") and s.endswith("}") and _braced(s, 0) == s[1:-1]:
        s = s[1:-1]
    return s.rstrip(".")


def letter_of(normalized: str) -> str | None:
    """The choice letter if the answer is just one (``B``, ``(B)``, ``B.``)."""
    m = _LETTER.fullmatch(normalized)
    return m.group(1).upper() if m else None


@dataclass(frozen=True)
class FastNumber:
    """A number read from a spelling: its value and the rounding its spelling implies."""

    value: float
    tolerance: float
    """Half a unit in the last written decimal place for a bare decimal with >= 3 significant digits
    (``3.46`` stands for anything that rounds to it); 0 for exact spellings."""
    zero_division: bool = False


_DECIMAL = re.compile(r"[+-]?(\d*)\.(\d+)")


def decimal_tolerance(s: str) -> float:
    """The rounding a bare decimal spelling implies (see :attr:`FastNumber.tolerance`); 0 otherwise."""
    m = _DECIMAL.fullmatch(s)
    if not m:
        return 0.0
    digits = len((m.group(1) + m.group(2)).lstrip("0"))
    return 0.5 * 10.0 ** -len(m.group(2)) if digits >= 3 else 0.0


def read_number(s: str) -> FastNumber | None:
    """The value of a normalised answer by the exact evaluator, as a float; None outside its grammar."""
    try:
        return FastNumber(float(evaluate(s)), decimal_tolerance(s))
    except Refused as e:
        return FastNumber(math.nan, 0.0, zero_division=True) if e.reason == "zero_division" else None
