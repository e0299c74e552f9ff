"""GridWorld3D instructions from a small grammar; the task object owns both the text and the check.

Grammar (one sentence per episode)::

    task     := go_to | find | sequence
    go_to    := GO "the" OBJ HINT                      e.g. "Go to the red ball. Say done when you are there."
    find     := FIND(OBJ) HINT                         e.g. "Find the blue box. Say done when you are there."
    sequence := GO "the" OBJ (THEN "the" OBJ)+ HINT_SEQ e.g. "Go to the green key, then to the yellow ball. ..."
    OBJ      := COLOR SHAPE                            every object in a level is a distinct (colour, shape)

Success: the current target is *reached* when it is on the agent's cell or on the cell in front of it;
saying ``done`` there completes that target (the last one ends the episode with success); ``done``
anywhere else ends the episode as a failure (or, with ``wrong_done="ignore"``, does nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vlenvs.envs.gridworld3d.config import MAX_SEQUENCE, GridWorld3DConfig
from vlenvs.envs.gridworld3d.state import HEADING_STEP, GridWorld3DState
from vlenvs.envs.maze2d.tasks import COLORS

OBJ_COLORS = ("red", "green", "blue", "yellow", "purple", "orange")
OBJ_RGB = np.array([COLORS[c] for c in OBJ_COLORS], dtype=np.uint8)
OBJ_SHAPES = ("ball", "box", "key")
KINDS = ("go_to", "find", "sequence")

GO = ("Go to", "Walk to", "Move to", "Head to", "Get to")
FIND = ("Find the {o}", "Look for the {o}", "Search for the {o}", "Find the {o} and go to it")
THEN = (", then to the {o}", ", then go to the {o}", ", and after that to the {o}")
HINT = (" Say done when you are there.", " Say done when it is in front of you.")
HINT_SEQ = (" Say done at each one.", " Say done when you reach each of them.")
#: Uniforms one task draws: kind, main template, hint, one per "then" link.
DRAWS = 3 + MAX_SEQUENCE - 1


def _pick(u: np.ndarray, k: int) -> np.ndarray:
    return np.minimum((u * k).astype(np.int64), k - 1)


def describe(color: int, shape: int) -> str:
    """``"red ball"`` for colour 0, shape 0."""
    return f"{OBJ_COLORS[color]} {OBJ_SHAPES[shape]}"


#: Description of every (colour, shape) pair, indexed by ``colour * len(OBJ_SHAPES) + shape``.
NAMES = tuple(describe(c, s) for c in range(len(OBJ_COLORS)) for s in range(len(OBJ_SHAPES)))


def max_instruction_length() -> int:
    """Longest instruction any task can emit (sizes the Text observation space)."""
    obj = max(len(describe(c, s)) for c in range(len(OBJ_COLORS)) for s in range(len(OBJ_SHAPES)))
    head = max(max(len(g) + 5 for g in GO), max(len(f) - 3 for f in FIND)) + obj
    links = (DRAWS - 3) * (max(len(t) - 3 for t in THEN) + obj)
    return head + links + max(len(h) for h in HINT + HINT_SEQ) + 1


@dataclass
class NavigationTasks:
    """A batch of navigation tasks: which objects are targets, in what order, in which words."""

    config: GridWorld3DConfig
    num_envs: int
    kind: np.ndarray = field(init=False)  # int64[N] index into KINDS
    stages: np.ndarray = field(init=False)  # int64[N] number of targets (objects 0..stages-1)
    texts: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.kind = np.zeros(self.num_envs, dtype=np.int64)
        self.stages = np.ones(self.num_envs, dtype=np.int64)
        self.texts = [""] * self.num_envs
        self._kinds = KINDS if self.config.tasks == "mixed" else (self.config.tasks,)

    @staticmethod
    def sample_objects(u: np.ndarray, num_objects: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (colour, shape) pairs per env from uniforms ``u[n, colours * shapes]``."""
        combo = np.argsort(u, axis=1, kind="stable")[:, :num_objects]
        return combo // len(OBJ_SHAPES), combo % len(OBJ_SHAPES)

    def draw(self, u: np.ndarray, color: np.ndarray, shape: np.ndarray) -> dict[str, np.ndarray]:
        """New tasks from uniforms ``u[n, DRAWS]`` for levels with objects ``color/shape[n, M]``.

        Targets are objects ``0 .. stages - 1``. Returns ``kind``, ``stages`` and ``text`` (object array).
        """
        kinds = np.array([KINDS.index(k) for k in self._kinds])
        kind = kinds[_pick(u[:, 0], len(kinds))]
        stages = np.where(kind == KINDS.index("sequence"), self.config.sequence_length, 1)
        texts = np.empty(len(u), dtype=object)
        words = zip(kind.tolist(), stages.tolist(), (color * len(OBJ_SHAPES) + shape).tolist(),
                    _pick(u[:, 1], len(GO)).tolist(), _pick(u[:, 1], len(FIND)).tolist(),
                    u[:, 2].tolist(), _pick(u[:, 3:], len(THEN)).tolist())
        for row, (k, n_targets, objs, go, find, hint, then) in enumerate(words):
            if KINDS[k] == "find":
                text = FIND[find].format(o=NAMES[objs[0]]) + "."
            else:
                text = f"{GO[go]} the {NAMES[objs[0]]}"
                text += "".join(THEN[then[j]].format(o=NAMES[objs[j + 1]]) for j in range(n_targets - 1)) + "."
            hints = HINT_SEQ if n_targets > 1 else HINT
            texts[row] = text + hints[min(int(hint * len(hints)), len(hints) - 1)]
        return {"kind": kind, "stages": stages, "text": texts}

    def assign(self, idx: np.ndarray, kind: np.ndarray, stages: np.ndarray, text: np.ndarray) -> None:
        """Make drawn tasks the current ones of envs ``idx``."""
        self.kind[idx], self.stages[idx] = kind, stages
        for i, t in zip(idx.tolist(), text):
            self.texts[i] = t

    # ------------------------------------------------------------- the check
    @staticmethod
    def reached(state: GridWorld3DState) -> np.ndarray:
        """Whether each env's current target is on the agent's cell or on the cell in front of it."""
        rows = np.arange(len(state.stage))
        target = state.obj_pos[rows, state.stage]
        front = state.agent + HEADING_STEP[state.heading]
        return np.all(target == state.agent, axis=1) | np.all(target == front, axis=1)

    def judge_done(self, state: GridWorld3DState, said_done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply ``done`` where the agent said it: advance the stage, or end the episode.

        Returns ``(success, failure)``: success where the last target was completed, failure where
        ``done`` was said with the current target not reached (unless ``config.wrong_done == "ignore"``).
        """
        ok = said_done & self.reached(state)
        success = ok & (state.stage == self.stages - 1)
        state.stage += ok & ~success
        failure = said_done & ~ok if self.config.wrong_done == "fail" else np.zeros_like(ok)
        return success, failure
