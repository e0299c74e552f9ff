"""Render the env pictures the docs and the README show: ``python docs/make_images.py``.

One PNG per env (a few seeded observations side by side, each with its instruction under it), written to
``docs/_static/``. Deterministic: the same vlenvs version gives the same pictures.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import gymnasium as gym
from PIL import Image, ImageDraw

import vlenvs  # noqa: F401  (registers the ids)

OUT = Path(__file__).resolve().parent / "_static"
SHOTS = {
    "maze2d": ("vlenvs/Maze2D-v0", {"size": 9, "image_size": 192}),
    "gridworld3d": ("vlenvs/GridWorld3D-v0", {"preset": "medium", "image_size": 192, "view": "both"}),
    "geometry3k": ("vlenvs/Geometry3k-v0", {"mode": "multiple_choice"}),
}


def sheet(env_id: str, kwargs: dict, seeds: range, width: int = 48) -> Image.Image:
    """The first observation of each seed with its instruction wrapped beneath."""
    env = gym.make(env_id, **kwargs)
    tiles = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        img = Image.fromarray(obs["image"])
        text = obs["instruction"].replace("\n", " ").replace("\u2299", "circle ").replace("\u03c0", "pi")
        lines = textwrap.wrap(text, width=width)[:6]  # the default font has no circle-dot or pi glyph
        tile = Image.new("RGB", (max(img.width, 8 * width), img.height + 14 * len(lines) + 8), "white")
        tile.paste(img, (0, 0))
        draw = ImageDraw.Draw(tile)
        for k, line in enumerate(lines):
            draw.text((2, img.height + 4 + 14 * k), line, fill="black")
        tiles.append(tile)
    env.close()
    out = Image.new("RGB", (sum(t.width for t in tiles) + 8 * (len(tiles) - 1), max(t.height for t in tiles)),
                    "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + 8
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (env_id, kwargs) in SHOTS.items():
        path = OUT / f"{name}.png"
        sheet(env_id, kwargs, range(3) if name != "gridworld3d" else range(1, 3)).save(path, optimize=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
