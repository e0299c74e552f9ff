"""Maze2D instructions: the text comes from the colours and shapes actually drawn, and the same
object owns the success check (BabyAI's ``Instr`` idea, batched)."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class ReachGoalTasks:
    """A batch of 'move the <agent> to the <goal>' tasks: their words, their drawing and their check."""

    num_envs: int
    require_stop: bool
    agent_color: np.ndarray = field(init=False)
    goal_color: np.ndarray = field(init=False)
    agent_shape: np.ndarray = field(init=False)
    goal_shape: np.ndarray = field(init=False)
    texts: list[str] = field(init=False)

    def __post_init__(self) -> None:
        z = np.zeros(self.num_envs, dtype=np.int64)
        self.agent_color, self.goal_color, self.agent_shape, self.goal_shape = z.copy(), z.copy(), z.copy(), z.copy()
        self.texts = [""] * self.num_envs

    def sample(self, idx: np.ndarray, u: np.ndarray) -> None:
        """Draw new tasks for envs ``idx`` from uniforms ``u[len(idx), DRAWS]``."""
        k = len(COLOR_NAMES)
        self.agent_color[idx] = ac = _pick(u[:, 0], k)
        gc = _pick(u[:, 1], k - 1)
        self.goal_color[idx] = gc = gc + (gc >= ac)  # never the agent's colour
        self.agent_shape[idx] = ash = _pick(u[:, 2], len(SHAPES))
        self.goal_shape[idx] = gsh = _pick(u[:, 3], len(SHAPES))
        tpl, suf = _pick(u[:, 4], len(REACH_TEMPLATES)), _pick(u[:, 5], len(STOP_SUFFIXES))
        for row, i in enumerate(idx):
            agent = f"{COLOR_NAMES[ac[row]]} {SHAPES[ash[row]]}"
            goal = f"{COLOR_NAMES[gc[row]]} {SHAPES[gsh[row]]}"
            text = REACH_TEMPLATES[tpl[row]].format(agent=agent, goal=goal)
            if self.require_stop:
                text += STOP_SUFFIXES[suf[row]].format(goal=goal)
            self.texts[i] = text

    def describe(self, i: int) -> tuple[str, str]:
        """``(agent, goal)`` descriptions of env ``i``, e.g. ``("blue circle", "red square")``."""
        return (
            f"{COLOR_NAMES[self.agent_color[i]]} {SHAPES[self.agent_shape[i]]}",
            f"{COLOR_NAMES[self.goal_color[i]]} {SHAPES[self.goal_shape[i]]}",
        )

    def success(self, agent: np.ndarray, goal: np.ndarray, stopped: np.ndarray) -> np.ndarray:
        """Which envs completed their task this step: on the goal (and, if required, said stop)."""
        on_goal = np.all(agent == goal, axis=1)
        return on_goal & stopped if self.require_stop else on_goal
