"""The Maze2D oracle: batched BFS distance fields and the shortest-path next action."""

from __future__ import annotations

import numpy as np

UNREACHABLE = np.iinfo(np.int32).max
#: Row/column offset of each move action (up, down, left, right), in action-id order.
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)


def distance_fields(walls: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """BFS distance (in moves) from every square to the goal, ``int32[n, size, size]``.

    Walls and unreachable squares hold :data:`UNREACHABLE`. Batched over the leading axis: one
    frontier expansion per distance level for all mazes at once.
    """
    n, size, _ = walls.shape
    dist = np.full((n, size, size), UNREACHABLE, dtype=np.int32)
    open_ = ~walls
    frontier = np.zeros_like(walls)
    frontier[np.arange(n), goal[:, 0], goal[:, 1]] = True
    level = 0
    while frontier.any():
        dist[frontier] = level
        grown = np.zeros_like(frontier)
        grown[:, 1:, :] |= frontier[:, :-1, :]
        grown[:, :-1, :] |= frontier[:, 1:, :]
        grown[:, :, 1:] |= frontier[:, :, :-1]
        grown[:, :, :-1] |= frontier[:, :, 1:]
        frontier = grown & open_ & (dist == UNREACHABLE)
        level += 1
    return dist


def next_actions(dist: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Move along a shortest path: the first action (up, down, left, right) that lowers the distance.

    Returns ``int64[n]``, or ``-1`` where the agent already stands on the goal.
    """
    n = dist.shape[0]
    rows = np.arange(n)
    nb = pos[:, None, :] + MOVES[None]  # [n, 4, 2]; the border is wall, so neighbours are in bounds
    d_nb = dist[rows[:, None], nb[..., 0], nb[..., 1]]
    here = dist[rows, pos[:, 0], pos[:, 1]]
    best = np.argmax(d_nb == (here - 1)[:, None], axis=1)
    return np.where(here == 0, -1, best).astype(np.int64)
