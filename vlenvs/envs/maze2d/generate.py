"""Batched perfect-maze generation (randomised Kruskal) and start/goal placement.

All randomness comes in as uniforms drawn per env from its own seeded generator, so a batch of mazes
is a pure function of those numbers: the single env and env ``i`` of a vector env agree exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=32)
def edge_table(cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The edges of a ``cells x cells`` cell grid.

    Returns ``(a, b, wall_r, wall_c)``: endpoint cell ids of each edge and the grid square between them.
    """
    a, b, wr, wc = [], [], [], []
    for i in range(cells):
        for j in range(cells):
            if j + 1 < cells:  # horizontal neighbour
                a.append(i * cells + j), b.append(i * cells + j + 1), wr.append(2 * i + 1), wc.append(2 * j + 2)
            if i + 1 < cells:  # vertical neighbour
                a.append(i * cells + j), b.append((i + 1) * cells + j), wr.append(2 * i + 2), wc.append(2 * j + 1)
    return tuple(np.asarray(x, dtype=np.int64) for x in (a, b, wr, wc))  # type: ignore[return-value]


def num_edges(cells: int) -> int:
    """Number of candidate corridors between cells: ``2 * cells * (cells - 1)``."""
    return 2 * cells * (cells - 1)


def generate_walls(edge_u: np.ndarray, cells: int) -> np.ndarray:
    """Carve one perfect maze per row of ``edge_u`` (uniforms ``[n, num_edges]``) by randomised Kruskal.

    Edges are visited in the order of their uniforms; an edge whose cells are not yet connected is
    carved. The result is a spanning tree of the cells: every cell reachable, no loops.
    Returns ``walls: bool[n, size, size]`` with ``size = 2 * cells + 1``.
    """
    n = edge_u.shape[0]
    size = 2 * cells + 1
    a, b, wr, wc = edge_table(cells)
    walls = np.ones((n, size, size), dtype=bool)
    walls[:, 1::2, 1::2] = False
    if cells == 1 or n == 0:
        return walls
    order = np.argsort(edge_u, axis=1, kind="stable")
    labels = np.tile(np.arange(cells * cells, dtype=np.int16), (n, 1))  # component of each cell
    rows = np.arange(n)
    carved = np.zeros((n, len(a)), dtype=bool)
    for k in range(len(a)):
        e = order[:, k]
        la, lb = labels[rows, a[e]], labels[rows, b[e]]
        join = la != lb
        carved[rows, e] = join
        # merge component lb into la (envs that do not join have la == lb: a no-op for them)
        np.copyto(labels, la[:, None], where=labels == lb[:, None])
    env_i, edge_i = np.nonzero(carved)
    walls[env_i, wr[edge_i], wc[edge_i]] = False
    return walls


def place_start_goal(u: np.ndarray, cells: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and goal grid positions ``int64[n, 2]`` from uniforms ``u[n, 2]``.

    ``"corners"``: top-left cell to bottom-right cell. ``"random"``: two distinct cells, uniformly.
    """
    n = u.shape[0]
    last = 2 * cells - 1
    if mode == "corners":
        return np.ones((n, 2), dtype=np.int64), np.full((n, 2), last, dtype=np.int64)
    count = cells * cells
    s = np.minimum((u[:, 0] * count).astype(np.int64), count - 1)
    g = np.minimum((u[:, 1] * (count - 1)).astype(np.int64), count - 2)
    g = g + (g >= s)  # distinct from the start
    to_pos = lambda c: np.stack([2 * (c // cells) + 1, 2 * (c % cells) + 1], axis=1)  # noqa: E731
    return to_pos(s), to_pos(g)


def draws_per_episode(cells: int, task_draws: int) -> int:
    """Uniforms one episode consumes: one per candidate corridor, two for start/goal, the task's."""
    return num_edges(cells) + 2 + task_draws


def generate_episodes(u: np.ndarray, cells: int, start_goal: str, task_ids: Callable[[np.ndarray], np.ndarray]
                      ) -> dict[str, np.ndarray]:
    """Whole episodes from uniforms ``u[n, draws_per_episode]``: walls, BFS field, start, goal, task ids."""
    from vlenvs.envs.maze2d.oracle import cell_distance_fields  # local: keeps generate free of oracle at import

    e = num_edges(cells)
    walls = generate_walls(u[:, :e], cells)
    start, goal = place_start_goal(u[:, e : e + 2], cells, start_goal)
    size = 2 * cells + 1
    return {
        "walls": walls,
        "dist": cell_distance_fields(walls, goal),
        "start": start[:, 0] * size + start[:, 1],
        "goal": goal[:, 0] * size + goal[:, 1],
        "task": task_ids(u[:, e + 2 :]),
    }
