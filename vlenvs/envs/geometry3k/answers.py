"""Reading an answer out of untrusted model text: extraction, normalisation and the fast-path number
reader. Everything here is linear in the input (no backtracking regexes over the whole text, no
recursion), and nothing is ever evaluated as code."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Longest extracted answer that is graded at all (longer ones are wrong by definition).
MAX_ANSWER = 160
#: How far past ``\boxed{`` or ``<answer>`` the extractor scans for the closing delimiter.
MAX_SCAN = 4096
#: Answers short enough to be taken as the whole response when no explicit format is found.
MAX_BARE = 64

_LETTER = re.compile(r"\(?([A-D])\)?[.:)]?")
_ANSWER_LINE = re.compile(r"answer[ \t]*(?:is|:|=)[ \t]*:?[ \t]*([^\n]*)", re.IGNORECASE)
_LHS = re.compile(r"(?:[a-z]|m?∠?[A-Z]{1,3}|m\\angle[A-Z]{1,3}|\\angle[A-Z]{1,3}|[a-z]+\([A-Z]\)|[a-z]{3}[A-Z])")
_TEXT_CMD = re.compile(r"\\(?:text|mathrm|textrm|mbox|operatorname)\{([^{}]{0,40})\}")
_UNITS = re.compile(
    r"(?:square|sq\.?)?(?:units?|cm|mm|km|m|in|inches|ft|feet|yd|yards|meters?|centimeters?)(?:\^?\{?2\}?|²)?$"
)
_DEGREES = ("^{\\circ}", "^\\circ", "\\circ", "°", "\\degree", "degrees", "degree")
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
    ("\\displaystyle", ""),
)

# the fast path: numbers, fractions and single-term radicals / multiples of pi, in the usual spellings
_DEC = r"(?:\d{1,15}(?:\.\d{0,15})?|\.\d{1,15})"
_RAD = (
    r"(?:\\sqrt\{(?P<r1>\d{1,9})\}|\\sqrt(?P<r2>\d)|√\{?(?P<r3>\d{1,9})\}?|sqrt\((?P<r4>\d{1,9})\)|sqrt(?P<r5>\d{1,9}))"
)
_MONO = rf"(?P<c>{_DEC})?\*?(?:{_RAD})?\*?(?P<pi>\\pi|pi)?"
_FAST = [
    re.compile(rf"(?P<s>[+-])?{_MONO}"),
    re.compile(rf"(?P<s>[+-])?\\frac\{{{_MONO}\}}\{{(?P<d>\d{{1,15}})\}}"),
    re.compile(r"(?P<s>[+-])?\\frac(?P<c>\d)(?P<d>\d)"),
    re.compile(rf"(?P<s>[+-])?{_MONO}/(?P<d>\d{{1,15}})"),
    re.compile(r"(?P<s>[+-])?\((?P<c>\d{1,15})/(?P<d>\d{1,15})\)(?P<pi>\\pi|pi)"),
]


@dataclass(frozen=True)
class Extracted:
    """The answer found in a response and how it was marked."""

    answer: str | None
    how: str
    """``boxed``, ``tag``, ``line``, ``letter``, ``bare`` or ``none``."""

    @property
    def formatted(self) -> bool:
        """The response marked its answer explicitly (``\\boxed{}``, ``<answer>`` tags or an answer line)."""
        return self.how in ("boxed", "tag", "line")


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


def _last_boxed(text: str) -> str | None:
    pos = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if pos < 0:
        return None
    brace = text.find("{", pos, pos + 8)
    if brace < 0:  # \boxed 12
        rest = text[pos + 6 : pos + 6 + MAX_BARE].strip().split()
        return rest[0].rstrip("$.") if rest else None
    return _braced(text, brace)


def extract(text: str) -> Extracted:
    """Find the answer in a response: last ``\\boxed{}``, then ``<answer>`` tags, then an
    ``Answer: ...`` line, then a bare choice letter or a short bare response."""
    boxed = _last_boxed(text)
    if boxed is not None:
        return Extracted(boxed, "boxed")
    low = text.lower() if len(text) <= 4 * MAX_SCAN else text[-4 * MAX_SCAN :].lower()
    base = len(text) - len(low)
    open_at = low.rfind("<answer>")
    if open_at >= 0:
        close = low.find("</answer>", open_at, open_at + MAX_SCAN)
        inner = text[base + open_at + 8 : base + close if close >= 0 else base + open_at + 8 + MAX_SCAN]
        inner_boxed = _last_boxed(inner)
        return Extracted(inner_boxed if inner_boxed is not None else inner, "tag")
    lines = [m for m in _ANSWER_LINE.finditer(text, base) if m.group(1).strip()]  # the last answer line
    if lines:
        return Extracted(lines[-1].group(1)[:MAX_SCAN], "line")
    stripped = text.strip()
    if _LETTER.fullmatch(stripped):
        return Extracted(stripped, "letter")
    if 0 < len(stripped) <= MAX_BARE:
        return Extracted(stripped, "bare")
    return Extracted(None, "none")


def normalize(answer: str) -> str:
    """A canonical spelling: no math delimiters, spacing, units, degree signs or ``x =`` prefix."""
    s = answer.strip()
    if len(s) > MAX_ANSWER:
        return s[: MAX_ANSWER + 1]  # too long to be graded; kept too long
    s = s.replace("$", "").replace("\\(", "").replace("\\)", "").replace("\\[", "").replace("\\]", "")
    for old, new in _REPLACE:
        s = s.replace(old, new)
    s = _TEXT_CMD.sub(r"\1", s)
    s = "".join(s.split())
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
    return m.group(1) if m else None


@dataclass(frozen=True)
class FastNumber:
    """A number read by the fast path: its value and the rounding its spelling implies."""

    value: float
    tolerance: float
    """Half a unit in the last written decimal place for a decimal spelling with >= 3 significant
    digits (``3.46`` stands for anything that rounds to it); 0 for exact spellings."""
    zero_division: bool = False


def read_number(s: str) -> FastNumber | None:
    """Read a plain number, fraction or single radical / multiple of pi; None when the spelling is
    anything else (the caller then uses the CAS)."""
    if not s or len(s) > 48:
        return None
    for pattern in _FAST:
        m = pattern.fullmatch(s)
        if m is None:
            continue
        g = m.groupdict()
        coef, rad, pi = g.get("c"), next((g[k] for k in ("r1", "r2", "r3", "r4", "r5") if g.get(k)), None), g.get("pi")
        if coef is None and rad is None and pi is None:
            continue
        den = int(g["d"]) if g.get("d") else 1
        if den == 0:
            return FastNumber(math.nan, 0.0, zero_division=True)
        value = (float(coef) if coef else 1.0) * (math.sqrt(int(rad)) if rad else 1.0) * (math.pi if pi else 1.0) / den
        value = -value if g.get("s") == "-" else value
        tol = 0.0
        if coef and "." in coef and rad is None and pi is None and den == 1:
            decimals = len(coef.split(".")[1])
            digits = len(coef.replace(".", "").lstrip("0"))
            tol = 0.5 * 10.0**-decimals if decimals and digits >= 3 else 0.0
        return FastNumber(value, tol)
    return None
