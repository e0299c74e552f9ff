"""``split="all"`` (the default) leaves Maze2D's output exactly as it was before splits existed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.envs.golden_record import check_golden, rollout_record

GOLDEN = Path(__file__).parent / "golden_split_all.json"
CASES = {
    "reach": {"size": 5, "image_size": 20},
    "stop": {"size": 7, "image_size": 28, "success_mode": "stop"},
}


def state(core):
    return core.state.walls, core.state.agent, core.state.goal, core.tasks.ids


def records(**extra) -> dict[str, dict]:
    return {name: rollout_record("vlenvs/Maze2D-v0", {**kw, **extra}, seed=3, num_envs=16, steps=40, state=state)
            for name, kw in CASES.items()}


def test_default_output_matches_the_record_from_before_splits():
    check_golden(GOLDEN, records(), ("first_instructions", "instructions", "images", "state"))


@pytest.mark.skipif(not GOLDEN.exists(), reason="no golden record yet")
def test_split_all_is_the_default():
    check_golden(GOLDEN, records(split="all"), ("first_instructions", "instructions", "images", "state"))
