"""The top-down map view (debugging, ``view="top_down"``/``"both"``) and the text view."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from vlenvs.envs.gridworld3d.generate import WALL_RGB
from vlenvs.envs.gridworld3d.shapes import shape_shade
from vlenvs.envs.gridworld3d.state import GridWorld3DState
from vlenvs.envs.gridworld3d.tasks import OBJ_RGB, OBJ_SHAPES, describe

FLOOR_RGB = np.array([232, 228, 218], dtype=np.uint8)
AGENT_RGB = np.array([20, 20, 20], dtype=np.uint8)
TARGET_RING_RGB = np.array([255, 255, 255], dtype=np.uint8)
HEADING_CHARS = "^>v<"
SHAPE_CHARS = "oxk"  # ball, box, key in the text map


@lru_cache(maxsize=16)
def map_layout(size: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: the grid row and column it shows and its ``(u, v)`` position inside that cell."""
    ye = np.arange(size + 1) * height / size
    xe = np.arange(size + 1) * width / size
    y, x = np.arange(height) + 0.5, np.arange(width) + 0.5
    row = np.minimum(np.searchsorted(ye, y, side="right") - 1, size - 1)
    col = np.minimum(np.searchsorted(xe, x, side="right") - 1, size - 1)
    v = (y - ye[row]) / (ye[row + 1] - ye[row])
    u = (x - xe[col]) / (xe[col + 1] - xe[col])
    return row, col, u, v


@lru_cache(maxsize=4)
def _arrow(height: int, width: int, size: int) -> np.ndarray:
    """``bool[4, H, W]``: whether each pixel is inside the agent's arrow for each heading."""
    _, _, u, v = map_layout(size, height, width)
    uu, vv = np.meshgrid(u - 0.5, v - 0.5)
    out = []
    for h in range(4):  # rotate so that the arrow points along the heading (north = up)
        a = -h * np.pi / 2
        ru, rv = uu * np.cos(a) - vv * np.sin(a), uu * np.sin(a) + vv * np.cos(a)
        out.append((rv >= -0.38) & (rv <= 0.3) & (np.abs(ru) <= (rv + 0.38) * 0.55))
    return np.stack(out)


def render_map(state: GridWorld3DState, idx: np.ndarray, stages: np.ndarray, height: int, width: int) -> np.ndarray:
    """Top-down frames of envs ``idx``, ``uint8[n, H, W, 3]``: wall colours, objects, the current target
    ringed in white, the agent as a dark arrow."""
    size = state.grid.shape[1]
    row, col, u, v = map_layout(size, height, width)
    palette = np.concatenate([FLOOR_RGB[None], WALL_RGB])
    img = palette[state.grid[idx][:, row[:, None], col[None, :]]]  # [n, H, W, 3]
    obj_pos, obj_shape, obj_color = state.obj_pos[idx], state.obj_shape[idx], state.obj_color[idx]
    agent, heading, stage = state.agent[idx], state.heading[idx], state.stage[idx]
    uu, vv = u[None, :], v[:, None]
    shades = np.stack([shape_shade(s, (uu - 0.1) / 0.8, (vv - 0.1) / 0.8) for s in OBJ_SHAPES])
    ring = (np.maximum(np.abs(uu - 0.5), np.abs(vv - 0.5)) >= 0.44)
    for m in range(obj_pos.shape[1]):
        here = _at(row, col, obj_pos[:, m])
        shade = shades[obj_shape[:, m]]  # [n, H, W]
        rgb = (OBJ_RGB[obj_color[:, m]][:, None, None, :] * shade[..., None]).astype(np.uint8)
        img = np.where((here & (shade > 0))[..., None], rgb, img)
        current = (stage == m) & (m < stages[idx])
        img = np.where((here & ring & current[:, None, None])[..., None], TARGET_RING_RGB, img)
    img[_at(row, col, agent) & _arrow(height, width, size)[heading]] = AGENT_RGB
    return img


def _at(row: np.ndarray, col: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``bool[n, H, W]``: the pixels showing cell ``pos[i]`` in image ``i``."""
    return (row[None, :, None] == pos[:, 0, None, None]) & (col[None, None, :] == pos[:, 1, None, None])


def render_text(state: GridWorld3DState, i: int, stages: int, instruction: str) -> str:
    """Env ``i`` as text: the map (``#`` wall, ``.`` floor, objects by letter, the agent as ``^ > v <``)."""
    grid = np.where(state.grid[i] > 0, "#", ".").astype("<U1")
    legend = []
    for m in range(state.obj_pos.shape[1]):
        r, c = state.obj_pos[i, m]
        letter = SHAPE_CHARS[state.obj_shape[i, m]]
        grid[r, c] = letter
        legend.append(f"{letter} at row {r}, column {c}: {describe(state.obj_color[i, m], state.obj_shape[i, m])}")
    r, c = state.agent[i]
    grid[r, c] = HEADING_CHARS[state.heading[i]]
    rows = "\n".join("".join(line) for line in grid)
    facing = ("north (up)", "east (right)", "south (down)", "west (left)")[state.heading[i]]
    target = describe(state.obj_color[i, state.stage[i]], state.obj_shape[i, state.stage[i]])
    return (
        f"Instruction: {instruction}\n"
        f"Map {grid.shape[0]}x{grid.shape[1]} seen from above (row 0 at the top). Legend: # wall, . floor, "
        f"o ball, x box, k key, ^ > v < = you and the way you face.\n{rows}\n"
        f"You are at row {r}, column {c}, facing {facing}. Current target ({state.stage[i] + 1} of {stages}): "
        f"the {target}.\nObjects:\n" + "\n".join(legend)
    )
