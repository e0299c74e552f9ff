"""Maze2D rendering: a top-down RGB view and a text view.

Every grid square is a ``th x tw`` tile (``th = H // size``); what is left over is a wall-coloured
margin, so tiles are uniform and crisp. All tiles come from one atlas per layout (wall, floor, every
goal look, every agent look). Each tile row is ``tw * 3`` contiguous bytes, so frames are addressed
through a ``[N, size, th, size]`` view whose items are whole tile rows (a NumPy void dtype): writing a
tile is ``th`` row copies, not ``th * tw * 3`` byte copies.

Fast path: :class:`FrameBuffer` keeps persistent frames and per step writes only the tiles the agent
left and entered. :func:`render_rgb` paints whole frames from the state with the same atlas (used at
reset, and the reference the incremental buffer is tested against).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vlenvs.envs.maze2d.tasks import COLOR_RGB, LOOKS, SHAPES, ReachGoalTasks

WALL_RGB = np.array([45, 45, 55], dtype=np.uint8)
FLOOR_RGB = np.array([238, 238, 230], dtype=np.uint8)
GOAL_SCALE, AGENT_SCALE = 0.95, 0.6
WALL, FLOOR, GOAL_BASE, AGENT_BASE = 0, 1, 2, 2 + LOOKS  # atlas tile ids; add a look id to the bases


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


@lru_cache(maxsize=None)
def _row_dtype(nbytes: int) -> np.dtype:
    return np.dtype((np.void, nbytes))


@dataclass(frozen=True)
class TileLayout:
    """Where the grid lies in the image, and the tile atlas."""

    size: int
    height: int
    width: int
    th: int  # tile height in pixels
    tw: int  # tile width in pixels
    oy: int  # top margin
    ox: int  # left margin
    agent_masks: np.ndarray  # bool[len(SHAPES), th, tw]
    atlas: np.ndarray  # uint8[2 + 2 * LOOKS, th, tw * 3]: wall, floor, goal looks, agent looks

    @property
    def row_dtype(self) -> np.dtype:
        """One tile row as a single item."""
        return _row_dtype(self.tw * 3)

    def rows(self, tiles: np.ndarray) -> np.ndarray:
        """``uint8[..., th, tw*3]`` tiles as ``void[..., th]`` (one item per tile row)."""
        return np.ascontiguousarray(tiles).view(self.row_dtype)[..., 0]

    def tile_view(self, frames: np.ndarray) -> np.ndarray:
        """A writable ``void[N, size, th, size]`` view of C-contiguous ``frames[N, H, W, 3]``:
        ``view[n, r, :, c]`` are the ``th`` rows of the tile of square ``(r, c)`` of image ``n``."""
        assert frames.flags.c_contiguous and frames.shape[1:] == (self.height, self.width, 3)
        row = self.width * 3
        return np.ndarray(
            (frames.shape[0], self.size, self.th, self.size), dtype=self.row_dtype, buffer=frames,
            offset=(self.oy * self.width + self.ox) * 3,
            strides=(self.height * row, self.th * row, row, self.tw * 3),
        )


@lru_cache(maxsize=32)
def tile_layout(size: int, height: int, width: int) -> TileLayout:
    """Build (and cache) the layout and atlas of a ``size x size`` grid drawn on a ``height x width`` image."""
    th, tw = height // size, width // size
    v, u = np.meshgrid((np.arange(th) + 0.5) / th, (np.arange(tw) + 0.5) / tw, indexing="ij")

    def mask(shape: str, scale: float) -> np.ndarray:
        m = _shape_mask(shape, u, v, scale)
        return m if m.any() else np.ones_like(m)  # tiles too small for the shape: fill them

    agent_masks = np.stack([mask(s, AGENT_SCALE) for s in SHAPES])
    looks = [(c, s) for c in range(len(COLOR_RGB)) for s in range(len(SHAPES))]
    tiles = [np.broadcast_to(WALL_RGB, (th, tw, 3)), np.broadcast_to(FLOOR_RGB, (th, tw, 3))]
    tiles += [np.where(mask(SHAPES[s], GOAL_SCALE)[..., None], COLOR_RGB[c], FLOOR_RGB) for c, s in looks]
    tiles += [np.where(agent_masks[s][..., None], COLOR_RGB[c], FLOOR_RGB) for c, s in looks]
    atlas = np.stack(tiles).astype(np.uint8).reshape(len(tiles), th, tw * 3)
    atlas.setflags(write=False)
    agent_masks.setflags(write=False)
    return TileLayout(size, height, width, th, tw, (height - size * th) // 2, (width - size * tw) // 2,
                      agent_masks, atlas)


def agent_on_goal_tiles(layout: TileLayout, agent_look: np.ndarray, goal_look: np.ndarray) -> np.ndarray:
    """The agent drawn over the goal (only at the end of an episode), ``void[n, th]``."""
    goal = layout.atlas[GOAL_BASE + goal_look].reshape(-1, layout.th, layout.tw, 3)
    m = layout.agent_masks[agent_look % len(SHAPES)][..., None]
    tiles = np.where(m, COLOR_RGB[agent_look // len(SHAPES)][:, None, None], goal)
    return layout.rows(tiles.reshape(-1, layout.th, layout.tw * 3))


def paint(layout: TileLayout, view: np.ndarray, idx: np.ndarray | slice, walls: np.ndarray, agent: np.ndarray,
          goal: np.ndarray, agent_look: np.ndarray, goal_look: np.ndarray) -> None:
    """Draw whole frames ``idx`` of a tile view ``void[N, S, th, S]`` (margins excluded) from the state of
    those ``n`` envs; ``agent`` and ``goal`` are flat squares ``r * size + c``."""
    n, s = walls.shape[0], layout.size
    ids = np.where(walls, WALL, FLOOR).reshape(n, s * s)
    rows = np.arange(n)
    ids[rows, goal] = GOAL_BASE + goal_look
    ids[rows, agent] = AGENT_BASE + agent_look
    view[idx] = layout.rows(layout.atlas)[ids].reshape(n, s, s, layout.th).transpose(0, 1, 3, 2)
    both = np.flatnonzero(agent == goal)
    if both.size:
        env = np.arange(view.shape[0])[idx][both]
        view[env, agent[both] // s, :, agent[both] % s] = agent_on_goal_tiles(layout, agent_look[both],
                                                                              goal_look[both])


def new_frames(layout: TileLayout, n: int) -> np.ndarray:
    """``n`` blank frames: wall colour everywhere (margins keep it for good)."""
    frames = np.empty((n, layout.height, layout.width, 3), dtype=np.uint8)
    frames[...] = WALL_RGB
    return frames


def render_rgb(walls: np.ndarray, agent: np.ndarray, goal: np.ndarray, tasks: ReachGoalTasks,
               layout: TileLayout) -> np.ndarray:
    """Whole frames of every env from the state, ``uint8[N, H, W, 3]`` (the reference renderer)."""
    frames = new_frames(layout, walls.shape[0])
    paint(layout, layout.tile_view(frames), slice(None), walls, agent, goal, tasks.agent_look, tasks.goal_look)
    return frames


class FrameBuffer:
    """Persistent batched frames, updated tile by tile."""

    def __init__(self, layout: TileLayout, num_envs: int) -> None:
        self.layout = layout
        self.frame = new_frames(layout, num_envs)
        self._view = layout.tile_view(self.frame)
        self._atlas = layout.rows(layout.atlas)
        squares = np.arange(layout.size * layout.size)
        self._row, self._col = squares // layout.size, squares % layout.size

    def __getstate__(self) -> dict:
        return {"layout": self.layout, "frame": self.frame}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["layout"], state["frame"].shape[0])  # views are rebuilt, not unpickled as copies
        self.frame[...] = state["frame"]

    def redraw(self, idx: np.ndarray, walls: np.ndarray, agent: np.ndarray, goal: np.ndarray,
               agent_look: np.ndarray, goal_look: np.ndarray) -> None:
        """Repaint envs ``idx`` whole (after a reset); the other arguments are theirs only."""
        paint(self.layout, self._view, idx, walls, agent, goal, agent_look, goal_look)

    def move(self, idx: np.ndarray, old: np.ndarray, new: np.ndarray, goal: np.ndarray, agent_look: np.ndarray,
             goal_look: np.ndarray) -> None:
        """The agents of envs ``idx`` moved from square ``old`` to ``new``: restore one tile, draw another."""
        left = np.where(old == goal, GOAL_BASE + goal_look, FLOOR)
        env = np.concatenate([idx, idx])
        square = np.concatenate([old, new])
        tile = np.concatenate([left, AGENT_BASE + agent_look])
        self._view[env, self._row[square], :, self._col[square]] = self._atlas[tile]
        arrived = np.flatnonzero(new == goal)
        if arrived.size:
            tiles = agent_on_goal_tiles(self.layout, agent_look[arrived], goal_look[arrived])
            self._view[idx[arrived], self._row[new[arrived]], :, self._col[new[arrived]]] = tiles


def render_text(walls: np.ndarray, agent: tuple[int, int], goal: tuple[int, int], agent_desc: str,
                goal_desc: str) -> str:
    """One maze as text: ``#`` wall, ``.`` floor, ``A`` the agent, ``G`` the goal, row 0 at the top."""
    grid = np.where(walls, "#", ".").astype("<U1")
    grid[goal] = "G"
    grid[agent] = "A"
    rows = "\n".join("".join(r) for r in grid)
    where = f"A is at row {agent[0]}, column {agent[1]}; G is at row {goal[0]}, column {goal[1]}."
    return (
        f"Maze {walls.shape[0]}x{walls.shape[1]} seen from above (row 0 at the top). "
        f"Legend: # wall, . floor, A = you ({agent_desc}), G = goal ({goal_desc}).\n{rows}\n{where}"
    )
