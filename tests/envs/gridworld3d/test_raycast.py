"""Raycaster invariants: wall heights, turning, depth-tested sprites, incremental redraws."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vlenvs.envs.gridworld3d import GridWorld3DEnv
from vlenvs.envs.gridworld3d.dynamics import FORWARD, TURN_LEFT, TURN_RIGHT
from vlenvs.envs.gridworld3d.raycast import background


def open_room(size=9, **kw) -> GridWorld3DEnv:
    """One empty room, agent at the bottom of the middle column facing north, objects out of sight."""
    env = GridWorld3DEnv(size=size, rooms=1, tasks="go_to", num_distractors=0, **kw)
    env.reset(seed=0)
    s = env.core.state
    s.agent[0], s.heading[0] = (size - 2, size // 2), 0
    s.obj_pos[0, 0] = (size - 2, 1)  # beside the agent: never in front
    redraw(env)
    return env


def redraw(env: GridWorld3DEnv) -> np.ndarray:
    """Raycast env 0's frame afresh (bypassing the frames kept for turning) and return a copy."""
    env.core.fp.forget(np.array([0]))
    env.core.fp.render(np.array([0]), env.core.state)
    return env.core.fp.frame[0].copy()


def centre_wall_rows(env: GridWorld3DEnv) -> int:
    """How many rows of the centre column show something other than the floor/ceiling."""
    frame = env.core.fp.frame[0]
    h, w = frame.shape[:2]
    bg = background(h).round().clip(0, 255).astype(np.uint8)
    return int(np.any(frame[:, w // 2] != bg, axis=1).sum())


@given(image=st.sampled_from([16, 24, 40, 64]), fov=st.sampled_from([45.0, 60.0, 90.0, 110.0]),
       size=st.sampled_from([7, 9, 13]))
def test_a_wall_in_front_fills_the_centre_column_more_as_the_agent_approaches(image, fov, size):
    env = open_room(size=size, image_size=image, fov=fov)
    heights = []
    while True:
        heights.append(centre_wall_rows(env))
        _, _, _, _, info = env.step(FORWARD)
        if info["bumped"]:
            break
    assert len(heights) == size - 2
    assert all(a <= b for a, b in zip(heights, heights[1:])), heights  # whole pixels: ties far away
    assert heights[-3] < heights[-2] < heights[-1], heights
    assert heights[-1] == image  # half a cell away, the wall is twice the screen height
    far = size - 2.5  # distance to the far wall from the start (cell centres, wall face at +0.5)
    assert abs(heights[0] - image / far) <= 2


@given(seed=st.integers(0, 2**31 - 1), layout=st.sampled_from(["rooms", "maze"]))
def test_turning_four_times_or_left_then_right_returns_the_same_frame(seed, layout):
    env = GridWorld3DEnv(image_size=24, layout=layout, size=11, rooms=2 if layout == "rooms" else 1)
    obs, _ = env.reset(seed=seed)
    start = obs["image"].copy()
    frames = [env.step(TURN_LEFT)[0]["image"].copy() for _ in range(4)]
    assert np.array_equal(frames[-1], start)
    assert np.array_equal(redraw(env), start)  # a fresh raycast agrees with the frame kept for turning
    assert not all(np.array_equal(f, start) for f in frames[:3])  # the view did change meanwhile
    env.step(TURN_LEFT)
    assert np.array_equal(env.step(TURN_RIGHT)[0]["image"], start)
    assert np.array_equal(redraw(env), start)


def test_objects_are_depth_tested_against_walls():
    env = open_room(size=9, image_size=32)
    s = env.core.state
    empty = redraw(env)
    s.obj_pos[0, 0] = (s.agent[0, 0] - 2, s.agent[0, 1])  # two cells ahead, in plain sight
    seen = redraw(env)
    changed = np.argwhere(np.any(seen != empty, axis=-1))
    assert changed.size and changed[:, 0].min() >= 16  # drawn, standing on the floor (lower half)
    assert abs(changed[:, 1].mean() - 15.5) < 1.5  # centred
    s.grid[0, s.agent[0, 0] - 1, s.agent[0, 1]] = 1  # a wall right in front hides it
    hidden = redraw(env)
    s.obj_pos[0, 0] = (s.agent[0, 0], 1)
    assert np.array_equal(hidden, redraw(env))


@given(seed=st.integers(0, 2**31 - 1))
def test_incremental_redraws_equal_a_full_redraw(seed):
    """Only envs whose view changed are redrawn; that must equal drawing every frame afresh, through
    random moves, bumps, and a sequence task whose current target (ringed on the map) advances."""
    env = GridWorld3DEnv(image_size=24, preset="hard", tasks="sequence", view="both")
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    actions = list(rng.integers(0, 3, 20))  # turn-heavy: frames kept for turning get reused
    while True:
        a = actions.pop(0) if actions else info["oracle_action"]
        obs, _, te, _, info = env.step(a)
        if te:
            break
        kept = obs["image"].copy()
        env.core.fp.forget(np.array([0]))  # draw afresh, not from the frames kept for turning
        env.core._redraw(np.array([0]))
        assert np.array_equal(env.core.images()[0], kept)
    assert info["success"]
