"""Maze2D rendering: the tile-by-tile buffer equals a whole-frame redraw; the picture matches the words."""

import gymnasium as gym
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import vlenvs  # noqa: F401
from vlenvs.envs.maze2d.render import FLOOR_RGB, WALL_RGB, render_rgb, tile_layout
from vlenvs.envs.maze2d.tasks import COLOR_NAMES, COLOR_RGB, SHAPES


@given(seed=st.integers(0, 500), size=st.sampled_from([5, 9, 13]), hw=st.sampled_from([(17, 23), (64, 64), (50, 31)]),
       actions=st.lists(st.integers(0, 3), min_size=1, max_size=60))
def test_incremental_frames_equal_a_full_redraw(seed, size, hw, actions):
    if min(hw) < size:
        return
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, size=size, image_size=hw)
    venv.reset(seed=seed)
    core = venv.unwrapped.core
    for a in actions:
        obs, *_ = venv.step(np.array([a, (a + 1) % 4, (a + 2) % 4]))
        s = core.state
        full = render_rgb(s.walls, s.agent, s.goal, core.tasks, core.layout)
        assert np.array_equal(obs["image"], full)


@given(size=st.sampled_from([5, 9, 31]), h=st.integers(31, 130), w=st.integers(31, 130))
def test_tile_view_maps_each_square_to_its_pixels(size, h, w):
    lay = tile_layout(size, h, w)
    assert lay.th == h // size and lay.tw == w // size
    frames = np.zeros((2, h, w, 3), dtype=np.uint8)
    view = lay.tile_view(frames)
    r, c = size // 2, size - 1
    view[1, r, :, c] = lay.rows(np.full((lay.th, lay.tw * 3), 7, dtype=np.uint8))
    ys, xs = np.nonzero(frames[1, :, :, 0] == 7)
    assert ys.min() == lay.oy + r * lay.th and ys.max() == lay.oy + (r + 1) * lay.th - 1
    assert xs.min() == lay.ox + c * lay.tw and xs.max() == lay.ox + (c + 1) * lay.tw - 1
    assert (frames[1] == 7).all(-1).sum() == lay.th * lay.tw and not frames[0].any()


def test_instruction_names_what_is_drawn():
    env = gym.make("vlenvs/Maze2D-v0", size=9, image_size=90)
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        text = obs["instruction"]
        core = env.unwrapped.core
        agent, goal = core.tasks.describe(0)
        assert agent in text and goal in text
        img = obs["image"]
        for desc in (agent, goal):
            color, shape = desc.split()
            assert color in COLOR_NAMES and shape in SHAPES
            assert (img == COLOR_RGB[COLOR_NAMES.index(color)]).all(-1).sum() > 3  # drawn in that colour
        assert agent.split()[0] != goal.split()[0]  # never the same colour


def test_walls_and_floor_colours_where_the_grid_says():
    env = gym.make("vlenvs/Maze2D-v0", size=9, image_size=90)
    obs, _ = env.reset(seed=0)
    walls = env.unwrapped.core.state.walls[0]
    img = obs["image"]
    for r in range(9):
        for c in range(9):
            px = img[r * 10 + 1, c * 10 + 1]  # a corner pixel of the tile: never covered by a shape
            assert np.array_equal(px, WALL_RGB if walls[r, c] else FLOOR_RGB)


def test_ansi_view_shows_the_maze():
    env = gym.make("vlenvs/Maze2D-v0", size=7, image_size=28, render_mode="ansi")
    env.reset(seed=2)
    text = env.render()
    grid = [ln for ln in text.splitlines() if set(ln) <= set("#.AG") and len(ln) == 7]
    core = env.unwrapped.core
    assert len(grid) == 7
    assert grid[core.state.agent_rc[0][0]][core.state.agent_rc[0][1]] == "A"
    assert grid[core.state.goal_rc[0][0]][core.state.goal_rc[0][1]] == "G"
    agent, goal = core.tasks.describe(0)
    assert agent in text and goal in text


def test_human_mode_opens_a_window_showing_the_frame():
    env = gym.make("vlenvs/Maze2D-v0", size=7, image_size=28, render_mode="human")
    env.reset(seed=0)
    env.step(0)
    window = env.unwrapped._window
    snap = window.snapshot()
    frame = env.unwrapped.core.render_rgb()[0]
    scale = snap.shape[0] // 28
    assert snap.shape[:2] == (28 * scale, 28 * scale)
    assert np.array_equal(snap[::scale, ::scale], frame)
    env.close()
