"""Maze2D configuration: one validated dataclass and the named presets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vlenvs.core.config import check_choice, check_float, check_int, image_hw
from vlenvs.core.errors import out_of_range
from vlenvs.core.split import check_split

MIN_SIZE, MAX_SIZE = 5, 101
START_GOAL_MODES = ("random", "corners")
SUCCESS_MODES = ("reach", "stop")


@dataclass(frozen=True)
class Maze2DConfig:
    """Everything that defines a Maze2D variant. Validated on construction."""

    size: int = 9
    """Side of the square grid in squares, border walls included (wall-cell layout): odd, 5..101.
    Open cells sit at odd coordinates; a 9x9 grid has 4x4 cells joined by carved corridors."""

    image_size: int | tuple[int, int] = 128
    """Observation image size: an int for square images or ``(height, width)``; at least ``size`` pixels."""

    start_goal: Literal["random", "corners"] = "random"
    """``"random"``: start and goal are two distinct random cells; ``"corners"``: top-left to bottom-right."""

    success_mode: Literal["reach", "stop"] = "reach"
    """``"reach"``: the episode succeeds when the agent steps onto the goal. ``"stop"``: adds a ``stop``
    action; the episode ends when the agent says stop and succeeds only if it is on the goal."""

    step_penalty: float = 0.0
    """Subtracted from the reward on every step (0..1). Success gives +1."""

    max_steps: int | None = None
    """Steps before truncation; ``None`` scales with the maze: ``(size - 1) ** 2`` (64 for 9x9)."""

    split: Literal["all", "train", "test"] = "all"
    """Which part of the instruction vocabulary episodes draw from, to measure generalisation: ``"all"``
    (everything, the default), ``"train"`` or ``"test"``: disjoint sets of agent/goal colour x shape pairs
    (test: one shape per colour, 8 of 32) and of templates (test: 2 of 8 reach templates, 1 of 3 stop
    suffixes). A fixed function of the vocabulary, not of the seed; ``tasks.split_sets(split)`` lists them."""

    def __post_init__(self) -> None:
        valid = f"an odd integer in [{MIN_SIZE}, {MAX_SIZE}] (wall-cell layout)"
        if isinstance(self.size, bool) or not isinstance(self.size, int) and not hasattr(self.size, "__index__"):
            raise out_of_range("size", self.size, valid)
        size = int(self.size)
        if not MIN_SIZE <= size <= MAX_SIZE or size % 2 == 0:
            raise out_of_range("size", self.size, valid)
        h, w = image_hw(self.image_size, lo=8)
        if h < size or w < size:
            raise out_of_range("image_size", self.image_size, f"at least size={size} pixels per side")
        check_choice("start_goal", self.start_goal, START_GOAL_MODES)
        check_choice("success_mode", self.success_mode, SUCCESS_MODES)
        object.__setattr__(self, "step_penalty", check_float("step_penalty", self.step_penalty, 0.0, 1.0))
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1, 1_000_000)
        check_split(self.split)

    @property
    def image_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the observation image."""
        return image_hw(self.image_size)

    @property
    def cells(self) -> int:
        """Cells per side of the maze (``(size - 1) // 2``)."""
        return (self.size - 1) // 2

    @property
    def episode_limit(self) -> int:
        """Steps before truncation."""
        return self.max_steps if self.max_steps is not None else (self.size - 1) ** 2


#: Named presets; keyword arguments override their fields.
PRESETS: dict[str, dict[str, object]] = {
    "easy": {"size": 5, "start_goal": "random"},
    "medium": {"size": 9, "start_goal": "random"},
    "hard": {"size": 15, "start_goal": "random"},
    "expert": {"size": 31, "start_goal": "corners"},
    # the layouts VLM maze benchmarks commonly use
    "9x9": {"size": 9, "start_goal": "random"},
    "11x11": {"size": 11, "start_goal": "random"},
}
