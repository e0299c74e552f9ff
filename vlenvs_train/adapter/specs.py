"""Per-env entries of the adapter: what the system prompt says about the task, and the words each action
may be called. One :class:`EnvSpec` per env id; an unknown env gets a generic spec from its action names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gymnasium import spaces


@dataclass(frozen=True)
class EnvSpec:
    """What the adapter knows about one env: its task text, action vocabulary and feedback."""

    name: str
    """Short env name used in prompts."""

    task: str
    """What the agent has to do, in a few sentences (the system prompt's first paragraph)."""

    action_kind: Literal["discrete", "text"] = "discrete"
    """``"discrete"``: the reply names one of the env's ``action_names``; ``"text"``: the reply's answer is
    the action."""

    action_help: Mapping[str, str] = field(default_factory=dict)
    """Action name -> what it does (shown in the system prompt; actions the env lacks are left out)."""

    synonyms: Mapping[str, str] = field(default_factory=dict)
    """Other words for an action: phrase -> action name (case, ``_``/``-``/spaces are ignored)."""

    fallback: str | None = None
    """Default action name (or answer text) sent to the env when a reply is invalid; ``None``: the first action."""

    answer_hint: str = ""
    """How to write the answer (e.g. 'a number with its unit'), for text envs."""

    feedback: Mapping[str, str] = field(default_factory=dict)
    """Info key -> sentence told to the agent next turn when that (boolean) info flag is set."""

    def legal_actions(self, action_names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(action_names) if self.action_kind == "discrete" else ()


#: Direction words shared by the grid envs.
_DIRS = {"north": "up", "south": "down", "west": "left", "east": "right", "upward": "up", "upwards": "up",
         "downward": "down", "downwards": "down", "↑": "up", "↓": "down", "←": "left", "→": "right"}

ENV_SPECS: dict[str, EnvSpec] = {
    "vlenvs/Maze2D-v0": EnvSpec(
        name="Maze2D",
        task=(
            "You see a maze from above: dark squares are walls, light squares are floor. Move your shape "
            "(the one the instruction names) one square per step until it reaches the goal shape."
        ),
        action_help={"up": "move one square up", "down": "move one square down", "left": "move one square left",
                     "right": "move one square right", "stop": "say you are on the goal (ends the episode)"},
        synonyms={**_DIRS, **{f"move {d}": d for d in ("up", "down", "left", "right")},
                  **{f"go {d}": d for d in ("up", "down", "left", "right")},
                  "done": "stop", "finish": "stop", "halt": "stop"},
        fallback=None,
        feedback={"bumped": "You bumped into a wall and did not move."},
    ),
    "vlenvs/GridWorld3D-v0": EnvSpec(
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
    ),
    "vlenvs/Geometry3k-v0": EnvSpec(
        name="Geometry3k",
        task="Solve the geometry problem shown in the diagram and the instruction.",
        action_kind="text",
        answer_hint="the final answer only: a number or expression (with its unit if it has one)",
        fallback="",
    ),
}


def generic_spec(action_names: tuple[str, ...], action_space: Any = None) -> EnvSpec:
    """A spec for an env the adapter has no entry for: the task is in the instruction."""
    text = isinstance(action_space, spaces.Text)
    return EnvSpec(
        name="environment",
        task="Follow the instruction.",
        action_kind="text" if text else "discrete",
        action_help={a: a.replace("_", " ") for a in action_names},
        fallback="" if text else None,
    )


def env_id_of(env: Any) -> str | None:
    """The Gymnasium id an env was made with, if any."""
    spec = getattr(env, "spec", None) or getattr(getattr(env, "unwrapped", None), "spec", None)
    return getattr(spec, "id", None)


def spec_for_env(env: Any) -> EnvSpec:
    """The adapter's spec for a vlenvs env (single or vector), or a generic one."""
    env_id = env_id_of(env)
    if env_id in ENV_SPECS:
        return ENV_SPECS[env_id]
    action_space = getattr(env, "single_action_space", getattr(env, "action_space", None))
    return generic_spec(tuple(getattr(env, "action_names", ())), action_space)
