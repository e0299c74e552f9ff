"""Maze2D instructions: the text comes from the colours and shapes actually drawn, and the same
object owns the success check (BabyAI's ``Instr`` idea, batched).

Splits (``Maze2DConfig.split``, see :mod:`vlenvs.core.split`): the agent and the goal markers are colour x
shape pairs; ``"test"`` draws both from the held-out pairs (one shape per colour, 8 of the 32), ``"train"``
from the other 24. Reach templates (2 of 8 held out) and stop suffixes (1 of 3) are split the same way.
Colours are drawn exactly as under ``"all"``; only the shape (given the colour) and the wording change.
:func:`split_sets` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from vlenvs.core.split import allowed, allowed_ids, held_out_pairs, pair_names, pick

#: Colour names and their RGB values, as drawn. None is close to the wall or floor colours.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (30, 160, 60),
    "blue": (40, 90, 230),
    "yellow": (240, 200, 20),
    "purple": (140, 60, 200),
    "orange": (250, 130, 20),
    "pink": (240, 110, 190),
    "cyan": (20, 190, 210),
}
COLOR_NAMES = tuple(COLORS)
COLOR_RGB = np.array(list(COLORS.values()), dtype=np.uint8)
SHAPES = ("circle", "square", "triangle", "diamond")
#: Number of distinct (colour, shape) looks; a look id is ``colour * len(SHAPES) + shape``.
LOOKS = len(COLOR_NAMES) * len(SHAPES)

REACH_TEMPLATES = (
    "Move the {agent} to the {goal}.",
    "Guide the {agent} through the maze to the {goal}.",
    "Navigate the {agent} until it reaches the {goal}.",
    "Get the {agent} onto the {goal}.",
    "Find a path that takes the {agent} to the {goal}.",
    "The {agent} has to reach the {goal}; move it there.",
    "Lead the {agent} to the {goal} without crossing any wall.",
    "Walk the {agent} through the corridors to the {goal}.",
)
STOP_SUFFIXES = (
    " Say stop once it is on the {goal}.",
    " When it stands on the {goal}, choose stop.",
    " Finish with stop on the {goal}.",
)
#: Uniforms one task draws: agent colour, goal colour, agent shape, goal shape, template, suffix.
DRAWS = 6


def max_instruction_length() -> int:
    """Longest instruction any Maze2D task can emit (sizes the Text observation space)."""
    desc = max(len(f"{c} {s}") for c in COLOR_NAMES for s in SHAPES)
    return max(len(t) for t in REACH_TEMPLATES) + max(len(s) for s in STOP_SUFFIXES) + 3 * desc


@dataclass(frozen=True)
class TaskVocab:
    """What one split may draw: the shapes of each colour (its colour x shape pairs), templates, suffixes."""

    split: str
    shapes: np.ndarray  # int64[colours, shapes]: allowed shape ids of each colour first, the rest padding
    shape_count: np.ndarray  # int64[colours]: how many shapes each colour allows (>= 1)
    templates: np.ndarray  # int64 ids into REACH_TEMPLATES
    suffixes: np.ndarray  # int64 ids into STOP_SUFFIXES

    def sample_ids(self, u: np.ndarray) -> np.ndarray:
        """Task ids ``int64[n, 6]`` (agent colour, goal colour, agent shape, goal shape, template, suffix)
        from uniforms ``u[n, DRAWS]``. The goal never has the agent's colour. Under ``"all"`` every table is
        the identity, so this draws exactly what Maze2D drew before splits existed."""
        k = len(COLOR_NAMES)
        ac = pick(u[:, 0], k)
        gc = pick(u[:, 1], k - 1)
        gc = gc + (gc >= ac)
        ash = self.shapes[ac, pick(u[:, 2], self.shape_count[ac])]
        gsh = self.shapes[gc, pick(u[:, 3], self.shape_count[gc])]
        tpl = self.templates[pick(u[:, 4], len(self.templates))]
        suf = self.suffixes[pick(u[:, 5], len(self.suffixes))]
        return np.stack([ac, gc, ash, gsh, tpl, suf], axis=1)


@lru_cache(maxsize=3)
def task_vocab(split: str = "all") -> TaskVocab:
    """The :class:`TaskVocab` of ``split`` (``"all"``, ``"train"`` or ``"test"``)."""
    pairs = allowed(held_out_pairs(COLOR_NAMES, SHAPES), split)
    order = np.argsort(~pairs, axis=1, kind="stable")  # allowed shapes first, in shape order
    tables = (order.astype(np.int64), pairs.sum(axis=1).astype(np.int64),
              allowed_ids(REACH_TEMPLATES, split), allowed_ids(STOP_SUFFIXES, split))
    for t in tables:
        t.setflags(write=False)
    return TaskVocab(split, *tables)


def split_sets(split: str) -> dict[str, tuple[str, ...]]:
    """What ``split`` draws from: ``pairs`` (``"red circle"``, ...), ``templates`` and ``suffixes``.

    ``python -c "from vlenvs.envs.maze2d.tasks import split_sets; print(split_sets('test'))"`` prints the
    held-out ones.
    """
    v = task_vocab(split)
    pairs = allowed(held_out_pairs(COLOR_NAMES, SHAPES), split)
    return {"pairs": pair_names(pairs, COLOR_NAMES, SHAPES),
            "templates": tuple(REACH_TEMPLATES[i] for i in v.templates),
            "suffixes": tuple(STOP_SUFFIXES[i] for i in v.suffixes)}


@lru_cache(maxsize=2)
def instruction_table(require_stop: bool) -> np.ndarray:
    """Every instruction text, as an object array indexed by a task id tuple (see :func:`sample_task_ids`)."""
    k, s = len(COLOR_NAMES), len(SHAPES)
    table = np.empty((k, k, s, s, len(REACH_TEMPLATES), len(STOP_SUFFIXES)), dtype=object)
    for ac, gc, ash, gsh, tpl, suf in np.ndindex(table.shape):
        agent, goal = f"{COLOR_NAMES[ac]} {SHAPES[ash]}", f"{COLOR_NAMES[gc]} {SHAPES[gsh]}"
        text = REACH_TEMPLATES[tpl].format(agent=agent, goal=goal)
        table[ac, gc, ash, gsh, tpl, suf] = text + STOP_SUFFIXES[suf].format(goal=goal) if require_stop else text
    table.setflags(write=False)
    return table


@dataclass
class ReachGoalTasks:
    """A batch of 'move the <agent> to the <goal>' tasks: their words, their looks and their check."""

    num_envs: int
    require_stop: bool
    ids: np.ndarray = field(init=False)  # int64[N, 6], see sample_task_ids
    agent_look: np.ndarray = field(init=False)  # int64[N] look id (colour, shape) of each agent
    goal_look: np.ndarray = field(init=False)  # int64[N] look id of each goal
    texts: np.ndarray = field(init=False)  # object[N] instruction of each env

    def __post_init__(self) -> None:
        self.ids = np.zeros((self.num_envs, DRAWS), dtype=np.int64)
        self.ids[:, 1] = 1
        self.agent_look = np.zeros(self.num_envs, dtype=np.int64)
        self.goal_look = np.full(self.num_envs, len(SHAPES), dtype=np.int64)
        self.texts = np.full(self.num_envs, "", dtype=object)

    def assign(self, idx: np.ndarray, ids: np.ndarray) -> None:
        """Give envs ``idx`` the tasks ``ids[len(idx), 6]`` and write their instructions."""
        self.ids[idx] = ids
        self.agent_look[idx] = ids[:, 0] * len(SHAPES) + ids[:, 2]
        self.goal_look[idx] = ids[:, 1] * len(SHAPES) + ids[:, 3]
        self.texts[idx] = instruction_table(self.require_stop)[tuple(ids.T)]

    def describe(self, i: int) -> tuple[str, str]:
        """``(agent, goal)`` descriptions of env ``i``, e.g. ``("blue circle", "red square")``."""
        ac, gc, ash, gsh = self.ids[i, :4]
        return f"{COLOR_NAMES[ac]} {SHAPES[ash]}", f"{COLOR_NAMES[gc]} {SHAPES[gsh]}"

    def success(self, agent: np.ndarray, goal: np.ndarray, stopped: np.ndarray) -> np.ndarray:
        """Which envs completed their task this step: on the goal (and, if required, said stop)."""
        on_goal = agent == goal
        return on_goal & stopped if self.require_stop else on_goal
