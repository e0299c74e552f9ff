"""Maze2D state: a dataclass of arrays with a leading ``num_envs`` axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Maze2DState:
    """The whole mutable state of ``N`` mazes. Squares are flat ids ``r * size + c``."""

    walls: np.ndarray  # bool[N, S, S]
    dist: np.ndarray  # int16[N, S, S] BFS distance to the goal (the oracle's field)
    agent: np.ndarray  # int64[N] the agent's square
    goal: np.ndarray  # int64[N] the goal's square
    shortest: np.ndarray  # int32[N] shortest path length from the start
    steps: np.ndarray  # int32[N] steps taken this episode
    bumped: np.ndarray  # bool[N] last move hit a wall
    success: np.ndarray  # bool[N] the task was completed on the last step

    @classmethod
    def zeros(cls, num_envs: int, size: int) -> Maze2DState:
        """An all-empty state, filled in by reset."""
        return cls(
            walls=np.ones((num_envs, size, size), dtype=bool),
            dist=np.zeros((num_envs, size, size), dtype=np.int16),
            agent=np.zeros(num_envs, dtype=np.int64),
            goal=np.zeros(num_envs, dtype=np.int64),
            shortest=np.zeros(num_envs, dtype=np.int32),
            steps=np.zeros(num_envs, dtype=np.int32),
            bumped=np.zeros(num_envs, dtype=bool),
            success=np.zeros(num_envs, dtype=bool),
        )

    @property
    def size(self) -> int:
        return self.walls.shape[1]

    @property
    def agent_rc(self) -> np.ndarray:
        """The agent's ``(row, col)``, ``int64[N, 2]``."""
        return np.stack(np.divmod(self.agent, self.size), axis=1)

    @property
    def goal_rc(self) -> np.ndarray:
        """The goal's ``(row, col)``, ``int64[N, 2]``."""
        return np.stack(np.divmod(self.goal, self.size), axis=1)
