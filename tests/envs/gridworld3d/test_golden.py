"""Golden images per render mode, compared with a tolerance so a renderer regression shows.

Regenerate after an intended change of the look with::

    GRIDWORLD3D_REGEN_GOLDEN=1 python -m pytest tests/envs/gridworld3d/test_golden.py

and look at the PNGs under ``tests/envs/gridworld3d/golden/`` before committing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlenvs.envs.gridworld3d import GridWorld3DEnv
from vlenvs.envs.gridworld3d.dynamics import TURN_RIGHT

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("GRIDWORLD3D_REGEN_GOLDEN") == "1"
#: Mean absolute difference (0..255) and share of pixels off by more than 24 that still pass.
MEAN_TOL, PIXEL_TOL = 1.5, 0.01


def scene(render_mode: str, **kw) -> GridWorld3DEnv:
    """A fixed scene with textured walls, a doorway and a box in view (four oracle steps in)."""
    env = GridWorld3DEnv(render_mode=render_mode, **{"image_size": 64, "preset": "hard", **kw})
    _, info = env.reset(seed=18)
    for _ in range(4):
        _, _, _, _, info = env.step(info["oracle_action"])
    return env


def check_image(name: str, image: np.ndarray) -> None:
    """Compare with the golden PNG (or rewrite it when regenerating)."""
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        Image.fromarray(image).save(GOLDEN / name)
        pytest.skip(f"regenerated {GOLDEN / name}")
    compare(name, image)


def compare(name: str, image: np.ndarray) -> None:
    want = np.asarray(Image.open(GOLDEN / name).convert("RGB"))
    assert image.shape == want.shape
    diff = np.abs(image.astype(np.int16) - want.astype(np.int16))
    assert diff.mean() <= MEAN_TOL, f"{name}: mean difference {diff.mean():.2f}"
    assert (diff.max(axis=-1) > 24).mean() <= PIXEL_TOL, f"{name}: too many pixels changed"


@pytest.mark.parametrize("view", ["first_person", "top_down", "both"])
def test_rgb_array_matches_golden(view):
    env = scene("rgb_array", render_view=view)
    frame = env.render()
    assert frame.shape == (64, 128 if view == "both" else 64, 3)
    if view == "first_person":
        assert np.array_equal(frame, env.core.images()[0])  # the observation is the first-person view
    check_image(f"{view}.png", frame)


def test_ansi_matches_golden():
    text = scene("ansi").render()
    path = GOLDEN / "ansi.txt"
    if REGEN:
        path.write_text(text)
        pytest.skip(f"regenerated {path}")
    assert text == path.read_text()


@pytest.mark.skipif(REGEN, reason="regenerating the golden files")
def test_a_changed_renderer_would_fail():
    """The tolerance is tight enough: a darker wall shade or a moved agent is caught."""
    env = scene("rgb_array")
    frame = env.render()
    compare("first_person.png", frame)
    with pytest.raises(AssertionError):
        compare("first_person.png", (frame * 0.9).astype(np.uint8))
    env.step(TURN_RIGHT)
    with pytest.raises(AssertionError):
        compare("first_person.png", env.render())


def test_human_mode_shows_the_rgb_frame():
    pytest.importorskip("pygame")
    env = scene("human", image_size=32)
    snap = env._window.snapshot()
    scale = snap.shape[0] // 32
    assert np.array_equal(snap[::scale, ::scale], env.core.render_rgb()[0])
    env.close()
