"""From a model's free text to an env action: tolerant, bounded, never crashing.

Model text is untrusted: it is cut to :data:`MAX_REPLY_CHARS`, scanned with linear-time patterns and never
evaluated. The answer is taken from the last ``<answer>...</answer>`` (an unclosed tag runs to the end),
else from an ``Answer:``/``Action:`` line, else from a ``\\boxed{...}``, else from the text outside
``<think>`` blocks. Discrete envs then map it to an action name (case, ``_``/``-``, punctuation and
per-env synonyms such as "north" for "up" are ignored); text envs pass the answer through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gymnasium import spaces

from vlenvs_train.adapter.specs import EnvSpec

#: Longest reply the parser reads (the rest is ignored).
MAX_REPLY_CHARS = 8192

_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)
_THINK = re.compile(r"<\s*think\s*>.*?(?:<\s*/\s*think\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_LINE = re.compile(r"(?:final\s+)?(?:answer|action)\s*(?:is)?\s*[:=]\s*([^\n]*)", re.IGNORECASE)
_BOXED = "\\boxed{"
_NON_WORD = re.compile(r"[^a-z0-9\u2190-\u2193 ]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ParseResult:
    """What a reply said: the action (``None`` if invalid), the answer text, and why it failed."""

    action: int | str | None
    answer: str
    tagged: bool
    """Whether the answer came from ``<answer>`` tags (format compliance)."""
    error: str = ""
    marked: bool = False
    """Whether the answer was marked at all (``<answer>`` tags, an ``Answer:`` line or ``\\boxed{}``)."""

    @property
    def valid(self) -> bool:
        return self.action is not None


def _boxed(text: str) -> str | None:
    """The contents of the last ``\\boxed{...}`` (nested braces balanced; unclosed: to the end)."""
    start = text.rfind(_BOXED)
    if start < 0:
        return None
    body, depth = text[start + len(_BOXED):], 1
    for j, c in enumerate(body):
        depth += (c == "{") - (c == "}")
        if depth == 0:
            return body[:j]
    return body


def extract_answer(text: str) -> tuple[str, str]:
    """``(answer, how)``: the answer part of a reply and where it came from: ``"tag"`` (``<answer>``),
    ``"line"`` (``Answer: ...``), ``"boxed"`` (``\\boxed{...}``) or ``"bare"`` (the text outside ``<think>``)."""
    text = str(text)[:MAX_REPLY_CHARS]
    last_open = None
    for last_open in _OPEN.finditer(text):
        pass
    if last_open is not None:
        rest = text[last_open.end():]
        close = _CLOSE.search(rest)
        return (rest[: close.start()] if close else rest).strip(), "tag"
    outside = _THINK.sub(" ", text)
    lines = _LINE.findall(outside)
    if lines:
        return lines[-1].strip(), "line"
    boxed = _boxed(outside)
    if boxed is not None:
        return boxed.strip(), "boxed"
    return outside.strip(), "bare"


def normalize(text: str) -> str:
    """Lower case, ``_``/``-`` as spaces, punctuation dropped, single spaces."""
    text = text.lower().replace("_", " ").replace("-", " ")
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


class DiscreteParser:
    """Maps replies to one of ``action_names`` (by name or synonym); anything else is invalid."""

    def __init__(self, spec: EnvSpec, action_names: tuple[str, ...], strict_format: bool = False) -> None:
        self.action_names = tuple(action_names)
        self.strict_format = strict_format
        index = {a: i for i, a in enumerate(self.action_names)}
        table = {normalize(a): i for a, i in index.items()}
        for phrase, action in spec.synonyms.items():
            if action in index and normalize(phrase) not in table:
                table[normalize(phrase)] = index[action]
        self.table = table
        keys = sorted(table, key=len, reverse=True)
        self._scan = re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, keys)) + r")(?![a-z0-9])")

    def parse(self, text: str) -> ParseResult:
        answer, how = extract_answer(text)
        tagged = how == "tag"
        if self.strict_format and not tagged:
            return ParseResult(None, answer, tagged, "no <answer>...</answer> in the reply")
        norm = normalize(answer)
        if norm in self.table:
            return ParseResult(self.table[norm], answer, tagged, marked=how != "bare")
        found = {self.table[m] for m in self._scan.findall(norm)}
        if len(found) == 1:
            return ParseResult(found.pop(), answer, tagged, marked=how != "bare")
        legal = ", ".join(self.action_names)
        if not found:
            return ParseResult(None, answer, tagged, f"the answer {answer[:40]!r} names no legal action ({legal})")
        names = ", ".join(self.action_names[i] for i in sorted(found))
        return ParseResult(None, answer, tagged, f"the answer names several actions ({names}); give exactly one")


class TextParser:
    """Passes the answer through (whitespace collapsed); invalid unless the env's ``Text`` action space accepts it.

    A marked answer (tags, answer line, ``\\boxed{}``) is sent as ``<answer>...</answer>`` (when the space
    allows it) so an env that rewards the answer format (Geometry3k's ``format_reward``) still sees it
    marked; a bare one as it is."""

    def __init__(self, action_space: Any = None, strict_format: bool = False) -> None:
        self.strict_format = strict_format
        self.max_length = getattr(action_space, "max_length", 256) if isinstance(action_space, spaces.Text) else 256
        self.min_length = getattr(action_space, "min_length", 1) if isinstance(action_space, spaces.Text) else 1
        charset = getattr(action_space, "character_set", None) if isinstance(action_space, spaces.Text) else None
        self.charset = frozenset(charset) if charset else None

    def parse(self, text: str) -> ParseResult:
        answer, how = extract_answer(text)
        tagged = how == "tag"
        if self.strict_format and not tagged:
            return ParseResult(None, answer, tagged, "no <answer>...</answer> in the reply")
        clean = _SPACES.sub(" ", answer).strip()
        if len(clean) < max(self.min_length, 1):
            return ParseResult(None, answer, tagged, "the answer is empty")
        error = ""
        for action in ([f"<answer>{clean}</answer>"] if how != "bare" else []) + [clean]:
            error = self._reject(action)
            if not error:
                return ParseResult(action, answer, tagged, marked=how != "bare")
        return ParseResult(None, answer, tagged, error)

    def _reject(self, action: str) -> str:
        """Why the env's action space would reject ``action`` ('' if it accepts it)."""
        if len(action) > self.max_length:
            return f"the answer is longer than {self.max_length} characters"
        if self.charset is not None:
            bad = sorted({c for c in action if c not in self.charset})
            if bad:
                return f"the answer uses characters the env does not accept: {''.join(bad[:10])!r}"
        return ""


def make_parser(spec: EnvSpec, action_names: tuple[str, ...], action_space: Any = None,
                strict_format: bool = False) -> DiscreteParser | TextParser:
    """The parser for an env: discrete by action names, or text pass-through."""
    if spec.action_kind == "text" or isinstance(action_space, spaces.Text):
        return TextParser(action_space, strict_format)
    return DiscreteParser(spec, action_names, strict_format)
