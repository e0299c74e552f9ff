"""The Maze2D Gymnasium envs: single (a batch of one) and native vector, over one core."""

from __future__ import annotations

from vlenvs.core.single import BatchedSingleEnv
from vlenvs.core.vector import NativeVectorEnv
from vlenvs.envs.maze2d.dynamics import Maze2DCore


class Maze2DEnv(BatchedSingleEnv):
    """Top-down perfect maze: move one coloured shape onto another, as the instruction says.

    Observation: ``{"image": uint8[H, W, 3], "instruction": str}``. Actions: ``up, down, left, right``
    (plus ``stop`` with ``success_mode="stop"``); see :class:`~vlenvs.envs.maze2d.config.Maze2DConfig`
    for every keyword argument and ``preset`` for the named variants.
    """

    core_cls = Maze2DCore


class Maze2DVectorEnv(NativeVectorEnv):
    """``num_envs`` Maze2D envs stepped as one batch in one process (same core as :class:`Maze2DEnv`)."""

    core_cls = Maze2DCore
