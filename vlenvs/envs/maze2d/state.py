"""Maze2D state: a dataclass of arrays with a leading ``num_envs`` axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Maze2DState:
    """The whole mutable state of ``N`` mazes."""

    walls: np.ndarray  # bool[N, S, S]
    agent: np.ndarray  # int64[N, 2] (row, col)
    goal: np.ndarray  # int64[N, 2]
    dist: np.ndarray  # int32[N, S, S] BFS distance to the goal (the oracle's field)
    shortest: np.ndarray  # int32[N] shortest path length from the start
    steps: np.ndarray  # int32[N] steps taken this episode
    bumped: np.ndarray  # bool[N] last move hit a wall
    success: np.ndarray  # bool[N] the task was completed on the last step

    @classmethod
    def zeros(cls, num_envs: int, size: int) -> Maze2DState:
        """An all-empty state, filled in by reset."""
        return cls(
            walls=np.ones((num_envs, size, size), dtype=bool),
            agent=np.ones((num_envs, 2), dtype=np.int64),
            goal=np.ones((num_envs, 2), dtype=np.int64),
            dist=np.zeros((num_envs, size, size), dtype=np.int32),
            shortest=np.zeros(num_envs, dtype=np.int32),
            steps=np.zeros(num_envs, dtype=np.int32),
            bumped=np.zeros(num_envs, dtype=bool),
            success=np.zeros(num_envs, dtype=bool),
        )
