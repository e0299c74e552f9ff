"""Object shapes (ball, box, key) as pixel masks with shading, shared by the 3D sprites and the map."""

from __future__ import annotations

import numpy as np


def shape_shade(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Brightness in ``[0, 1]`` of a shape drawn in the unit square (``u`` right, ``v`` down); 0 = empty.

    Never exactly 0 inside the shape (a floor of 0.3), so 0 can mean "transparent".
    """
    du, dv = u - 0.5, v - 0.5
    if shape == "ball":
        r2 = (du**2 + dv**2) / 0.25
        light = 1.0 - 0.6 * np.clip(((du + 0.18) ** 2 + (dv + 0.18) ** 2) / 0.45, 0, 1)  # lit from top left
        return np.where(r2 <= 1.0, np.maximum(light, 0.3), 0.0)
    if shape == "box":
        inside = np.maximum(abs(du), abs(dv)) <= 0.45
        edge = np.maximum(abs(du), abs(dv)) >= 0.36
        return np.where(inside, np.where(edge, 0.6, 0.95), 0.0)
    if shape == "key":
        bow = (du**2 + (v - 0.25) ** 2 <= 0.2**2) & ~(du**2 + (v - 0.25) ** 2 <= 0.09**2)
        shaft = (abs(du) <= 0.06) & (v >= 0.4) & (v <= 0.97)
        teeth = (du > 0) & (du <= 0.22) & (((v >= 0.72) & (v <= 0.8)) | ((v >= 0.86) & (v <= 0.95)))
        return np.where(bow | shaft | teeth, 0.9, 0.0)
    raise AssertionError(f"unknown shape {shape}")
