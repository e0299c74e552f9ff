"""Batched episode generation: rooms joined by doorways or a perfect maze, per-cell wall colours,
object/agent placement, the task and the oracle's distance fields.

All randomness comes in as uniforms drawn per env from its own seeded generator, so a batch of levels
is a pure function of those numbers: the single env and env ``i`` of a vector env agree exactly.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from vlenvs.core.split import allowed_ids, pick
from vlenvs.envs.gridworld3d.config import GridWorld3DConfig
from vlenvs.envs.gridworld3d.oracle import task_distances
from vlenvs.envs.gridworld3d.tasks import DRAWS as TASK_DRAWS
from vlenvs.envs.gridworld3d.tasks import OBJ_COLORS, OBJ_SHAPES, NavigationTasks
from vlenvs.envs.maze2d.generate import edge_table, generate_walls, num_edges

#: Muted wall colours (kept apart from the object colours); a wall cell of colour k is stored as k + 1.
WALL_RGB = np.array(
    [[120, 124, 138], [150, 136, 112], [112, 128, 108], [138, 116, 128], [96, 114, 122], [146, 140, 132]],
    dtype=np.uint8,
)
#: The wall colours by name (their RGB), for splits: see :func:`wall_colors`.
WALL_NAMES = tuple(",".join(map(str, rgb)) for rgb in WALL_RGB.tolist())


@lru_cache(maxsize=3)
def wall_colors(split: str) -> np.ndarray:
    """Ids (rows of :data:`WALL_RGB`) of the wall colours ``split`` paints levels with: 2 of the 6 are held
    out for ``"test"`` (see :mod:`vlenvs.core.split`), ``"train"`` uses the other 4, ``"all"`` every one."""
    return allowed_ids(WALL_NAMES, split)


def draws(cfg: GridWorld3DConfig) -> dict[str, int]:
    """How many uniforms each part of an episode takes (fixed per config, so envs stay in lockstep)."""
    cells = cfg.rooms if cfg.layout == "rooms" else (cfg.size - 1) // 2
    return {
        "edges": num_edges(cells),
        "doors": num_edges(cells) if cfg.layout == "rooms" else 0,
        "colors": cfg.size * cfg.size,
        "spots": cfg.num_spots,
        "heading": 1,
        "objects": len(OBJ_COLORS) * len(OBJ_SHAPES) * (2 if cfg.split == "test" else 1),
        "task": TASK_DRAWS,
    }


def generate_episodes(cfg: GridWorld3DConfig, tasks: NavigationTasks, u: np.ndarray) -> dict[str, np.ndarray]:
    """Whole episodes from uniforms ``u[n, sum(draws(cfg).values())]``: level, objects, agent, task and
    the oracle's distance fields."""
    sizes = draws(cfg)
    part = dict(zip(sizes, np.split(u, np.cumsum(list(sizes.values()))[:-1], axis=1)))
    grid = generate_grid(cfg, part["edges"], part["doors"], part["colors"])
    obj_pos, agent, heading = place(cfg, part["spots"], part["heading"])
    color, shape = tasks.sample_objects(part["objects"])
    task = tasks.draw(part["task"], color, shape)
    dist = task_distances(grid == 0, obj_pos, task["stages"], cfg.max_targets)
    return {"grid": grid, "agent": agent, "heading": heading, "obj_pos": obj_pos, "obj_color": color,
            "obj_shape": shape, "dist": dist, **task}


@lru_cache(maxsize=32)
def spot_cells(size: int, pitch: int) -> np.ndarray:
    """Flat ids (``r * size + c``) of the cells where objects and the agent may be placed."""
    r, c = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ok = (r % pitch != 0) & (c % pitch != 0)
    return (r * size + c)[ok]


def generate_grid(cfg: GridWorld3DConfig, edge_u: np.ndarray, door_u: np.ndarray, color_u: np.ndarray) -> np.ndarray:
    """Levels ``int8[n, S, S]``: 0 floor, ``k + 1`` a wall of colour ``k``. Every open cell is reachable."""
    n, size = edge_u.shape[0], cfg.size
    if cfg.layout == "maze":
        walls = generate_walls(edge_u, (size - 1) // 2)
    else:
        walls = _rooms(cfg, edge_u, door_u)
    ids = wall_colors(cfg.split)
    colors = ids[pick(color_u, len(ids))] + 1
    return np.where(walls, colors.reshape(n, size, size), 0).astype(np.int8)


def _rooms(cfg: GridWorld3DConfig, edge_u: np.ndarray, door_u: np.ndarray) -> np.ndarray:
    """``rooms x rooms`` rooms; a spanning tree of the room graph gets one doorway per joined pair."""
    n, size, k, p = edge_u.shape[0], cfg.size, cfg.rooms, cfg.pitch
    walls = np.zeros((n, size, size), dtype=bool)
    walls[:, ::p, :] = True
    walls[:, :, ::p] = True
    if k == 1:
        return walls
    room_walls = generate_walls(edge_u, k)  # carved edges of the k x k room graph
    a, _b, wr, wc = edge_table(k)
    carved = ~room_walls[:, wr, wc]  # [n, edges]
    offset = np.minimum((door_u * (p - 1)).astype(np.int64), p - 2) + 1  # 1..p-1 along the shared wall
    ra, ca = a // k, a % k
    horizontal = wc % 2 == 0  # rooms side by side: the door is in a vertical wall
    row = np.where(horizontal, ra * p + offset, (ra + 1) * p)
    col = np.where(horizontal, (ca + 1) * p, ca * p + offset)
    env_i, edge_i = np.nonzero(carved)
    walls[env_i, row[env_i, edge_i], col[env_i, edge_i]] = False
    return walls


def place(cfg: GridWorld3DConfig, spot_u: np.ndarray, heading_u: np.ndarray):
    """Distinct cells for the objects and the agent, and the agent's heading.

    Returns ``(obj_pos int64[n, M, 2], agent int64[n, 2], heading int64[n])``.
    """
    spots = spot_cells(cfg.size, cfg.pitch)
    order = np.argsort(spot_u, axis=1, kind="stable")[:, : cfg.num_objects + 1]
    cells = spots[order]
    pos = np.stack([cells // cfg.size, cells % cfg.size], axis=-1)
    heading = np.minimum((heading_u[:, 0] * 4).astype(np.int64), 3)
    return pos[:, 1:], pos[:, 0], heading
