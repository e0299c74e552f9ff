"""GridWorld3D configuration: one validated dataclass and the named presets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vlenvs.core.config import check_choice, check_float, check_int, image_hw
from vlenvs.core.errors import out_of_range
from vlenvs.core.split import check_split

MIN_SIZE, MAX_SIZE = 5, 41
LAYOUTS = ("rooms", "maze")
TASK_KINDS = ("go_to", "find", "sequence", "mixed")
VIEWS = ("first_person", "top_down", "both")
WRONG_DONE = ("fail", "ignore")
MAX_SEQUENCE = 3


@dataclass(frozen=True)
class GridWorld3DConfig:
    """Everything that defines a GridWorld3D variant. Validated on construction."""

    size: int = 9
    """Side of the square grid in cells, border walls included: odd, 5..41."""

    layout: Literal["rooms", "maze"] = "rooms"
    """``"rooms"``: ``rooms x rooms`` rooms joined by doorways (a random spanning tree of doors);
    ``"maze"``: a perfect maze with one-cell corridors (open cells at odd coordinates)."""

    rooms: int = 2
    """Rooms per side for ``layout="rooms"``; ``size - 1`` must be a multiple of it, rooms >= 2 cells wide."""

    num_distractors: int = 2
    """Objects besides the targets (other colour/shape pairs, so every description names exactly one)."""

    tasks: Literal["go_to", "find", "sequence", "mixed"] = "mixed"
    """Which task kinds the grammar emits: "go to X", "find X", "go to X, then to Y", or a mix of all."""

    sequence_length: int = 2
    """Targets in a sequence task (2..3); ignored unless ``tasks`` is ``"sequence"`` or ``"mixed"``."""

    image_size: int | tuple[int, int] = 128
    """Observation image size: an int for square images or ``(height, width)``; 16..1024 pixels."""

    fov: float = 60.0
    """Horizontal field of view of the first-person camera in degrees (30..120)."""

    view: Literal["first_person", "top_down", "both"] = "first_person"
    """What the observation image shows: the agent's view, a top-down map, or both side by side
    (``"both"`` doubles the image width)."""

    render_view: Literal["first_person", "top_down", "both"] | None = None
    """What ``render()`` shows (``rgb_array``/``human``); ``None``: the same as ``view``."""

    textures: bool = True
    """Brick texture on the walls; ``False`` draws flat per-cell colours."""

    wrong_done: Literal["fail", "ignore"] = "fail"
    """``done`` said where the current target is not reached: ``"fail"`` ends the episode (no reward);
    ``"ignore"`` lets it go on (pair it with ``step_penalty`` to discourage guessing)."""

    step_penalty: float = 0.0
    """Subtracted from the reward on every step (0..1). Success gives +1."""

    max_steps: int | None = None
    """Steps before truncation; ``None``: ``2 * (size - 1) ** 2 * targets`` (256 for the default)."""

    split: Literal["all", "train", "test"] = "all"
    """Which part of the vocabulary episodes draw from, to measure generalisation: ``"all"`` (everything, the
    default), ``"train"`` or ``"test"``: disjoint sets of object colour x shape pairs (test: 6 of 18, one
    shape per colour), of phrasings (test: one of each phrase list) and of wall colours (test: 2 of 6).
    ``"train"`` never shows a test pair (at most 12 objects); ``"test"`` targets only test pairs, among
    distractors of any pair. A fixed function of the vocabulary, not of the seed; ``tasks.split_sets(split)``
    lists them."""

    def __post_init__(self) -> None:
        size = check_int("size", self.size, MIN_SIZE, MAX_SIZE)
        if size % 2 == 0:
            raise out_of_range("size", size, f"an odd integer in [{MIN_SIZE}, {MAX_SIZE}]")
        check_choice("layout", self.layout, LAYOUTS)
        rooms = check_int("rooms", self.rooms, 1, (size - 1) // 3)
        if self.layout == "rooms" and (size - 1) % rooms:
            raise out_of_range("rooms", rooms, f"a divisor of size - 1 = {size - 1} with rooms >= 2 cells wide")
        check_int("num_distractors", self.num_distractors, 0, 12)
        check_choice("tasks", self.tasks, TASK_KINDS)
        check_int("sequence_length", self.sequence_length, 2, MAX_SEQUENCE)
        h, w = image_hw(self.image_size, lo=16, hi=1024)
        object.__setattr__(self, "fov", check_float("fov", self.fov, 30.0, 120.0))
        check_choice("view", self.view, VIEWS)
        if self.render_view is not None:
            check_choice("render_view", self.render_view, VIEWS)
        needs_map = {self.view, self.render_view or self.view} & {"top_down", "both"}
        if needs_map and min(h, w) < size:
            raise out_of_range("image_size", self.image_size, f"at least size={size} pixels for a top-down map")
        if not isinstance(self.textures, bool):
            raise out_of_range("textures", self.textures, "True or False")
        check_choice("wrong_done", self.wrong_done, WRONG_DONE)
        object.__setattr__(self, "step_penalty", check_float("step_penalty", self.step_penalty, 0.0, 1.0))
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps, 1, 1_000_000)
        check_split(self.split)
        if self.split == "train":
            from vlenvs.envs.gridworld3d.tasks import pair_mask  # local: tasks imports this module

            pairs = int(pair_mask("train").sum())
            if self.num_objects > pairs:
                raise out_of_range("num_distractors", self.num_distractors,
                                   f"at most {pairs - self.max_targets} with split='train' ({pairs} train pairs)")
        if self.num_objects + 1 > self.num_spots:
            raise out_of_range(
                "num_distractors", self.num_distractors,
                f"at most {self.num_spots - 1 - self.max_targets} for size={size} (room for every object "
                "and the agent)",
            )

    @property
    def image_hw(self) -> tuple[int, int]:
        """``(height, width)`` of the first-person (and top-down) image."""
        return image_hw(self.image_size)

    @property
    def max_targets(self) -> int:
        """Most targets one task can have."""
        return self.sequence_length if self.tasks in ("sequence", "mixed") else 1

    @property
    def num_objects(self) -> int:
        """Objects in every level: target slots plus distractors (unused target slots are distractors)."""
        return self.max_targets + self.num_distractors

    @property
    def pitch(self) -> int:
        """Distance between parallel walls: room pitch for rooms, 2 for mazes."""
        return (self.size - 1) // self.rooms if self.layout == "rooms" else 2

    @property
    def num_spots(self) -> int:
        """Cells where objects and the agent may start (room interiors / maze cells)."""
        per = self.pitch - 1
        return (per * (self.size - 1) // self.pitch) ** 2

    @property
    def episode_limit(self) -> int:
        """Steps before truncation."""
        return self.max_steps if self.max_steps is not None else 2 * (self.size - 1) ** 2 * self.max_targets


#: Named presets; keyword arguments override their fields.
PRESETS: dict[str, dict[str, object]] = {
    "easy": {"size": 7, "rooms": 1, "num_distractors": 1, "tasks": "go_to"},
    "medium": {"size": 9, "rooms": 2, "num_distractors": 2, "tasks": "mixed", "sequence_length": 2},
    "hard": {"size": 13, "rooms": 3, "num_distractors": 4, "tasks": "mixed", "sequence_length": 3},
    "maze": {"size": 11, "layout": "maze", "num_distractors": 2, "tasks": "find"},
}
