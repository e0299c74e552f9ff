"""The Geometry3k Gymnasium envs: single (a batch of one) and native vector, over one core.

Both accept ``reset(options={"index": ...})`` to start a chosen problem of the split (an int for the
single env; one int or None per env for the vector env, entries of envs not reset are ignored), and the
config's ``order="sequential"`` walks a split in order (env ``i`` of ``N``: problems ``i, i+N, ...``).
``num_problems`` (attribute, and ``info["num_problems"]``; ``None``/-1 for generated problems) is the
split's size, ``info["problem_index"]`` the current problem and ``info["pass"]`` the sequential wrap count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlenvs.core.errors import invalid_choice
from vlenvs.core.single import BatchedSingleEnv
from vlenvs.core.vector import NativeVectorEnv
from vlenvs.envs.geometry3k.dynamics import Geometry3kCore


def _split_options(options: dict[str, Any] | None, allowed: tuple[str, ...]) -> tuple[Any, dict[str, Any] | None]:
    """``(index option or None, the other options)``; unknown keys raise a typed error naming the valid ones."""
    rest = dict(options or {})
    for key in rest:
        if key not in allowed:
            raise invalid_choice("reset option", key, allowed)
    return rest.pop("index", None), (rest or None)


class Geometry3kEnv(BatchedSingleEnv):
    """Geometry problems with diagrams, answered in free text (Geometry3K or procedurally generated).

    Observation: ``{"image": uint8[H, W, 3], "instruction": str}``. Action: the model's answer text.
    See :class:`~vlenvs.envs.geometry3k.config.Geometry3kConfig` for every keyword argument.
    """

    core_cls = Geometry3kCore

    @property
    def num_problems(self) -> int | None:
        """Problems in the dataset split (``None`` for the unbounded generator)."""
        return self.core.num_problems

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start a new episode; ``options={"index": i}`` starts problem ``i`` of the split."""
        index, rest = _split_options(options, ("index",))
        if index is not None:
            self.core.request_index([index])
        try:
            return super().reset(seed=seed, options=rest)
        finally:
            self.core.clear_requests()


class Geometry3kVectorEnv(NativeVectorEnv):
    """``num_envs`` Geometry3k envs as one batch in one process (same core as :class:`Geometry3kEnv`)."""

    core_cls = Geometry3kCore

    @property
    def num_problems(self) -> int | None:
        """Problems in the dataset split (``None`` for the unbounded generator)."""
        return self.core.num_problems

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """Reset all envs (or ``options["reset_mask"]``); ``options["index"]`` gives one problem index (or
        None) per env."""
        index, rest = _split_options(options, ("index", "reset_mask"))
        if index is not None:
            if isinstance(index, (str, bytes)) or np.ndim(index) != 1:
                raise invalid_choice("reset option index (one int or None per env)", index, ["a sequence"])
            self.core.request_index(list(index))
        try:
            return super().reset(seed=seed, options=rest)
        finally:
            self.core.clear_requests()
