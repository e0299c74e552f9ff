"""Maze2D in words, for agents: task, actions, synonyms, feedback, and the instructions as the env words them
(see :mod:`vlenvs.core.language`)."""

from __future__ import annotations

from vlenvs.core.language import LanguageSpec
from vlenvs.envs.maze2d.tasks import COLOR_NAMES, REACH_TEMPLATES, SHAPES, STOP_SUFFIXES

#: Direction words of a top-down grid.
DIRECTION_SYNONYMS = {"north": "up", "south": "down", "west": "left", "east": "right", "upward": "up",
                      "upwards": "up", "downward": "down", "downwards": "down", "↑": "up", "↓": "down",
                      "←": "left", "→": "right"}


def instruction_examples() -> tuple[str, ...]:
    """One instruction per reach template, with varied colours, shapes and stop suffixes."""
    texts = []
    for i, t in enumerate(REACH_TEMPLATES):
        agent = f"{COLOR_NAMES[i % len(COLOR_NAMES)]} {SHAPES[i % len(SHAPES)]}"
        goal = f"{COLOR_NAMES[(i + 3) % len(COLOR_NAMES)]} {SHAPES[(i + 1) % len(SHAPES)]}"
        texts.append(t.format(agent=agent, goal=goal) + STOP_SUFFIXES[i % len(STOP_SUFFIXES)].format(goal=goal))
    return tuple(texts)


LANGUAGE = LanguageSpec(
    name="Maze2D",
    task=(
        "You see a maze from above: dark squares are walls, light squares are floor. Move your shape "
        "(the one the instruction names) one square per step until it reaches the goal shape."
    ),
    action_help={"up": "move one square up", "down": "move one square down", "left": "move one square left",
                 "right": "move one square right", "stop": "say you are on the goal (ends the episode)"},
    synonyms={**DIRECTION_SYNONYMS, **{f"move {d}": d for d in ("up", "down", "left", "right")},
              **{f"go {d}": d for d in ("up", "down", "left", "right")},
              "done": "stop", "finish": "stop", "halt": "stop"},
    fallback=None,
    feedback={"bumped": "You bumped into a wall and did not move."},
    phrases=instruction_examples(),
)
