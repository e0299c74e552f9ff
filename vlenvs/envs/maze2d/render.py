"""Maze2D rendering: a top-down RGB view and a text view.

Fast path: :class:`FrameBuffer` keeps a persistent ``uint8[N, H, W, 3]`` frame plus a static
background per env and, per step, redraws only the two tiles the agent left and entered.
:func:`render_rgb` draws whole frames from the state with the same primitives (used at reset and
as the reference the incremental buffer is tested against).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vlenvs.envs.maze2d.tasks import COLOR_RGB, SHAPES, ReachGoalTasks

WALL_RGB = np.array([45, 45, 55], dtype=np.uint8)
FLOOR_RGB = np.array([238, 238, 230], dtype=np.uint8)
PALETTE = np.stack([FLOOR_RGB, WALL_RGB])  # indexed by is_wall
GOAL_SCALE, AGENT_SCALE = 0.95, 0.6


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """Pixels (centres at ``u, v`` in [0, 1] tile coordinates) inside a centred shape of relative size ``r``."""
    du, dv = u - 0.5, v - 0.5
    if shape == "circle":
        return du**2 + dv**2 <= (0.5 * r) ** 2
    if shape == "square":
        return np.maximum(abs(du), abs(dv)) <= 0.42 * r
    if shape == "diamond":
        return abs(du) + abs(dv) <= 0.55 * r
    if shape == "triangle":
        top, bottom = -0.46 * r, 0.4 * r
        half = (dv - top) / (bottom - top) * 0.5 * r
        return (dv >= top) & (dv <= bottom) & (abs(du) <= half)
    raise AssertionError(f"unknown shape {shape}")


@dataclass(frozen=True)
class TileLayout:
    """Where every grid square lies in the image, and the pixels of each shape drawn in it."""

    size: int
    height: int
    width: int
    cell_of_pixel: np.ndarray  # int64[H*W]: grid square id (r * size + c) of each pixel
    cell_pixels: np.ndarray  # int64[size*size, T]: flat pixel ids of each square, padded by repetition
    masks: np.ndarray  # bool[len(SHAPES), 2, size*size, T]: shape pixels at goal / agent scale


@lru_cache(maxsize=16)
def tile_layout(size: int, height: int, width: int) -> TileLayout:
    """Build (and cache) the layout of a ``size x size`` grid drawn on a ``height x width`` image."""
    ye = (np.arange(size + 1) * height) // size
    xe = (np.arange(size + 1) * width) // size
    row_of_y = np.searchsorted(ye, np.arange(height), side="right") - 1
    col_of_x = np.searchsorted(xe, np.arange(width), side="right") - 1
    cell_of_pixel = (row_of_y[:, None] * size + col_of_x[None, :]).ravel()
    t = int(np.diff(ye).max() * np.diff(xe).max())
    cell_pixels = np.empty((size * size, t), dtype=np.int64)
    uu = np.empty((size * size, t))
    vv = np.empty((size * size, t))
    for r in range(size):
        for c in range(size):
            ys, xs = np.arange(ye[r], ye[r + 1]), np.arange(xe[c], xe[c + 1])
            yy, xx = np.meshgrid(ys, xs, indexing="ij")
            pix = (yy * width + xx).ravel()
            pad = np.resize(np.arange(pix.size), t)  # repeat real pixels: duplicate writes are identical
            cell = r * size + c
            cell_pixels[cell] = pix[pad]
            uu[cell] = ((xx.ravel() + 0.5 - xe[c]) / (xe[c + 1] - xe[c]))[pad]
            vv[cell] = ((yy.ravel() + 0.5 - ye[r]) / (ye[r + 1] - ye[r]))[pad]
    masks = np.zeros((len(SHAPES), 2, size * size, t), dtype=bool)
    for s, shape in enumerate(SHAPES):
        for k, scale in enumerate((GOAL_SCALE, AGENT_SCALE)):
            m = _shape_mask(shape, uu, vv, scale)
            m[~m.any(axis=1)] = True  # tiles too small for the shape: fill them
            masks[s, k] = m
    return TileLayout(size, height, width, cell_of_pixel, cell_pixels, masks)


def paint_static(layout: TileLayout, walls: np.ndarray, goal: np.ndarray, goal_rgb: np.ndarray,
                 goal_shape: np.ndarray) -> np.ndarray:
    """Walls, floor and goal of ``n`` mazes, ``uint8[n, H*W, 3]``."""
    n = walls.shape[0]
    is_wall = walls.reshape(n, -1)[:, layout.cell_of_pixel]
    img = PALETTE[is_wall.view(np.uint8)]  # C-contiguous, so the reshape below is a view
    flat = img.reshape(-1, 3)
    stamp(layout, flat, flat, np.arange(n) * layout.height * layout.width, goal, goal_shape, 0, goal_rgb)
    return img


def stamp(layout: TileLayout, dst: np.ndarray, src: np.ndarray, base: np.ndarray, pos: np.ndarray,
          shape: np.ndarray, scale: int, rgb: np.ndarray) -> None:
    """Draw one shape per image into the flat pixel array ``dst[M, 3]`` over the pixels of ``src``.

    ``base`` is each image's first flat pixel id, ``pos`` the grid square ``int[n, 2]`` to draw in.
    """
    cells = pos[:, 0] * layout.size + pos[:, 1]
    pix = base[:, None] + layout.cell_pixels[cells]
    m = layout.masks[shape, scale, cells]
    dst[pix] = np.where(m[..., None], rgb[:, None, :], src[pix])


def render_rgb(walls: np.ndarray, agent: np.ndarray, goal: np.ndarray, tasks: ReachGoalTasks,
               layout: TileLayout) -> np.ndarray:
    """Whole frames of every env from the state, ``uint8[N, H, W, 3]`` (the reference renderer)."""
    n = walls.shape[0]
    img = paint_static(layout, walls, goal, COLOR_RGB[tasks.goal_color], tasks.goal_shape)
    flat = img.reshape(-1, 3)
    base = np.arange(n) * layout.height * layout.width
    stamp(layout, flat, flat.copy(), base, agent, tasks.agent_shape, 1, COLOR_RGB[tasks.agent_color])
    return img.reshape(n, layout.height, layout.width, 3)


class FrameBuffer:
    """Persistent batched frames, updated tile by tile."""

    def __init__(self, layout: TileLayout, num_envs: int) -> None:
        self.layout = layout
        self.frame = np.zeros((num_envs, layout.height, layout.width, 3), dtype=np.uint8)
        self.background = np.zeros_like(self.frame)
        self._pixels = layout.height * layout.width
        self._make_views()

    def _make_views(self) -> None:
        self._frame_flat = self.frame.reshape(-1, 3)  # views: writes land in the frames
        self._bg_flat = self.background.reshape(-1, 3)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_frame_flat", "_bg_flat")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._make_views()  # pickling would otherwise turn the views into detached copies

    def redraw(self, idx: np.ndarray, walls: np.ndarray, agent: np.ndarray, goal: np.ndarray,
               tasks: ReachGoalTasks) -> None:
        """Repaint envs ``idx`` whole (after a reset); ``walls``/``agent``/``goal`` are theirs only."""
        static = paint_static(self.layout, walls, goal, COLOR_RGB[tasks.goal_color[idx]], tasks.goal_shape[idx])
        self.background[idx] = static.reshape(len(idx), self.layout.height, self.layout.width, 3)
        self.frame[idx] = self.background[idx]
        self._stamp_agent(idx, agent, tasks)

    def move(self, idx: np.ndarray, old: np.ndarray, new: np.ndarray, tasks: ReachGoalTasks) -> None:
        """The agent of envs ``idx`` moved from ``old`` to ``new``: restore one tile, draw another."""
        cells = old[:, 0] * self.layout.size + old[:, 1]
        pix = (idx * self._pixels)[:, None] + self.layout.cell_pixels[cells]
        self._frame_flat[pix] = self._bg_flat[pix]
        self._stamp_agent(idx, new, tasks)

    def _stamp_agent(self, idx: np.ndarray, pos: np.ndarray, tasks: ReachGoalTasks) -> None:
        stamp(self.layout, self._frame_flat, self._bg_flat, idx * self._pixels, pos, tasks.agent_shape[idx], 1,
              COLOR_RGB[tasks.agent_color[idx]])


def render_text(walls: np.ndarray, agent: np.ndarray, goal: np.ndarray, agent_desc: str, goal_desc: str) -> str:
    """One maze as text: ``#`` wall, ``.`` floor, ``A`` the agent, ``G`` the goal, row 0 at the top."""
    grid = np.where(walls, "#", ".").astype("<U1")
    grid[goal[0], goal[1]] = "G"
    grid[agent[0], agent[1]] = "A"
    rows = "\n".join("".join(r) for r in grid)
    where = f"A is at row {agent[0]}, column {agent[1]}; G is at row {goal[0]}, column {goal[1]}."
    return (
        f"Maze {walls.shape[0]}x{walls.shape[1]} seen from above (row 0 at the top). "
        f"Legend: # wall, . floor, A = you ({agent_desc}), G = goal ({goal_desc}).\n{rows}\n{where}"
    )
