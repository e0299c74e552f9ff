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

Splits (``GridWorld3DConfig.split``, see :mod:`vlenvs.core.split`): 6 of the 18 colour x shape pairs are
held out (one shape per colour, each shape twice), and one phrasing of each of GO, FIND, THEN, HINT and
HINT_SEQ. ``"train"`` never shows a held-out pair, not even as a distractor, and says only train phrasings.
``"test"`` names only held-out pairs as targets, in held-out phrasings; its distractors are drawn from every
other pair (so the agent has to tell the novel combination from familiar ones). :func:`split_sets` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from vlenvs.core.split import allowed, allowed_ids, held_out_pairs, pair_names, pick
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
#: The phrase lists a split divides, by name.
PHRASES = {"go": GO, "find": FIND, "then": THEN, "hint": HINT, "hint_seq": HINT_SEQ}
#: Uniforms one task draws: kind, main template, hint, one per "then" link.
DRAWS = 3 + MAX_SEQUENCE - 1


def describe(color: int, shape: int) -> str:
    """``"red ball"`` for colour 0, shape 0."""
    return f"{OBJ_COLORS[color]} {OBJ_SHAPES[shape]}"


#: Description of every (colour, shape) pair, indexed by ``colour * len(OBJ_SHAPES) + shape``.
NAMES = tuple(describe(c, s) for c in range(len(OBJ_COLORS)) for s in range(len(OBJ_SHAPES)))


@lru_cache(maxsize=3)
def pair_mask(split: str) -> np.ndarray:
    """``bool[colours, shapes]``: the object pairs ``split`` may show (targets and, except in ``"test"``,
    distractors)."""
    mask = allowed(held_out_pairs(OBJ_COLORS, OBJ_SHAPES), split)
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=3)
def phrase_ids(split: str) -> dict[str, np.ndarray]:
    """Phrase list name -> the ids of its phrases that ``split`` may say (ascending)."""
    return {name: allowed_ids(words, split) for name, words in PHRASES.items()}


def split_sets(split: str) -> dict[str, tuple[str, ...]]:
    """What ``split`` names and says: ``pairs`` (target pairs, ``"red ball"``, ...) and the phrases of each
    list in :data:`PHRASES` (wall colours: ``generate.wall_colors``).

    ``python -c "from vlenvs.envs.gridworld3d.tasks import split_sets; print(split_sets('test'))"`` prints the
    held-out ones.
    """
    ids = phrase_ids(split)
    return {"pairs": pair_names(pair_mask(split), OBJ_COLORS, OBJ_SHAPES),
            **{name: tuple(PHRASES[name][i] for i in ids[name]) for name in PHRASES}}


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
        self._targets = pair_mask(self.config.split).reshape(-1)
        self._phrases = phrase_ids(self.config.split)

    def sample_objects(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (colour, shape) pairs ``[n, num_objects]`` per env from uniforms ``u[n, pairs]`` (``u[n,
        2 * pairs]`` in ``"test"``: targets, then distractors among every other pair); the first
        ``max_targets`` (the target slots) are pairs of the split. Pairs are indexed ``colour *
        len(OBJ_SHAPES) + shape``; the pairs with the smallest uniforms are chosen."""
        m, pairs = self.config.num_objects, len(self._targets)
        key = u[:, :pairs]
        if self.config.split == "all":
            combo = np.argsort(key, axis=1, kind="stable")[:, :m]  # exactly the draw from before splits
        elif self.config.split == "train":
            combo = np.argsort(np.where(self._targets, key, 2.0), axis=1, kind="stable")[:, :m]
        else:
            t = self.config.max_targets
            targets = np.argsort(np.where(self._targets, key, 2.0), axis=1, kind="stable")[:, :t]
            rest = u[:, pairs:].copy()
            np.put_along_axis(rest, targets, 2.0, axis=1)
            combo = np.concatenate([targets, np.argsort(rest, axis=1, kind="stable")[:, : m - t]], axis=1)
        return combo // len(OBJ_SHAPES), combo % len(OBJ_SHAPES)

    def draw(self, u: np.ndarray, color: np.ndarray, shape: np.ndarray) -> dict[str, np.ndarray]:
        """New tasks from uniforms ``u[n, DRAWS]`` for levels with objects ``color/shape[n, M]``.

        Targets are objects ``0 .. stages - 1``. Returns ``kind``, ``stages`` and ``text`` (object array).
        """
        kinds = np.array([KINDS.index(k) for k in self._kinds])
        kind = kinds[pick(u[:, 0], len(kinds))]
        stages = np.where(kind == KINDS.index("sequence"), self.config.sequence_length, 1)
        texts = np.empty(len(u), dtype=object)
        ids = self._phrases
        hint_ids = np.where(stages > 1, ids["hint_seq"][pick(u[:, 2], len(ids["hint_seq"]))],
                            ids["hint"][pick(u[:, 2], len(ids["hint"]))])
        words = zip(kind.tolist(), stages.tolist(), (color * len(OBJ_SHAPES) + shape).tolist(),
                    ids["go"][pick(u[:, 1], len(ids["go"]))].tolist(),
                    ids["find"][pick(u[:, 1], len(ids["find"]))].tolist(),
                    hint_ids.tolist(), ids["then"][pick(u[:, 3:], len(ids["then"]))].tolist())
        for row, (k, n_targets, objs, go, find, hint, then) in enumerate(words):
            if KINDS[k] == "find":
                text = FIND[find].format(o=NAMES[objs[0]]) + "."
            else:
                text = f"{GO[go]} the {NAMES[objs[0]]}"
                text += "".join(THEN[then[j]].format(o=NAMES[objs[j + 1]]) for j in range(n_targets - 1)) + "."
            texts[row] = text + (HINT_SEQ if n_targets > 1 else HINT)[hint]
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
