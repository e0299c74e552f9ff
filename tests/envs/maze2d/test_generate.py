"""Maze generation: perfect (spanning-tree) mazes, every cell reachable, start/goal placement."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vlenvs.envs.maze2d import generate, oracle


def adjacent_open_pairs(walls: np.ndarray) -> int:
    o = ~walls
    return int((o[1:, :] & o[:-1, :]).sum() + (o[:, 1:] & o[:, :-1]).sum())


@given(cells=st.integers(2, 15), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4))
def test_every_maze_is_a_perfect_maze(cells, seed, n):
    rng = np.random.default_rng(seed)
    walls = generate.generate_walls(rng.random((n, generate.num_edges(cells))), cells)
    size = 2 * cells + 1
    assert walls.shape == (n, size, size)
    for w in walls:
        assert w[0].all() and w[-1].all() and w[:, 0].all() and w[:, -1].all()  # closed border
        assert not w[1::2, 1::2].any()  # every cell open
        open_count = int((~w).sum())
        # a tree: connected with exactly open-1 adjacencies (no loop)
        assert adjacent_open_pairs(w) == open_count - 1
        d = oracle.distance_fields(w[None], np.array([[1, 1]]))[0]
        assert (d[~w] < oracle.UNREACHABLE).all()  # every open square reachable


@given(cells=st.integers(2, 15), u=st.lists(st.floats(0, 1, exclude_max=True), min_size=2, max_size=2))
def test_random_start_and_goal_are_distinct_cells(cells, u):
    start, goal = generate.place_start_goal(np.array([u]), cells, "random")
    assert (start % 2 == 1).all() and (goal % 2 == 1).all()
    assert (start <= 2 * cells - 1).all() and (goal <= 2 * cells - 1).all()
    assert not np.array_equal(start, goal)


def test_corners_mode():
    start, goal = generate.place_start_goal(np.zeros((2, 2)), 4, "corners")
    assert start.tolist() == [[1, 1], [1, 1]] and goal.tolist() == [[7, 7], [7, 7]]


def test_mazes_differ_across_seeds_and_repeat_for_a_seed():
    u = np.random.default_rng(0).random((2, generate.num_edges(6)))
    a = generate.generate_walls(u, 6)
    b = generate.generate_walls(u, 6)
    assert np.array_equal(a, b) and not np.array_equal(a[0], a[1])


def test_max_size_31_generates():
    u = np.random.default_rng(1).random((3, generate.num_edges(15)))
    walls = generate.generate_walls(u, 15)
    assert all(adjacent_open_pairs(w) == int((~w).sum()) - 1 for w in walls)
