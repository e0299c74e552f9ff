"""The batched (cell, heading) search against a plain Python breadth-first search."""

from __future__ import annotations

from collections import deque

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vlenvs.envs.gridworld3d import GridWorld3DEnv
from vlenvs.envs.gridworld3d.oracle import UNREACHABLE, task_distances
from vlenvs.envs.gridworld3d.state import HEADING_STEP


def reference(open_: np.ndarray, target: tuple[int, int], worth: dict | None = None) -> np.ndarray:
    """``D[h, r, c]`` for one stage by a textbook BFS backwards from the reached states (multi-source
    with per-source values via a bucket queue)."""
    size = open_.shape[0]
    dist = np.full((4, size, size), UNREACHABLE, dtype=np.int64)
    sources = []
    for h, (dr, dc) in enumerate(HEADING_STEP):
        for r, c in ((target[0], target[1]), (target[0] - dr, target[1] - dc)):
            if open_[r, c]:
                sources.append((1 if worth is None else 1 + worth[(h, r, c)], h, r, c))
    buckets: dict[int, list] = {}
    for v, h, r, c in sources:
        buckets.setdefault(v, []).append((h, r, c))
    level = min(buckets)
    todo = deque()
    while buckets or todo:
        for s in buckets.pop(level, []):
            todo.append((level, s))
        nxt = deque()
        while todo:
            lv, (h, r, c) = todo.popleft()
            if dist[h, r, c] <= lv:
                continue
            dist[h, r, c] = lv
            preds = [((h + 1) % 4, r, c), ((h - 1) % 4, r, c)]
            br, bc = r - HEADING_STEP[h][0], c - HEADING_STEP[h][1]
            if open_[br, bc]:
                preds.append((h, br, bc))
            nxt.extend((lv + 1, p) for p in preds if dist[p] > lv + 1)
        todo, level = nxt, level + 1
    return dist


@given(seed=st.integers(0, 2**31 - 1), preset=st.sampled_from(["easy", "hard", "maze"]))
def test_single_stage_fields_match_the_reference(seed, preset):
    env = GridWorld3DEnv(image_size=16, preset=preset, tasks="go_to")
    env.reset(seed=seed)
    s = env.core.state
    want = reference(s.grid[0] == 0, tuple(s.obj_pos[0, 0]))
    assert np.array_equal(s.dist[0, 0], want)


def test_two_stage_fields_chain_through_done():
    env = GridWorld3DEnv(image_size=16, size=13, rooms=3, tasks="sequence", sequence_length=2)
    env.reset(seed=3)
    s = env.core.state
    open_ = s.grid[0] == 0
    last = reference(open_, tuple(s.obj_pos[0, 1]))
    worth = {(h, r, c): last[h, r, c] for h in range(4) for r in range(13) for c in range(13)}
    first = reference(open_, tuple(s.obj_pos[0, 0]), worth)
    assert np.array_equal(s.dist[0, 1], last) and np.array_equal(s.dist[0, 0], first)


def test_a_serpentine_corridor_longer_than_255_levels():
    """One search spanning far more than 255 levels (the 8-bit counters must be flushed in between)."""
    size = 41
    open_ = np.zeros((size, size), dtype=bool)
    open_[1:-1:2, 1:-1] = True  # odd rows open ...
    for i, r in enumerate(range(2, size - 2, 2)):  # ... joined at alternating ends
        open_[r, size - 2 if i % 2 == 0 else 1] = True
    target = np.array([[size - 2, 1 if (size // 2 - 1) % 2 == 0 else size - 2]])
    dist = task_distances(open_[None], target[:, None, :], np.array([1]), 1)[0, 0]
    want = reference(open_, tuple(target[0]))
    assert want[want < UNREACHABLE].max() > 600
    assert np.array_equal(dist, want)
