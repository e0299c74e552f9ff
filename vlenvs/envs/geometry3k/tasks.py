"""Geometry3k tasks: one object per batch owns each env's problem, its instruction text (problem,
choices, feedback) and its success check (the grader)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vlenvs.core.spaces import INSTRUCTION_CHARSET
from vlenvs.envs.geometry3k.answers import normalize
from vlenvs.envs.geometry3k.data import Record
from vlenvs.envs.geometry3k.generate import LETTERS, Generated
from vlenvs.envs.geometry3k.grader import Gold, Verdict, gold_value, grade

#: Common characters outside the instruction charset, spelled with ones inside it.
_TRANSLATE = str.maketrans(
    {
        "−": "-",
        "–": "-",
        "—": "-",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "⊥": "⊥",
        "\u00a0": " ",
        "≠": "!=",
        "∡": "∠",
        "⁰": "°",
        "º": "°",
        "˚": "°",
    }
)
FREE_FORM_HINT = "Give the final answer in \\boxed{}."
CHOICE_HINT = "Answer with the letter of the correct choice in \\boxed{}."


def to_charset(text: str, limit: int) -> str:
    """``text`` in the instruction charset (unknown characters become ``?``), at most ``limit`` long."""
    text = text.translate(_TRANSLATE)
    if not INSTRUCTION_CHARSET.issuperset(text):
        text = "".join(c if c in INSTRUCTION_CHARSET else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Item:
    """One problem as the env shows and grades it, whatever its source."""

    id: str
    family: str
    problem: str
    choices: tuple[str, ...]
    """Choice texts as shown to the model (multiple-choice mode)."""
    gold: Gold
    solution: str
    """Worked solution (generated problems; '' for the dataset)."""
    diagram_text: str
    """What the diagram shows, in words (for the ``ansi`` render mode)."""


def item_from_generated(g: Generated, problem_id: str) -> Item:
    """An :class:`Item` for a generated problem (exact value, letter and the usual spellings)."""
    p = g.problem
    forms = {normalize(p.answer.latex()), normalize(p.answer.text())}
    gold = Gold(text=p.answer.latex(), value=float(p.answer), letter=LETTERS[g.correct], forms=frozenset(forms))
    choices = tuple(c.text() + p.unit for c in g.choices)
    return Item(problem_id, p.family, p.text, choices, gold, p.solution, p.figure.describe())


def item_from_record(r: Record) -> Item:
    """An :class:`Item` for a Geometry3K problem (the correct choice's text is the ground truth)."""
    value = gold_value(r.answer)  # the exact value of the choice text; precise_value may be rounded
    value = value if value is not None else r.precise_value
    gold = Gold.from_text(r.answer, letter=r.letter, value=value)
    family = "/".join(r.problem_type) or "geometry3k"
    return Item(f"{r.split}-{r.id}", family, r.problem, r.choices, gold, "", "the Geometry3K diagram of this problem")


@dataclass
class GeometryTasks:
    """The current problem of each of ``num_envs`` envs, with attempts and feedback."""

    num_envs: int
    mode: str
    max_attempts: int
    max_length: int
    items: list[Item | None] = field(init=False)
    attempts: np.ndarray = field(init=False)
    verdicts: list[Verdict | None] = field(init=False)
    texts: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.items = [None] * self.num_envs
        self.attempts = np.zeros(self.num_envs, dtype=np.int64)
        self.verdicts = [None] * self.num_envs
        self.texts = [""] * self.num_envs

    def set(self, i: int, item: Item) -> None:
        """Start env ``i`` on ``item``."""
        self.items[i], self.attempts[i], self.verdicts[i] = item, 0, None
        self.texts[i] = self._text(i)

    def _text(self, i: int) -> str:
        item = self.items[i]
        assert item is not None
        parts = [item.problem]
        if self.mode == "multiple_choice":
            parts.append("Choices: " + "  ".join(f"{LETTERS[k]}. {c}" for k, c in enumerate(item.choices)))
            parts.append(CHOICE_HINT)
        else:
            parts.append(FREE_FORM_HINT)
        fb = self.feedback(i)
        if fb:
            parts.append(fb)
        return to_charset("\n".join(parts), self.max_length)

    def feedback(self, i: int) -> str:
        """The note on a wrong answer while attempts remain ('' otherwise)."""
        v = self.verdicts[i]
        left = self.max_attempts - int(self.attempts[i])
        if v is None or v.correct or left <= 0:
            return ""
        said = f'Your answer "{v.parsed[:40]}"' if v.parsed else "No answer could be read from your response; it"
        plural = "s" if left > 1 else ""
        return f"{said} is incorrect. Try again ({left} attempt{plural} left)."

    def check(self, i: int, response: object) -> Verdict:
        """Grade env ``i``'s response, count the attempt and update its instruction."""
        item = self.items[i]
        assert item is not None
        verdict = grade(response, item.gold, self.mode)
        self.attempts[i] += 1
        self.verdicts[i] = verdict
        self.texts[i] = self._text(i)
        return verdict
