"""``split="all"`` (the default) leaves GridWorld3D's levels and instructions exactly as they were before
splits existed (images: the golden PNGs of test_golden.py, compared with a tolerance across machines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.envs.golden_record import check_golden, rollout_record

GOLDEN = Path(__file__).parent / "golden" / "split_all.json"
CASES = {
    "medium": {"preset": "medium", "image_size": 16},
    "hard": {"preset": "hard", "image_size": 16},
    "maze": {"preset": "maze", "image_size": 16, "view": "top_down"},
}


def state(core):
    s = core.state
    return s.grid, s.agent, s.heading, s.obj_pos, s.obj_color, s.obj_shape, s.stage, core.tasks.kind


def records(**extra) -> dict[str, dict]:
    return {name: rollout_record("vlenvs/GridWorld3D-v0", {**kw, **extra}, seed=3, num_envs=8, steps=30,
                                 state=state)
            for name, kw in CASES.items()}


def test_default_output_matches_the_record_from_before_splits():
    check_golden(GOLDEN, records(), ("first_instructions", "instructions", "state"))


@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden record yet")
def test_split_all_is_the_default():
    check_golden(GOLDEN, records(split="all"), ("first_instructions", "instructions", "state"))
