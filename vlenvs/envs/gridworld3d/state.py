"""GridWorld3D state: a dataclass of arrays with a leading ``num_envs`` axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Row/column step of each heading: 0 north (up), 1 east, 2 south, 3 west. Turning right adds 1.
HEADING_STEP = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)


@dataclass
class GridWorld3DState:
    """The whole mutable state of ``N`` grid worlds."""

    grid: np.ndarray  # int8[N, S, S]: 0 floor, k > 0 a wall of colour k - 1
    agent: np.ndarray  # int64[N, 2] (row, col)
    heading: np.ndarray  # int64[N] 0..3 (see HEADING_STEP)
    obj_pos: np.ndarray  # int64[N, M, 2]
    obj_color: np.ndarray  # int64[N, M]
    obj_shape: np.ndarray  # int64[N, M]
    dist: np.ndarray  # int32[N, K, 4, S, S] actions left to finish the task from stage k (the oracle's field)
    stage: np.ndarray  # int64[N] index of the current target
    shortest: np.ndarray  # int32[N] shortest number of actions (dones included) from the start
    steps: np.ndarray  # int32[N] steps taken this episode
    bumped: np.ndarray  # bool[N] the last forward hit a wall
    success: np.ndarray  # bool[N] the task was completed on the last step

    @classmethod
    def zeros(cls, num_envs: int, size: int, num_objects: int, max_targets: int) -> GridWorld3DState:
        """An all-empty state, filled in by reset."""
        n, m = num_envs, num_objects
        return cls(
            grid=np.ones((n, size, size), dtype=np.int8),
            agent=np.ones((n, 2), dtype=np.int64),
            heading=np.zeros(n, dtype=np.int64),
            obj_pos=np.ones((n, m, 2), dtype=np.int64),
            obj_color=np.zeros((n, m), dtype=np.int64),
            obj_shape=np.zeros((n, m), dtype=np.int64),
            dist=np.zeros((n, max_targets, 4, size, size), dtype=np.int32),
            stage=np.zeros(n, dtype=np.int64),
            shortest=np.zeros(n, dtype=np.int32),
            steps=np.zeros(n, dtype=np.int32),
            bumped=np.zeros(n, dtype=bool),
            success=np.zeros(n, dtype=bool),
        )
