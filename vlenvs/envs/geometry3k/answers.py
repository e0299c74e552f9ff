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
#: Length and area units a trailing unit may name (a closed list: other words are never stripped).
_UNIT_WORD = (
    r"(?:units?|(?:centi|milli|kilo)?(?:meters?|metres?)|cm|mm|km|m|inch(?:es)?|in|ft|feet|foot|yards?|yd|miles?|mi)"
)
#: A trailing unit after the value: ``cm``, ``cm^2``, ``cm²``, ``square units``, ``sq. units``, ``units squared``
#: (``\text{}``/``\mathrm{}`` already unwrapped); never glued to a letter or a command (``\pi m`` keeps ``\pi``).
_UNITS = re.compile(
    r"\s*(?<![A-Za-z\\])(?:(?:square|sq\.?)\s*)?" + _UNIT_WORD + r"\.?(?:\s*\^\s*\{?\s*2\s*\}?|²|\s+squared)?\s*$"
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
    """``boxed``, ``tag``, ``line``, ``letter``, ``sentence``, ``bare``, ``none`` or ``too_many_answers``."""
    others: tuple[str, ...] = ()
    """Earlier ``\\boxed{}`` answers of the same response (at most :data:`MAX_BOXES` - 1): a response that
    boxes several different answers is wrong."""
    after: str = ""
    """The value written right after the final ``\\boxed{}``/``<answer>`` as ``= value`` (``\\boxed{D} = 80``):
    when readable it must agree with the answer."""

    @property
    def formatted(self) -> bool:
        """The response marked its answer explicitly (``\\boxed{}``, ``<answer>`` tags or an answer line)."""
        return self.how in ("boxed", "tag", "line")


#: Most ``\boxed{}`` answers read from one response; a response with more is not graded ("too_many_answers").
#: Also the most answers one extracted answer may offer (``A or B or C``).
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


def _boxed_at(text: str, pos: int) -> tuple[str, int] | None:
    """The contents of the box at ``pos`` and the index just past it, or None when unclosed."""
    brace = text.find("{", pos, pos + 8)
    if brace < 0:  # \boxed 12
        rest = text[pos + 6 : pos + 6 + MAX_BARE].strip().split()
        return (rest[0].rstrip("$."), pos + 6 + MAX_BARE) if rest else None
    inner = _braced(text, brace)
    return None if inner is None else (inner, brace + len(inner) + 2)


def _boxes(text: str) -> tuple[list[str], int] | None:
    """The ``\\boxed{}``/``\\fbox{}`` contents of ``text``, last first, and the end of the last one: ``[]``
    when there is none or the last one is unclosed, ``None`` when there are more than :data:`MAX_BOXES`
    (closed or not: at most ``MAX_BOXES + 1`` are ever scanned)."""
    out: list[str] = []
    end = len(text)
    last_end = len(text)
    for seen in range(MAX_BOXES + 1):
        pos = max(text.rfind("\\boxed", 0, end), text.rfind("\\fbox", 0, end))
        if pos < 0:
            return out, last_end
        if seen == MAX_BOXES:
            return None
        found = _boxed_at(text, pos)
        if found is None and not out:
            return [], last_end
        if found is not None:
            if not out:
                last_end = found[1]
            out.append(found[0])
        end = pos
    return out, last_end


_AFTER = re.compile(r"[ \t$]*=[ \t$]*([^\n$]{1,200})")


def _after(text: str, end: int) -> str:
    """``value`` of a ``= value`` written right after index ``end``, up to the line, math, clause or sentence
    end; '' when there is none or it is longer than :data:`MAX_BARE` (never a cut-off prefix)."""
    m = _AFTER.match(text, end, end + 220)
    if not m:
        return ""
    value = re.split(r"\.\s|,\s|;", m.group(1), maxsplit=1)[0].strip().rstrip(".")
    return value if len(value) <= MAX_BARE else ""


def _after_thinking(text: str) -> str:
    """The part after the last ``</think>`` when it holds anything (reasoning may try answers out)."""
    pos = text.rfind("</think>")
    if pos >= 0 and text[pos + 8 :].strip():
        return text[pos + 8 :]
    return text


#: Where a sentence of an answer line ends ("12. I hope it is correct": a full stop before a capital).
_SENTENCE_CUT = re.compile(r"\.\s+(?=[A-Z])")
#: "The final answer is ..." inside an answer line (the Minerva/Qwen "Final Answer: The final answer is $x$.").
_RESTATED = re.compile(r"(?:the)?\s*(?:final|correct)?", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$?([^$]{1,160})\$|\\\((.{1,160}?)\\\)")


def _line_answer(content: str) -> str:
    """The answer an answer line gives: a restated "the final answer is X" is followed (twice at most),
    a leading ``$math$`` span is the answer, otherwise the line up to its first sentence end."""
    for _ in range(2):
        inner = _ANSWER_LINE.search(content)
        if inner is None or not _RESTATED.fullmatch(content[: inner.start()].strip(" \t*")):
            break
        content = inner.group(1)
    head = content.lstrip(" \t*")
    math = _MATH_SPAN.match(head)
    if math:
        return math.group(1) if math.group(1) is not None else math.group(2)
    return _SENTENCE_CUT.split(content, maxsplit=1)[0]


#: Where a response's last clause starts (sentence ends, line breaks, commas, semicolons).
_CLAUSE = re.compile(r"[.!?:]\s|[\n,;]")
#: What a final clause states its value with: ``x = 12``, ``the length of AB is 12``.
_STATES = re.compile(r"=|≈|\\approx|\s(?:is|equals)\s")
_VALUE_LIKE = re.compile(r"\d|\\(?:frac|sqrt|pi)|[π√]")


def _sentence_answer(text: str) -> str | None:
    """The value the final clause states (``So x = 12.``, ``Therefore, the length of AB is 12 cm.``), or None.

    The bounded, conservative subset of math-verify's unanchored extraction (the rightmost number): only
    the last ``= value`` / ``is value`` of the last clause, which must state exactly one value (no ``or`` /
    ``and``), and the value must look like one (a digit, a root, pi, or a lone choice letter)."""
    tail = text[-256:].rstrip().rstrip(".").rstrip()
    clause = tail[max((m.end() for m in _CLAUSE.finditer(tail)), default=0) :]
    states = list(_STATES.finditer(clause))
    if not states or re.search(r"\s(?:or|and)\s", clause):
        return None
    value = clause[states[-1].end() :].strip().strip("$").strip()
    return value if _VALUE_LIKE.search(value) or _LETTER.fullmatch(value) else None


def extract(text: str) -> Extracted:
    """Find the answer in a response (after its last ``</think>``, when there is text after it): last
    ``\\boxed{}``, then ``<answer>`` tags, then an ``Answer: ...`` line, then a bare choice letter, then the
    value the final clause states (``So x = 12.``), then a short bare response."""
    text = _after_thinking(text)
    found = _boxes(text)
    if found is None:
        return Extracted(None, "too_many_answers")
    boxes, box_end = found
    if boxes:
        return Extracted(boxes[0], "boxed", tuple(boxes[1:]), _after(text, box_end))
    low = text.lower() if len(text) <= 4 * MAX_SCAN else text[-4 * MAX_SCAN :].lower()
    base = len(text) - len(low)
    tags: list[str] = []
    end = len(low)
    tag_end = len(text)
    for _ in range(MAX_BOXES + 1):  # the last tag, and earlier ones that must agree with it
        open_at = low.rfind("<answer>", 0, end)
        if open_at < 0:
            break
        if len(tags) == MAX_BOXES:
            return Extracted(None, "too_many_answers")
        close = low.find("</answer>", open_at, min(end, open_at + MAX_SCAN))
        if not tags and close >= 0:
            tag_end = base + close + 9
        tags.append(text[base + open_at + 8 : base + close if close >= 0 else base + min(end, open_at + 8 + MAX_SCAN)])
        end = open_at
    if tags:
        return Extracted(tags[0], "tag", tuple(t for t in tags[1:] if t.strip()), _after(text, tag_end))
    lines = [m for m in _ANSWER_LINE.finditer(text, base) if m.group(1).strip(" \t*")]  # the last answer line
    if lines:
        return Extracted(_line_answer(lines[-1].group(1)[:MAX_SCAN]), "line")
    stripped = text.strip()
    if _LETTER.fullmatch(stripped):
        return Extracted(stripped, "letter")
    stated = _sentence_answer(text)
    if stated:
        return Extracted(stated, "sentence")
    if 0 < len(stripped) <= MAX_BARE:
        return Extracted(stripped, "bare")
    return Extracted(None, "none")


_HEAD = r"(?:\(([A-Da-d])\)|([A-D])(?=[\s.:),–—]|$)|([a-d])(?=[.:),]|$))"
#: A choice letter, the separator before its value (``D. 80``, ``D: 80``, ``D) 80``, ``D, 80``, ``D - 80``)
#: and the rest. A lower-case letter needs punctuation (``a triangle`` is prose).
_CHOICE = re.compile(_HEAD + r"(?:\s*[.:),]|\s+[-–—](?=\s)|\s*[–—])?\s*(.*)", re.S)
_OPTION = re.compile(r"^(?:option|choice)\s*", re.IGNORECASE)
#: A word: prose, unless it is ``sqrt``/``pi`` (plain-text math).
_PROSE = re.compile(r"(?!(?:sqrt|pi)(?![A-Za-z]))[A-Za-z]{2,}")
_WRAP = re.compile(r"\\(?:text|textbf|mathbf|mathrm|textrm|mbox|bf)\{([^{}]{0,40})\}")
#: What joins several answers: disjunctions (``or``, ``vs``) and lists (``,`` ``;`` ``&`` ``and``); a comma
#: before a digit is a thousands separator, not a list; ``\\,`` and ``\\;`` are spacing.
_JOIN = re.compile(r"\s*(?<!\\)(?:[;&]|,(?!\d))\s*(?:(or|and)\s+)?|\s+(or|and|vs\.?)\s+|\s*/\s*(?=\(?[A-Da-d]\)?$)", re.I)


def _unwrap(answer: str) -> str:
    return _WRAP.sub(r" \1 ", answer).replace("$", "").strip().strip("*").strip()


def choice_of(answer: str) -> tuple[str, str] | None:
    """``(letter, rest)`` when an extracted answer starts with a choice letter: ``D``, ``(D) 80``,
    ``D. 80``, ``D, 80``, ``D - 80`` (the value 80), ``Answer: D) 80``, ``a``; ``rest`` is the text after
    the letter ('' when it is prose such as ``because it fits``). None when the answer does not start with
    a letter."""
    found = _choice(answer)
    return None if found is None else found[:2]


def _choice(answer: str) -> tuple[str, str, bool] | None:
    """:func:`choice_of` plus whether prose followed the letter."""
    s = _OPTION.sub("", _unwrap(answer))
    m = _CHOICE.fullmatch(s)
    if not m:
        return None
    rest = (m.group(4) or "").strip().strip("*").strip().rstrip(".")
    if rest.startswith("="):  # B = 30 names a point or variable, not a choice
        return None
    letter = (m.group(1) or m.group(2) or m.group(3)).upper()
    return (letter, "", True) if _PROSE.match(rest) else (letter, rest, False)


def items(answer: str) -> list[str] | None:
    """The answers one extracted answer offers, split where ``or``/``and``/``,``/``;``/``&``/``/`` join them
    outside brackets: ``A or B`` -> ``[A, B]``, ``D, 80`` -> ``[D, 80]`` (a letter and its value, which must
    agree), ``12 or 13`` -> ``[12, 13]``. Prose is not an answer: after a letter followed by prose
    (``A because x or y``) or after a list joiner (``D, since ...``) the rest is explanation and dropped;
    after a disjunction (``A or maybe B``) it is kept (a hedge). None when more than :data:`MAX_BOXES`."""
    s = _unwrap(answer)
    out: list[str] = []
    start = depth = scanned = 0
    disjunct = False
    for m in _JOIN.finditer(s):
        for ch in s[scanned : m.start()]:
            depth += (ch in "([{") - (ch in ")]}")
        scanned = m.start()
        if depth > 0 or m.start() == 0:
            continue
        if not _take(out, s[start : m.start()], disjunct):
            return out
        if len(out) > MAX_BOXES:
            return None
        joiner = (m.group(1) or m.group(2) or "").lower()
        start, disjunct = m.end(), joiner.startswith(("or", "vs")) or "/" in m.group(0)
    _take(out, s[start:], disjunct)
    return out if len(out) <= MAX_BOXES else None


def _take(out: list[str], part: str, disjunct: bool) -> bool:
    """Add one joined ``part`` to ``out``; False when it ends the answers (explanation follows)."""
    part = part.strip()
    if not part:
        return True
    if out and not disjunct and _PROSE.match(part):
        return False  # "D, because it fits"
    out.append(part)
    choice = _choice(part)
    return choice is None or not choice[2]  # "A because x or y": the rest explains A


def normalize(answer: str) -> str:
    """A canonical spelling: no math delimiters, spacing, units, degree signs or ``x =`` prefix."""
    s = answer.strip()
    if len(s) > MAX_ANSWER:
        return s[: MAX_ANSWER + 1]  # too long to be graded; kept too long
    s = s.replace("$", "").replace("\\(", "").replace("\\)", "").replace("\\[", "").replace("\\]", "")
    for old, new in _REPLACE:
        s = s.replace(old, new)
    s = _TEXT_CMD.sub(r"\1", s)
    s = _UNITS.sub("", s.strip().rstrip(".,;"), count=1)
    s = "".join(s.split()).strip("*")
    if "=" in s:
        lhs, rhs = s.rsplit("=", 1)
        if rhs and _LHS.fullmatch(lhs.split("=")[0] or "x"):
            s = rhs
    s = s.rstrip(".,;")
    for d in _DEGREES:
        s = s.replace(d, "")
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
