"""Geometry3k configuration: one validated dataclass and the named presets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vlenvs.core.config import check_choice, check_float, check_int, image_hw
from vlenvs.core.errors import InvalidConfigError, invalid_choice

SOURCES = ("generated", "geometry3k")
SPLITS = ("train", "validation", "test")
#: Other spellings of a split (InterGPS names the validation folder ``val``).
SPLIT_ALIASES = {"val": "validation"}
ORDERS = ("random", "sequential")
PROBLEM_TEXTS = ("auto", "original", "annotated")
MODES = ("free_form", "multiple_choice")
DIFFICULTIES = ("easy", "medium", "hard")
TOPICS = ("triangles", "circles", "parallel_lines", "polygons", "areas")
#: Environment variable naming the local Geometry3K directory when ``data_dir`` is not given.
DATA_DIR_ENV = "VLENVS_GEOMETRY3K_DIR"


@dataclass(frozen=True)
class Geometry3kConfig:
    """Everything that defines a Geometry3k variant. Validated on construction."""

    source: Literal["generated", "geometry3k"] = "generated"
    """``"generated"``: unlimited procedural problems with rendered diagrams. ``"geometry3k"``: the real
    dataset (Lu et al., 2021) from a local directory (``data_dir`` or ``$VLENVS_GEOMETRY3K_DIR``)."""

    split: Literal["train", "validation", "val", "test"] = "train"
    """Dataset split (train 0-2100, validation 2101-2400, test 2401-3001; ``val`` is the same as
    ``validation`` and is stored as ``validation``). For generated problems the split selects an
    independent stream of problems."""

    order: Literal["random", "sequential"] = "random"
    """Which problem a reset draws: ``random`` (uniformly, with replacement, from the env's generator) or
    ``sequential`` (env ``i`` of ``N`` walks problems ``i, i+N, i+2N, ...`` and wraps around, so ``N`` envs
    visit every problem of a dataset split exactly once in ``ceil(num_problems / N)`` episodes each;
    ``info["pass"]`` counts the wrap-arounds). ``reset(options={"index": i})`` picks problem ``i`` in
    either order."""

    problem_text: Literal["auto", "original", "annotated"] = "auto"
    """Dataset problem text: ``auto`` (the layout's own: folders' ``problem_text``, parquet's ``problem``),
    ``original`` (InterGPS ``problem_text``, e.g. "Find x."; folders only) or ``annotated`` (InterGPS
    ``annotat_text``, which the hub's parquet ``problem`` column carries and which often adds diagram
    facts). The two layouts therefore show different text under ``auto``."""

    mode: Literal["free_form", "multiple_choice"] = "free_form"
    """``"free_form"``: answer with a value. ``"multiple_choice"``: the four choices are in the
    instruction and a choice letter (or the correct value) is accepted."""

    max_attempts: int = 1
    """Answers allowed per problem (1..16); a wrong answer with attempts left gets feedback text."""

    format_reward: float = 0.0
    """Extra reward (0..1) for marking the answer with ``\\boxed{}``, ``<answer>`` tags or an answer line."""

    image_size: int | tuple[int, int] = 256
    """Observation image size: an int for square images or ``(height, width)`` (32..2048)."""

    data_dir: str | None = None
    """Local Geometry3K directory (either layout); ``None`` reads ``$VLENVS_GEOMETRY3K_DIR``. Only with
    ``source="geometry3k"`` (given with another source it is an error, not silently ignored)."""

    difficulty: Literal["easy", "medium", "hard"] = "medium"
    """Generated problems: ``easy`` gives the values, ``medium`` adds unknowns in expressions like
    ``(2x + 5)°``, ``hard`` adds irrational answers and larger coefficients."""

    topics: tuple[str, ...] = TOPICS
    """Generated problem topics, any of ``triangles``, ``circles``, ``parallel_lines``, ``polygons``, ``areas``."""

    max_action_length: int = 2048
    """Longest answer the Text action space samples (16..65536); longer answers are still graded."""

    max_instruction_length: int = 1024
    """Instructions are cut to this many characters (128..16384)."""

    def __post_init__(self) -> None:
        check_choice("source", self.source, SOURCES)
        check_choice("split", self.split, SPLITS + tuple(SPLIT_ALIASES))
        object.__setattr__(self, "split", SPLIT_ALIASES.get(self.split, self.split))
        check_choice("order", self.order, ORDERS)
        check_choice("problem_text", self.problem_text, PROBLEM_TEXTS)
        check_choice("mode", self.mode, MODES)
        check_choice("difficulty", self.difficulty, DIFFICULTIES)
        check_int("max_attempts", self.max_attempts, 1, 16)
        object.__setattr__(self, "format_reward", check_float("format_reward", self.format_reward, 0.0, 1.0))
        image_hw(self.image_size, lo=32)
        check_int("max_action_length", self.max_action_length, 16, 65536)
        check_int("max_instruction_length", self.max_instruction_length, 128, 16384)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise InvalidConfigError(f"invalid data_dir {self.data_dir!r}; expected a path string or None")
        if self.data_dir is not None and self.source != "geometry3k":  # the data would be silently ignored
            raise InvalidConfigError(
                f"data_dir={self.data_dir!r} is only read with source='geometry3k' (got source={self.source!r}; "
                f"choices: {', '.join(SOURCES)}); pass source='geometry3k' or drop data_dir"
            )
        topics = (self.topics,) if isinstance(self.topics, str) else tuple(self.topics)
        if not topics:
            raise InvalidConfigError(f"invalid topics {self.topics!r}; give at least one of {', '.join(TOPICS)}")
        for t in topics:
            if t not in TOPICS:
                raise invalid_choice("topic", t, TOPICS)
        object.__setattr__(self, "topics", topics)

    @property
    def image_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the observation image."""
        return image_hw(self.image_size, lo=32)


#: Named presets; keyword arguments override their fields.
PRESETS: dict[str, dict[str, object]] = {
    "easy": {"difficulty": "easy"},
    "medium": {"difficulty": "medium"},
    "hard": {"difficulty": "hard"},
    "multiple_choice": {"mode": "multiple_choice"},
    "geometry3k": {"source": "geometry3k", "mode": "multiple_choice"},
    "geometry3k_free_form": {"source": "geometry3k", "mode": "free_form"},
    # The EasyR1/verl evaluation protocol: the 601 test problems once each, in order, free-form answers
    # graded against the correct choice's text, on the annotated problem text the hub's parquet carries.
    "geometry3k_eval": {
        "source": "geometry3k",
        "split": "test",
        "mode": "free_form",
        "order": "sequential",
        "problem_text": "annotated",
    },
}
