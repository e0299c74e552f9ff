"""The Maze2D oracle: batched BFS distance fields and the shortest-path next action."""

from __future__ import annotations

import numpy as np

#: Distance of walls and unreachable squares (fits the int16 the env stores fields in).
UNREACHABLE = np.iinfo(np.int16).max
#: Row/column offset of each move action (up, down, left, right), in action-id order.
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)


def cell_deltas(size: int) -> np.ndarray:
    """Flat-cell offset (``r * size + c``) of each move action."""
    return MOVES[:, 0] * size + MOVES[:, 1]


def distance_fields(walls: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """BFS distance (in moves) from every square to the goal ``int[n, 2]``, as ``int16[n, size, size]``.

    Walls and unreachable squares hold :data:`UNREACHABLE`. Batched over the leading axis: one
    frontier expansion per distance level for all mazes at once, on flat grids (the wall border means
    a shift by one never wraps into an open square of the next row).
    """
    n, size, _ = walls.shape
    cells = size * size
    dist = np.full((n, cells), UNREACHABLE, dtype=np.int16)
    avail = ~walls.reshape(n, cells)  # open and not reached yet
    frontier = np.zeros((n, cells), dtype=bool)
    frontier[np.arange(n), goal[:, 0] * size + goal[:, 1]] = True
    grown = np.empty_like(frontier)
    level = 0
    while True:
        np.copyto(dist, level, where=frontier)
        avail &= ~frontier
        grown[:, :] = False
        grown[:, 1:] |= frontier[:, :-1]
        grown[:, :-1] |= frontier[:, 1:]
        grown[:, size:] |= frontier[:, :-size]
        grown[:, :-size] |= frontier[:, size:]
        np.logical_and(grown, avail, out=frontier)
        if not frontier.any():
            return dist.reshape(n, size, size)
        level += 1


def next_actions(dist: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Move along a shortest path: the first action (up, down, left, right) that lowers the distance.

    ``dist`` is ``[n, size, size]``, ``cell`` the flat square ``r * size + c`` of each agent. Returns
    ``int64[n]``, or ``-1`` where the agent already stands on the goal.
    """
    n, size, _ = dist.shape
    flat = dist.reshape(n, size * size)
    base = (np.arange(n) * (size * size))[:, None]
    here = flat.take(base[:, 0] + cell)
    # the border is wall, so the neighbours of an open square are in bounds
    d_nb = flat.take(base + cell[:, None] + cell_deltas(size)[None])
    best = np.argmax(d_nb == (here - 1)[:, None], axis=1)
    return np.where(here == 0, -1, best)
