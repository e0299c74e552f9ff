"""Maze2D instructions: the text comes from the colours and shapes actually drawn, and the same
object owns the success check (BabyAI's ``Instr`` idea, batched)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

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


def _pick(u: np.ndarray, k: int) -> np.ndarray:
    return np.minimum((u * k).astype(np.int64), k - 1)


def sample_task_ids(u: np.ndarray) -> np.ndarray:
    """Task ids ``int64[n, 6]`` (agent colour, goal colour, agent shape, goal shape, template, suffix)
    from uniforms ``u[n, DRAWS]``. The goal never has the agent's colour."""
    k = len(COLOR_NAMES)
    ac = _pick(u[:, 0], k)
    gc = _pick(u[:, 1], k - 1)
    gc = gc + (gc >= ac)
    return np.stack(
        [ac, gc, _pick(u[:, 2], len(SHAPES)), _pick(u[:, 3], len(SHAPES)),
         _pick(u[:, 4], len(REACH_TEMPLATES)), _pick(u[:, 5], len(STOP_SUFFIXES))], axis=1)


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
