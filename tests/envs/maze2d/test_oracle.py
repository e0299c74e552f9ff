"""The oracle: BFS distances, and following it succeeds in exactly the shortest path length."""

from collections import deque

import gymnasium as gym
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import vlenvs  # noqa: F401
from vlenvs.envs.maze2d import oracle


def bfs_len(walls, start, goal):
    seen = {tuple(start): 0}
    q = deque([tuple(start)])
    while q:
        r, c = q.popleft()
        if (r, c) == tuple(goal):
            return seen[(r, c)]
        for dr, dc in oracle.MOVES:
            nb = (r + dr, c + dc)
            if not walls[nb] and nb not in seen:
                seen[nb] = seen[(r, c)] + 1
                q.append(nb)
    return None


@given(size=st.sampled_from([5, 7, 9, 11, 15, 21]), seed=st.integers(0, 10_000),
       mode=st.sampled_from(["reach", "stop"]), start_goal=st.sampled_from(["random", "corners"]))
def test_oracle_succeeds_in_exactly_the_shortest_length(size, seed, mode, start_goal):
    env = gym.make("vlenvs/Maze2D-v0", size=size, image_size=max(8, size), success_mode=mode, start_goal=start_goal)
    obs, info = env.reset(seed=seed)
    core = env.unwrapped.core
    expected = bfs_len(core.state.walls[0], core.state.agent_rc[0], core.state.goal_rc[0])
    assert info["shortest_path_length"] == expected
    steps, done = 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(info["oracle_action"])
        steps += 1
        done = terminated or truncated
    assert terminated and not truncated and info["success"] and reward == 1.0
    assert steps == expected + (1 if mode == "stop" else 0)


def test_vector_oracle_solves_every_env():
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=64, size=11, image_size=22)
    obs, info = venv.reset(seed=0)
    shortest = info["shortest_path_length"].copy()
    steps = np.zeros(64, dtype=int)
    finished = np.zeros(64, dtype=bool)
    solved = np.zeros(64, dtype=bool)
    while not finished.all():
        obs, r, te, tr, info = venv.step(np.where(finished, 0, np.maximum(info["oracle_action"], 0)))
        steps += ~finished
        newly = (te | tr) & ~finished
        solved |= newly & info["success"]
        finished |= newly
    assert solved.all() and np.array_equal(steps, shortest)


def test_next_action_is_minus_one_on_the_goal():
    walls = np.ones((1, 5, 5), dtype=bool)
    walls[0, 1:4, 1] = False
    dist = oracle.distance_fields(walls, np.array([[3, 1]]))
    assert dist[0, 1, 1] == 2 and dist[0, 2, 1] == 1 and dist[0, 3, 1] == 0 and dist[0, 0, 0] == oracle.UNREACHABLE
    act, left = oracle.next_actions(dist, np.array([1 * 5 + 1, 3 * 5 + 1]))
    assert act.tolist() == [1, -1] and left.tolist() == [2, 0]  # down; already there


@given(cells=st.integers(2, 12), seed=st.integers(0, 10_000), extra=st.integers(0, 6))
def test_cell_graph_bfs_equals_square_bfs(cells, seed, extra):
    """The fast cell-graph BFS used at generation agrees with plain BFS over squares, also on mazes
    with loops (extra corridors opened) and for every goal cell."""
    from vlenvs.envs.maze2d import generate

    rng = np.random.default_rng(seed)
    walls = generate.generate_walls(rng.random((2, generate.num_edges(cells))), cells)
    size = 2 * cells + 1
    for _ in range(extra):  # open random inner walls between two cells
        r, c = rng.integers(1, size - 1, 2)
        if (r % 2) != (c % 2):
            walls[:, r, c] = False
    goal = 2 * rng.integers(0, cells, (2, 2)) + 1
    assert np.array_equal(oracle.cell_distance_fields(walls, goal), oracle.distance_fields(walls, goal))
