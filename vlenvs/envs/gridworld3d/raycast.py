"""The first-person view: a batched, pure-numpy raycaster over envs x screen columns.

The agent always stands at a cell centre facing one of four headings, so everything about a ray
that does not depend on the level is precomputed once per ``(heading, column)`` (:class:`Camera`):
the cells a DDA walk visits (as flat offsets from the agent's cell), the perpendicular distance at
which it enters each, which face it crosses and where. Casting a batch of rays is then a gather of
the grid at those offsets and a first-hit search, done in growing chunks of steps so that only the
rays that have not hit a wall yet walk on.

A screen column is fully determined by (wall colour, projected wall height, face side, texture
column): ceiling and floor are shaded per row by distance, the wall strip by distance, side and a
brick texture. All such columns are precomputed into a lookup table, so drawing the walls is one
gather of whole columns per env. Objects are depth-tested sprites standing on the floor: since they
sit at cell centres, their screen columns are precomputed per (shape, forward, lateral) offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from vlenvs.envs.gridworld3d.generate import WALL_RGB
from vlenvs.envs.gridworld3d.shapes import shape_shade
from vlenvs.envs.gridworld3d.state import HEADING_STEP, GridWorld3DState
from vlenvs.envs.gridworld3d.tasks import OBJ_RGB, OBJ_SHAPES

CEILING_RGB = np.array([196, 202, 214], dtype=np.float32)
FLOOR_RGB = np.array([150, 138, 120], dtype=np.float32)
SIDE_SHADE = (1.0, 0.78)  # faces crossed moving along rows / along columns
TEX_U = 16  # texture columns per wall face
SPRITE_SIZE = 0.5  # object width and height, in cells (a wall is 1 high)
MAX_SPRITE_DIST = 16  # objects further ahead than this many cells are not drawn
LUT_BYTES = 48 << 20  # cap on the column table; larger images quantise the wall height
TURN_CACHE_BYTES = 64 << 20  # frames kept for turning on the spot (see FirstPersonRenderer)
CHUNKS = (0, 3, 8, 20)  # DDA steps are taken in chunks [0,3), [3,8), [8,20), [20, L)
V3 = np.dtype((np.void, 3))


def distance_shade(d: np.ndarray) -> np.ndarray:
    """Brightness at distance ``d`` cells (1 at the eye, falling off like light in a fog)."""
    return 1.0 / (1.0 + 0.11 * np.asarray(d, dtype=np.float32))


def brick(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Brick texture brightness at face coordinates ``u`` (across) and ``v`` (down), both in [0, 1)."""
    row = np.floor(v * 4)
    mortar = ((v * 4) % 1.0 < 0.1) | ((u * 2 + 0.5 * (row % 2)) % 1.0 < 1.0 / 8)
    return np.where(mortar, 0.68, 1.0).astype(np.float32)


def _dda(size: int, width: int, fov: float) -> tuple[np.ndarray, ...]:
    """Per (heading, column, step): flat cell offset, entry distance, face side and face coordinate u."""
    steps = 2 * size
    tan_half = math.tan(math.radians(fov) / 2)
    cx = (2 * (np.arange(width) + 0.5) / width - 1) * tan_half
    shape = (4, width, steps)
    off, perp, side, face_u = (np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape, np.int64),
                               np.zeros(shape))
    for h in range(4):
        d = HEADING_STEP[h][None, :] + cx[:, None] * HEADING_STEP[(h + 1) % 4][None, :]  # [W, 2] (row, col)
        with np.errstate(divide="ignore"):
            delta = np.where(d == 0, np.inf, np.abs(1.0 / np.where(d == 0, 1, d)))
        step = np.sign(d).astype(np.int64)
        side_dist = 0.5 * delta
        cell = np.zeros((width, 2), dtype=np.int64)
        cols = np.arange(width)
        for k in range(steps):
            axis = (side_dist[:, 1] < side_dist[:, 0]).astype(np.int64)  # 0: cross a row boundary
            t = side_dist[cols, axis]
            cell[cols, axis] += step[cols, axis]
            side_dist[cols, axis] += delta[cols, axis]
            other = 1 - axis
            u = (0.5 + t * d[cols, other]) % 1.0
            off[h, :, k] = cell[:, 0] * size + cell[:, 1]
            perp[h, :, k], side[h, :, k], face_u[h, :, k] = t, axis, u
    return off, perp, side, face_u


@dataclass
class Camera:
    """Everything the raycaster precomputes for one (grid size, image size, field of view, texture)."""

    size: int
    height: int
    width: int
    fov: float
    textures: bool
    flat_off: np.ndarray  # int64[4, W, L] flat offset of the cell a ray enters at each step
    off_chunks: tuple[np.ndarray, ...]  # the same split into the DDA chunks, each int64[4 * W, chunk]
    perp: np.ndarray  # float32[4, W, L] perpendicular distance at which it enters it
    key_base: np.ndarray  # int64[4, W, L] column-table key of the wall face entered there (colour 0)
    color_stride: int  # key offset per wall colour
    lut: np.ndarray  # uint8[3, K, H] every possible screen column, one colour plane after another
    sprite_cols: np.ndarray  # uint8[C, H // 2]: sprite column brightness (0 transparent), rows H//2..
    sprite_start: np.ndarray  # int64[shapes, F + 1, 2 * LAT + 1] first column of each sprite in sprite_cols
    sprite_x0: np.ndarray  # int64[F + 1, 2 * LAT + 1] screen column of the sprite's first column
    sprite_w: np.ndarray  # int64[F + 1, 2 * LAT + 1] sprite width in columns (0: not drawn)
    lateral: int  # LAT: lateral offsets beyond +-LAT are outside the view


@lru_cache(maxsize=4)
def camera(size: int, height: int, width: int, fov: float, textures: bool) -> Camera:
    """Build (and cache) the tables of one camera."""
    off, perp, side, face_u = _dda(size, width, fov)
    tex_u = TEX_U if textures else 1
    min_perp = min(0.5, 0.5 / math.tan(math.radians(fov) / 2))
    h_max = int(math.ceil(height / min_perp))
    per_h = 2 * tex_u * len(WALL_RGB) * height * 3
    quant = max(1, -(-(h_max + 1) * per_h // LUT_BYTES))
    n_h = h_max // quant + 1
    h_key = np.minimum(np.rint(height / perp / quant).astype(np.int64), n_h - 1)
    u_bin = np.minimum((face_u * tex_u).astype(np.int64), tex_u - 1)
    key_base = (h_key * 2 + side) * tex_u + u_bin
    lut = _column_table(height, n_h, quant, tex_u)
    sprites = _sprite_tables(size, height, width, fov)
    bounds = (*CHUNKS, off.shape[-1])
    chunks = tuple(np.ascontiguousarray(off[..., a:b].reshape(4 * width, -1))
                   for a, b in zip(bounds[:-1], bounds[1:]) if b > a)
    return Camera(size, height, width, fov, textures, off, chunks, perp.astype(np.float32), key_base,
                  n_h * 2 * tex_u, lut, *sprites)


def background(height: int) -> np.ndarray:
    """Ceiling and floor colour of each row, shaded by the distance that row sees: ``float32[H, 3]``."""
    y = np.arange(height) + 0.5 - height / 2
    dist = height / (2 * np.maximum(np.abs(y), 0.5))
    rgb = np.where((y < 0)[:, None], CEILING_RGB, FLOOR_RGB)
    return rgb * distance_shade(dist)[:, None]


def _column_table(height: int, n_h: int, quant: int, tex_u: int) -> np.ndarray:
    """``uint8[3, colours * n_h * 2 * tex_u, H]``: the screen column of every wall look, per colour plane."""
    h = np.maximum(np.arange(n_h) * quant, 1e-3).astype(np.float32)[:, None]  # wall height in pixels
    y = np.arange(height, dtype=np.float32)[None, :] + 0.5
    top = height / 2 - h / 2
    v = (y - top) / h  # [n_h, H]
    wall = (v >= 0) & (v < 1)
    u = (np.arange(tex_u, dtype=np.float32) + 0.5) / tex_u
    tex = brick(u[None, :, None], v[:, None, :]) if tex_u > 1 else np.ones((n_h, 1, height), np.float32)
    shade = distance_shade(height / h)[:, :, None]  # [n_h, 1, 1]
    factor = np.stack([tex * shade * s for s in SIDE_SHADE], axis=1)  # [n_h, 2, tex_u, H]
    bg = background(height)
    out = np.empty((len(WALL_RGB), n_h, 2, tex_u, height, 3), dtype=np.uint8)
    for c, rgb in enumerate(WALL_RGB.astype(np.float32)):
        col = factor[..., None] * rgb
        out[c] = np.where(wall[:, None, None, :, None], col, bg).round().clip(0, 255)
    return np.ascontiguousarray(out.reshape(-1, height, 3).transpose(2, 0, 1))


def _sprite_tables(size: int, height: int, width: int, fov: float) -> tuple:
    """Precomputed sprite columns for every (shape, forward distance f, lateral offset l)."""
    tan_half = math.tan(math.radians(fov) / 2)
    far = min(size - 2, MAX_SPRITE_DIST)
    lat = int(math.ceil(far * tan_half + SPRITE_SIZE))
    rows = np.arange(height - height // 2) + height // 2 + 0.5
    x0 = np.zeros((far + 1, 2 * lat + 1), np.int64)
    w = np.zeros_like(x0)
    start = np.zeros((len(OBJ_SHAPES), far + 1, 2 * lat + 1), np.int64)
    cols: list[np.ndarray] = []
    n_cols = 0
    for f in range(1, far + 1):
        for li, l in enumerate(range(-lat, lat + 1)):
            scale = width / (2 * f * tan_half)  # screen pixels per cell sideways at distance f
            centre, half = width / 2 + l * scale, SPRITE_SIZE / 2 * scale
            lo, hi = int(math.floor(centre - half)), int(math.ceil(centre + half))
            if hi <= 0 or lo >= width:
                continue
            x = np.arange(lo, hi) + 0.5
            u = (x - (centre - half)) / (2 * half)
            top = height / 2 + height / (2 * f) - SPRITE_SIZE * height / f
            v = (rows - top) / (SPRITE_SIZE * height / f)
            x0[f, li], w[f, li] = lo, hi - lo
            for s, shape in enumerate(OBJ_SHAPES):
                shade = shape_shade(shape, u[:, None], v[None, :]) * ((u >= 0) & (u < 1))[:, None]
                shade = shade * ((v >= 0) & (v < 1))[None, :] * distance_shade(f)
                start[s, f, li] = n_cols
                cols.append(np.where(shade > 0, np.maximum(shade * 255, 1), 0).astype(np.uint8))
                n_cols += hi - lo
    table = np.concatenate(cols) if cols else np.zeros((0, len(rows)), np.uint8)
    return table, start, x0, w, lat


class FirstPersonRenderer:
    """Persistent batched first-person frames ``uint8[N, H, W, 3]``, redrawn for the envs that need it.

    While an agent stays on one cell, the frames of the headings it has already faced there are kept
    (when four frames per env fit in ``TURN_CACHE_BYTES``): turning back to one is a copy, not a cast.
    """

    def __init__(self, size: int, height: int, width: int, fov: float, textures: bool, num_envs: int) -> None:
        self._args = (size, height, width, fov, textures)
        self.cam = camera(*self._args)
        self.frame = np.zeros((num_envs, height, width, 3), dtype=np.uint8)
        self._empty_cache()

    def _empty_cache(self) -> None:
        n = len(self.frame)
        fits = 4 * self.frame.nbytes <= TURN_CACHE_BYTES
        self.turn_frames = np.zeros((n, 4, *self.frame.shape[1:]), dtype=np.uint8) if fits else None
        self.cached = np.zeros((n, 4), dtype=bool)  # turn_frames[i, h] shows env i's cell facing h
        self.cached_cell = np.full(n, -1, dtype=np.int64)

    def __getstate__(self) -> dict:
        return {"_args": self._args, "frame": self.frame}  # camera and cache are rebuilt on load

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.cam = camera(*self._args)
        self._empty_cache()

    def forget(self, idx: np.ndarray) -> None:
        """Drop the kept frames of envs ``idx`` (their level changed)."""
        self.cached[idx] = False

    def render(self, idx: np.ndarray, state: GridWorld3DState) -> None:
        """Bring the frames of envs ``idx`` up to date with the state (a kept frame, or a fresh draw)."""
        if self.turn_frames is None or len(idx) == 0:
            self.draw(idx, state)
            return
        cell = state.agent[idx, 0] * self.cam.size + state.agent[idx, 1]
        self.cached[idx[cell != self.cached_cell[idx]]] = False  # moved: a new cell, new views
        self.cached_cell[idx] = cell
        head = state.heading[idx]
        hit = self.cached[idx, head]
        self.frame[idx[hit]] = self.turn_frames[idx[hit], head[hit]]
        miss, head = idx[~hit], head[~hit]
        self.draw(miss, state)
        self.turn_frames[miss, head] = self.frame[miss]
        self.cached[miss, head] = True

    def draw(self, idx: np.ndarray, state: GridWorld3DState, chunk: int = 32) -> None:
        """Raycast and draw the frames of envs ``idx`` from the state."""
        if len(idx) == 0:
            return
        key, zbuf = self.cast(idx, state)
        scratch = np.empty((min(chunk, len(idx)), *self.frame.shape[1:]), dtype=np.uint8)
        for s in range(0, len(idx), chunk):  # gather whole columns, transpose them into rows one colour
            rows = idx[s : s + chunk]  # plane at a time (faster than moving 3-byte pixels), then copy
            out = scratch[: len(rows)]  # whole frames into place
            for c in range(3):
                cols = np.take(self.cam.lut[c], key[s : s + chunk], axis=0)  # [B, W, H]
                np.copyto(out[..., c], cols.transpose(0, 2, 1))
            self.frame[rows] = out
        self.draw_sprites(idx, state, zbuf)

    def cast(self, idx: np.ndarray, state: GridWorld3DState) -> tuple[np.ndarray, np.ndarray]:
        """Cast every column's ray for envs ``idx``: column-table keys ``int64[n, W]`` and wall distances."""
        cam, cells = self.cam, self.cam.size * self.cam.size
        n, w = len(idx), cam.width
        grid = state.grid[idx].reshape(-1)
        origin = np.arange(n) * cells + state.agent[idx, 0] * cam.size + state.agent[idx, 1]
        ray = (state.heading[idx, None] * w + np.arange(w)).reshape(-1)  # (heading, column) of each ray
        hit_k = np.empty(n * w, dtype=np.int64)
        hit_v = np.empty(n * w, dtype=np.int64)
        todo = np.arange(n * w)  # rays still walking
        k0 = 0
        for table in cam.off_chunks:
            # flat cell ids; past a hit they may stray into a neighbour's grid or off the end (clipped)
            at = origin[todo // w, None] + np.take(table, ray[todo], axis=0)
            vals = np.take(grid, at, mode="clip")
            hit = vals > 0
            first = np.argmax(hit, axis=1)
            rows = np.arange(len(todo))
            done = hit[rows, first]
            hit_k[todo[done]] = k0 + first[done]
            hit_v[todo[done]] = vals[rows[done], first[done]]
            todo, k0 = todo[~done], k0 + table.shape[1]
            if todo.size == 0:
                break
        assert todo.size == 0, "a ray left the grid: the border must be wall"
        flat = ray * cam.flat_off.shape[-1] + hit_k
        key = np.take(cam.key_base, flat) + (hit_v - 1) * cam.color_stride
        return key.reshape(n, w), np.take(cam.perp, flat).reshape(n, w)

    def draw_sprites(self, idx: np.ndarray, state: GridWorld3DState, zbuf: np.ndarray) -> None:
        """Draw the objects of envs ``idx`` in front of the walls, far ones first."""
        cam = self.cam
        rel = state.obj_pos[idx] - state.agent[idx, None, :]  # [n, M, 2]
        fwd_dir = HEADING_STEP[state.heading[idx]][:, None, :]
        right = HEADING_STEP[(state.heading[idx] + 1) % 4][:, None, :]
        f = np.sum(rel * fwd_dir, axis=-1)
        lat = np.sum(rel * right, axis=-1)
        far = cam.sprite_w.shape[0] - 1
        seen = (f >= 1) & (f <= far) & (np.abs(lat) <= cam.lateral)
        fi, li = np.clip(f, 0, far), np.clip(lat + cam.lateral, 0, 2 * cam.lateral)
        seen &= cam.sprite_w[fi, li] > 0
        if not seen.any():
            return
        order = np.argsort(np.where(seen, -f, 1), axis=1, kind="stable")  # far first; unseen last
        frame = self.frame.view(V3).reshape(-1)  # flat 3-byte pixels
        pal = _sprite_palette()
        y0 = cam.height // 2
        for rank in range(order.shape[1]):
            m = order[:, rank]
            row = np.flatnonzero(seen[np.arange(len(idx)), m])
            if row.size == 0:
                break
            m = m[row]
            ff, ll = fi[row, m], li[row, m]
            width = cam.sprite_w[ff, ll]
            tri = np.repeat(np.arange(row.size), width)  # one entry per sprite column
            j = np.arange(tri.size) - np.repeat(np.cumsum(width) - width, width)
            x = cam.sprite_x0[ff, ll][tri] + j
            env = row[tri]
            ok = (x >= 0) & (x < cam.width)
            ok[ok] &= ff[tri[ok]] < zbuf[env[ok], x[ok]]
            tri, j, x, env = tri[ok], j[ok], x[ok], env[ok]
            if tri.size == 0:
                continue
            shape = state.obj_shape[idx[row], m][tri]
            color = state.obj_color[idx[row], m][tri]
            rows_used = min(cam.height - y0, int(math.ceil(cam.height / (2 * ff.min()))) + 1)  # sprites end
            shade = cam.sprite_cols[cam.sprite_start[shape, ff[tri], ll[tri]] + j, :rows_used]  # on the floor
            t, y = np.nonzero(shade)  # opaque pixels only
            flat = (idx[env[t]] * cam.height + y0 + y) * cam.width + x[t]
            frame[flat] = pal[color[t] * 256 + shade[t, y]]


@lru_cache(maxsize=1)
def _sprite_palette() -> np.ndarray:
    """``V3[colours * 256]``: object colour ``c`` at brightness ``b / 255`` is entry ``c * 256 + b``."""
    b = np.arange(256, dtype=np.float32) / 255
    rgb = (OBJ_RGB.astype(np.float32)[:, None, :] * b[None, :, None]).round().astype(np.uint8)
    return np.ascontiguousarray(rgb.reshape(-1, 3)).view(V3)[:, 0]
