"""The GridWorld3D oracle: batched shortest paths over (cell, heading) states, through every stage.

``D_k(s)`` is the fewest actions (turns, forwards and ``done``\\ s) that finish the task from state
``s = (heading, row, col)`` when target ``k`` is the current one. The last stage is a breadth-first
search from the states where its target is reached (worth one ``done``); stage ``k`` starts from its
reached states worth ``1 + D_{k+1}(s)``. Following the smallest ``D`` therefore always succeeds, in
exactly ``D_0(start)`` actions.

The search runs level by level for a whole batch of levels at once, with the four headings of a cell
packed as four bits of one byte: a turn is a bit rotation, a step forward a shift of one bit plane.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from vlenvs.envs.gridworld3d.state import HEADING_STEP

UNREACHABLE = np.iinfo(np.int32).max // 2
TURN_LEFT, TURN_RIGHT, FORWARD, DONE = range(4)
BITS = (1 << np.arange(4)).astype(np.uint8)
LOW_NIBBLES = np.uint64(0x0F0F0F0F0F0F0F0F)
#: For each 4-bit set of headings: the set as four bools.
UNPACK = np.array([[(b >> h) & 1 for h in range(4)] for b in range(16)], dtype=bool)
#: For each 4-bit set of headings: one 8-bit counter lane per heading (little-endian bytes of a
#: uint32), 1 where the heading is in the set.
LANES = np.array([sum(((b >> h) & 1) << (8 * h) for h in range(4)) for b in range(16)], dtype="<u4")


def predecessors(frontier: np.ndarray, size: int) -> np.ndarray:
    """States one action before some state of ``frontier`` (``uint8[n, S*S]``, bit ``h`` = heading ``h``).

    Flat shifts wrap between rows only through border cells, which are walls (the caller masks them).
    """
    f = frontier
    w = f.view(np.uint64)  # eight cells per word (rows are padded to a multiple of 8 cells)
    g = w | (w << np.uint64(4))  # both turns rotate a cell's four heading bits: shift a doubled copy
    pred = (((g >> np.uint64(1)) | (g >> np.uint64(3))) & LOW_NIBBLES).view(np.uint8)  # turned into it
    for bit, o in _forward_offsets(size):  # moved forward into it from the cell behind: pred[p] |= f[p + o]
        if o > 0:
            pred[:, :-o] |= f[:, o:] & bit
        else:
            pred[:, -o:] |= f[:, :o] & bit
    return pred


@lru_cache(maxsize=64)
def _forward_offsets(size: int) -> tuple[tuple[np.uint8, int], ...]:
    """``(heading bit, flat offset of the cell in front)`` for each heading."""
    return tuple((BITS[h], int(dr) * size + int(dc)) for h, (dr, dc) in enumerate(HEADING_STEP))


def reached_sources(open_: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, ...]:
    """The states from which ``target int[n, 2]`` is reached (on it, or right in front), as index arrays
    ``(env, heading, row, col)``."""
    n = len(target)
    rows = np.arange(n)
    env, head, r, c = [np.repeat(rows, 4)], [np.tile(np.arange(4), n)], [np.repeat(target[:, 0], 4)], \
        [np.repeat(target[:, 1], 4)]
    for h, (dr, dc) in enumerate(HEADING_STEP):  # standing one step behind, facing it
        br, bc = target[:, 0] - dr, target[:, 1] - dc
        ok = open_[rows, br, bc]
        env.append(rows[ok]), head.append(np.full(ok.sum(), h)), r.append(br[ok]), c.append(bc[ok])
    return tuple(np.concatenate(x) for x in (env, head, r, c))


def relax(open_: np.ndarray, src: tuple[np.ndarray, ...], value: np.ndarray) -> np.ndarray:
    """Distances ``int32[n, 4, S, S]``: ``d(s) = min(value of s if a source, 1 + min over successors)``.

    Level-synchronous search over bit-packed headings. Rather than writing each level's states, every
    level adds one to an 8-bit counter lane per heading of every state not reached yet (flushed into
    int32 totals before a lane can overflow), so a state's distance is the first level plus its count.
    """
    n, size, _ = open_.shape
    cells = size * size
    padded = -(-cells // 8) * 8  # whole 8-cell words per env
    open_bits = np.zeros((n, padded), dtype=np.uint8)
    open_bits[:, :cells] = np.where(open_, 15, 0).reshape(n, -1)
    unseen = open_bits.copy()  # open states not reached yet
    frontier = np.zeros_like(unseen)
    count = np.zeros(unseen.shape, dtype="<u4")  # four 8-bit lanes per cell
    total = np.zeros((*unseen.shape, 4), dtype=np.int32)
    pending = 0  # levels counted in `count` since the last flush

    def flush() -> None:
        nonlocal pending
        total[...] += count.view(np.uint8).reshape(total.shape)
        count[...] = 0
        pending = 0

    order = np.argsort(value, kind="stable")
    value, env, cell, bit = value[order], src[0][order], (src[2] * size + src[3])[order], BITS[src[1][order]]
    levels, starts = np.unique(value, return_index=True)
    batches = {int(v): (int(a), int(b)) for v, a, b in zip(levels, starts, [*starts[1:], value.size])}
    todo = sorted(batches)
    first = level = todo[0] if todo else 0
    while todo or frontier.any():
        if todo and todo[0] == level:  # sources worth this level join the frontier
            a, b = batches[todo.pop(0)]
            np.bitwise_or.at(frontier, (env[a:b], cell[a:b]), bit[a:b])
            frontier &= unseen
        if frontier.any():
            unseen ^= frontier
            count += np.take(LANES, unseen)
            pending += 1
            if pending == 255:
                flush()
            frontier = predecessors(frontier, size)
            frontier &= unseen
            level += 1
        elif todo:  # nothing to expand until the next source's level
            total += UNPACK[unseen] * np.int32(todo[0] - level)
            level = todo[0]
    flush()
    seen = (open_bits ^ unseen)[:, :cells]
    dist = np.where(UNPACK[seen], total[:, :cells] + first, UNREACHABLE)
    return dist.reshape(n, size, size, 4).transpose(0, 3, 1, 2)


def task_distances(open_: np.ndarray, obj_pos: np.ndarray, stages: np.ndarray, max_targets: int) -> np.ndarray:
    """``D_k`` for every stage, ``int32[n, K, 4, S, S]`` (stages past an env's last hold UNREACHABLE)."""
    n, size, _ = open_.shape
    dist = np.full((n, max_targets, 4, size, size), UNREACHABLE, dtype=np.int32)
    for k in range(max_targets - 1, -1, -1):
        rows = np.flatnonzero(stages > k)
        if rows.size == 0:
            continue
        env, head, r, c = src = reached_sources(open_[rows], obj_pos[rows, k])
        last = stages[rows][env] == k + 1
        after = dist[rows[env], min(k + 1, max_targets - 1), head, r, c]
        value = np.where(last, 1, 1 + np.minimum(after, UNREACHABLE - 1))
        dist[rows, k] = relax(open_[rows], src, value)
    return dist


def next_actions(dist: np.ndarray, open_: np.ndarray, agent: np.ndarray, heading: np.ndarray, stage: np.ndarray,
                 stages: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """The first action of a shortest completion for every env (``int64[n]``; ``-1`` if unreachable)."""
    n, k_max = dist.shape[:2]
    rows = np.arange(n)
    r, c, h = agent[:, 0], agent[:, 1], heading
    here = dist[rows, stage, h, r, c]
    nxt = np.minimum(stage + 1, k_max - 1)
    after = np.where(stage + 1 >= stages, 0, dist[rows, nxt, h, r, c])
    done_val = np.where(reached, 1 + after, UNREACHABLE)
    fr, fc = r + HEADING_STEP[h, 0], c + HEADING_STEP[h, 1]
    moves = np.stack([
        dist[rows, stage, (h - 1) % 4, r, c],
        dist[rows, stage, (h + 1) % 4, r, c],
        np.where(open_[rows, fr, fc], dist[rows, stage, h, fr, fc], UNREACHABLE),
    ], axis=1)
    act = np.where(done_val == here, DONE, np.argmin(moves, axis=1))
    return np.where(here >= UNREACHABLE, -1, act).astype(np.int64)
