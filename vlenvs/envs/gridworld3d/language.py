"""GridWorld3D in words, for agents: task, actions, synonyms and feedback (see :mod:`vlenvs.core.language`)."""

from __future__ import annotations

from vlenvs.core.language import LanguageSpec

LANGUAGE = LanguageSpec(
    name="GridWorld3D",
    task=(
        "You see a 3D room in first person. Turn and walk to complete the instruction; say done when "
        "you have completed it."
    ),
    action_help={"turn_left": "turn 90 degrees to the left", "turn_right": "turn 90 degrees to the right",
                 "forward": "walk one square forward", "done": "say the task is complete (ends the episode)"},
    synonyms={"left": "turn_left", "rotate left": "turn_left", "turn left": "turn_left",
              "right": "turn_right", "rotate right": "turn_right", "turn right": "turn_right",
              "move forward": "forward", "go forward": "forward", "ahead": "forward", "straight": "forward",
              "walk": "forward", "move": "forward", "up": "forward", "↑": "forward",
              "stop": "done", "finish": "done", "finished": "done"},
    fallback=None,
    feedback={"bumped": "You walked into a wall and did not move."},
)
