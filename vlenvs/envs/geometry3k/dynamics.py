"""Geometry3k dynamics, written once and batched; the single and vector envs both drive this core.

An episode is one problem: the observation is its diagram and instruction, an action is the model's
text answer, graded by :mod:`~vlenvs.envs.geometry3k.grader`. A correct answer ends the episode with
reward 1; a wrong one ends it when no attempts are left, else the next instruction carries feedback.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from PIL import Image

from vlenvs.core.batched import BatchedCore
from vlenvs.core.errors import DatasetError, InvalidActionError, InvalidConfigError, out_of_range
from vlenvs.core.spaces import INSTRUCTION_CHARSET, observation_space
from vlenvs.envs.geometry3k.config import PRESETS, SPLITS, Geometry3kConfig
from vlenvs.envs.geometry3k.diagram import letterbox, render_figure
from vlenvs.envs.geometry3k.generate import generate
from vlenvs.envs.geometry3k.grader import warm_up
from vlenvs.envs.geometry3k.tasks import GeometryTasks, Item, item_from_generated, item_from_record

_INFO_STR = (
    "oracle_answer",
    "parsed_answer",
    "ground_truth",
    "ground_truth_letter",
    "problem_id",
    "family",
    "grade_method",
    "feedback",
    "solution",
)


class Geometry3kCore(BatchedCore):
    """``num_envs`` geometry problems with diagrams, answered in free text."""

    config_cls = Geometry3kConfig
    presets = PRESETS

    def __init__(self, config: Geometry3kConfig, num_envs: int) -> None:
        super().__init__(config, num_envs)
        warm_up()  # the grader's prime table (~1 ms, once per process)
        h, w = config.image_hw
        self.frames = np.full((self.num_envs, h, w, 3), 255, dtype=np.uint8)
        self.tasks = GeometryTasks(self.num_envs, config.mode, config.max_attempts, config.max_instruction_length)
        self.records: tuple = ()
        if config.source == "geometry3k":
            from vlenvs.envs.geometry3k.data import load_split

            need = config.mode == "multiple_choice"
            self.records = load_split(config.data_dir, config.split, need_choices=need, text=config.problem_text)
        self._split_key = SPLITS.index(config.split)
        #: Problems in the split (``None`` for the unbounded generator).
        self.num_problems: int | None = len(self.records) if self.records else None
        self._episodes = np.zeros(self.num_envs, dtype=np.int64)  # sequential order: resets so far per env
        self._pending: list[int | None] = [None] * self.num_envs  # reset(options={"index": ...})
        self.problem_index = np.full(self.num_envs, -1, dtype=np.int64)
        self.passes = np.zeros(self.num_envs, dtype=np.int64)
        self._obs_space = observation_space(h, w, config.max_instruction_length)
        self._act_space = spaces.Text(max_length=config.max_action_length, min_length=0, charset=INSTRUCTION_CHARSET)
        self.correct = np.zeros(self.num_envs, dtype=bool)
        self.formatted = np.zeros(self.num_envs, dtype=bool)

    @property
    def single_observation_space(self) -> spaces.Dict:
        return self._obs_space

    @property
    def single_action_space(self) -> spaces.Text:
        """The model's answer: any string (the space samples from the instruction charset)."""
        return self._act_space

    def validate_actions(self, actions: Any) -> np.ndarray:
        """Check a batch of ``num_envs`` strings and return it as an object array."""
        if isinstance(actions, str) or not isinstance(actions, (Sequence, np.ndarray)):
            raise InvalidActionError(
                f"invalid actions {type(actions).__name__}; expected a sequence of {self.num_envs} strings "
                "(the model's answers)"
            )
        if isinstance(actions, np.ndarray) and actions.ndim != 1:
            raise InvalidActionError(
                f"invalid actions of shape {actions.shape}; expected {self.num_envs} strings (one answer per env)"
            )
        batch = list(actions)
        if len(batch) != self.num_envs:
            raise InvalidActionError(f"invalid actions: got {len(batch)} answers; expected {self.num_envs} strings")
        for i, a in enumerate(batch):
            if not isinstance(a, str):
                raise InvalidActionError(
                    f"invalid action {a!r} of type {type(a).__name__} for env {i}; expected a string (the answer text)"
                )
        out = np.empty(self.num_envs, dtype=object)
        out[:] = batch
        return out

    # ------------------------------------------------------------------ reset
    def request_index(self, indices: Sequence[Any]) -> None:
        """Make the next reset of env ``i`` start problem ``indices[i]`` (``None`` or -1: the usual draw).

        Raises :class:`InvalidConfigError` for a non-integer or out-of-range index."""
        if len(indices) != self.num_envs:
            raise InvalidConfigError(f"invalid reset option index: got {len(indices)} values; expected {self.num_envs}")
        top = f"0..{self.num_problems - 1}" if self.num_problems else "an integer >= 0"
        pending: list[int | None] = []
        for value in indices:
            if value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value == -1):
                pending.append(None)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise out_of_range("reset option index", value, f"{top} (or None/-1 for the usual draw)")
            if self.num_problems is not None and value >= self.num_problems:
                raise out_of_range("reset option index", value, f"{top} ({self.num_problems} problems in the split)")
            pending.append(int(value))
        self._pending = pending

    def clear_requests(self) -> None:
        """Forget indices requested for envs that were not reset."""
        self._pending = [None] * self.num_envs

    def on_reseed(self, idx: np.ndarray | slice) -> None:
        super().on_reseed(idx)
        self._episodes[idx] = 0  # a seeded reset restarts the sequential walk

    def reset_envs(self, idx: np.ndarray) -> None:
        for i in idx:
            i = int(i)
            index = self._pending[i]
            self._pending[i] = None
            if index is None and self.config.order == "sequential":
                walk = i + int(self._episodes[i]) * self.num_envs
                self._episodes[i] += 1
                index = walk % self.num_problems if self.num_problems else walk
                self.passes[i] = walk // self.num_problems if self.num_problems else 0
            elif index is not None:
                self.passes[i] = 0
            item = self._draw_generated(i, index) if not self.records else self._draw_record(i, index)
            self.tasks.set(i, item)
            self.correct[i] = self.formatted[i] = False

    def _draw_generated(self, i: int, index: int | None) -> Item:
        if index is None:
            seed = int(self.rngs[i].integers(2**63))
            rng, name = np.random.default_rng([seed, self._split_key]), str(seed)
        else:  # problem ``index`` of a fixed stream per split (and difficulty/topics)
            rng, name = np.random.default_rng([index, self._split_key, 1]), f"i{index}"
        self.problem_index[i] = -1 if index is None else index
        g = generate(rng, self.config.difficulty, self.config.topics)
        h, w = self.config.image_hw
        self.frames[i] = render_figure(g.problem.figure, h, w)
        return item_from_generated(g, f"generated-{self.config.split}-{self.config.difficulty}-{name}")

    def _draw_record(self, i: int, index: int | None) -> Item:
        if index is None:
            index = int(self.rngs[i].integers(len(self.records)))
        record = self.records[index]
        self.problem_index[i] = index
        h, w = self.config.image_hw
        try:
            with Image.open(io.BytesIO(record.image_png)) as img:
                self.frames[i] = letterbox(img, h, w)
        except Exception as e:  # noqa: BLE001 - decoded at load; this only guards against the unexpected
            raise DatasetError(f"corrupt or unreadable diagram image in {record.source}: {e}") from None
        return item_from_record(record)

    # ------------------------------------------------------------------- step
    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reward = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        for i in np.flatnonzero(active):
            verdict = self.tasks.check(int(i), actions[i])
            self.correct[i], self.formatted[i] = verdict.correct, verdict.formatted
            reward[i] = float(verdict.correct) + self.config.format_reward * verdict.formatted
            terminated[i] = verdict.correct or self.tasks.attempts[i] >= self.config.max_attempts
        return reward, terminated, np.zeros(self.num_envs, dtype=bool)

    # ---------------------------------------------------------- observations
    def images(self) -> np.ndarray:
        return self.frames

    def instructions(self) -> tuple[str, ...]:
        return tuple(self.tasks.texts)

    def info(self) -> dict[str, np.ndarray]:
        t = self.tasks
        cols: dict[str, list[str]] = {k: [] for k in _INFO_STR}
        for i in range(self.num_envs):
            item, v = t.items[i], t.verdicts[i]
            cols["parsed_answer"].append(v.parsed if v else "")
            cols["grade_method"].append(v.method if v else "")
            cols["ground_truth"].append(item.gold.text if item else "")
            cols["ground_truth_letter"].append((item.gold.letter or "") if item else "")
            answer = (item.gold.letter if self.config.mode == "multiple_choice" else item.gold.text) if item else ""
            cols["oracle_answer"].append(answer or "")
            cols["problem_id"].append(item.id if item else "")
            cols["family"].append(item.family if item else "")
            cols["solution"].append(item.solution if item else "")
            cols["feedback"].append(t.feedback(i))
        out: dict[str, np.ndarray] = {
            "success": self.correct.copy(),
            "formatted": self.formatted.copy(),
            "attempts": t.attempts.copy(),
            "problem_index": self.problem_index.copy(),
            "num_problems": np.full(self.num_envs, self.num_problems or -1, dtype=np.int64),
            "pass": self.passes.copy(),
            # the grader refused the answer (outside its grammar or bounds): wrong, and counted apart
            "ungradable": np.array([v is not None and "rejected:" in v.method for v in t.verdicts], dtype=bool),
        }
        for k, vals in cols.items():
            arr = np.empty(self.num_envs, dtype=object)
            arr[:] = vals
            out[k] = arr
        return out

    def render_text(self, i: int) -> str:
        item = self.tasks.items[i]
        diagram = item.diagram_text if item else ""
        return f"{self.tasks.texts[i]}\n\nDiagram:\n{diagram}"
