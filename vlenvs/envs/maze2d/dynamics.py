"""Maze2D dynamics, written once and batched; the single and vector envs both drive this core."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from vlenvs.core.batched import BatchedCore
from vlenvs.core.spaces import observation_space
from vlenvs.envs.maze2d import generate, oracle
from vlenvs.envs.maze2d.config import PRESETS, Maze2DConfig
from vlenvs.envs.maze2d.render import FrameBuffer, render_text, tile_layout
from vlenvs.envs.maze2d.state import Maze2DState
from vlenvs.envs.maze2d.tasks import DRAWS, ReachGoalTasks, max_instruction_length

MOVE_NAMES = ("up", "down", "left", "right")
STOP = len(MOVE_NAMES)


class Maze2DCore(BatchedCore):
    """``num_envs`` perfect mazes; move a coloured shape to another one."""

    config_cls = Maze2DConfig
    presets = PRESETS

    def __init__(self, config: Maze2DConfig, num_envs: int) -> None:
        super().__init__(config, num_envs)
        self.require_stop = config.success_mode == "stop"
        self.action_names = MOVE_NAMES + (("stop",) if self.require_stop else ())
        self.state = Maze2DState.zeros(self.num_envs, config.size)
        self.tasks = ReachGoalTasks(self.num_envs, self.require_stop)
        h, w = config.image_hw
        self.layout = tile_layout(config.size, h, w)
        self.frames = FrameBuffer(self.layout, self.num_envs)
        self._obs_space = observation_space(h, w, max_instruction_length())
        self._edges = generate.num_edges(config.cells)

    @property
    def single_observation_space(self) -> spaces.Dict:
        return self._obs_space

    # ------------------------------------------------------------------ reset
    def reset_envs(self, idx: np.ndarray) -> None:
        if len(idx) == 0:
            return
        cfg, s = self.config, self.state
        u = self.uniforms(idx, self._edges + 2 + DRAWS)
        walls = generate.generate_walls(u[:, : self._edges], cfg.cells)
        start, goal = generate.place_start_goal(u[:, self._edges : self._edges + 2], cfg.cells, cfg.start_goal)
        self.tasks.sample(idx, u[:, self._edges + 2 :])
        dist = oracle.distance_fields(walls, goal)
        s.walls[idx], s.agent[idx], s.goal[idx], s.dist[idx] = walls, start, goal, dist
        s.shortest[idx] = dist[np.arange(len(idx)), start[:, 0], start[:, 1]]
        s.steps[idx] = 0
        s.bumped[idx] = False
        s.success[idx] = False
        self.frames.redraw(idx, walls, start, goal, self.tasks)

    # ------------------------------------------------------------------- step
    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stopped = active & (actions == STOP)
        self._move(actions, active & (actions < STOP))
        success = self._check_success(stopped)
        terminated = success | stopped
        truncated = self._count_steps(active) & ~terminated
        reward = success.astype(np.float64) - self.config.step_penalty * active
        return reward, terminated, truncated

    def _move(self, actions: np.ndarray, moving: np.ndarray) -> None:
        """Apply moves; bumping into a wall is a no-op flagged in ``state.bumped``."""
        s = self.state
        idx = np.flatnonzero(moving)
        s.bumped[:] = False
        if idx.size == 0:
            return
        old = s.agent[idx]
        new = old + oracle.MOVES[actions[idx]]
        blocked = s.walls[idx, new[:, 0], new[:, 1]]
        s.bumped[idx[blocked]] = True
        go = ~blocked
        if go.any():
            moved = idx[go]
            s.agent[moved] = new[go]
            self.frames.move(moved, old[go], new[go], self.tasks)

    def _check_success(self, stopped: np.ndarray) -> np.ndarray:
        s = self.state
        s.success = self.tasks.success(s.agent, s.goal, stopped)
        return s.success

    def _count_steps(self, active: np.ndarray) -> np.ndarray:
        """Count the step; True where the episode hits its step limit."""
        self.state.steps += active
        return active & (self.state.steps >= self.config.episode_limit)

    # ---------------------------------------------------------- observations
    def images(self) -> np.ndarray:
        return self.frames.frame

    def instructions(self) -> tuple[str, ...]:
        return tuple(self.tasks.texts)

    def oracle_actions(self) -> np.ndarray:
        """Next action on a shortest path for every env (``stop`` on the goal in stop mode, else -1)."""
        act = oracle.next_actions(self.state.dist, self.state.agent)
        if self.require_stop:
            act = np.where(act < 0, STOP, act)
        return act

    def info(self) -> dict[str, np.ndarray]:
        s = self.state
        rows = np.arange(self.num_envs)
        return {
            "success": s.success.copy(),
            "bumped": s.bumped.copy(),
            "oracle_action": self.oracle_actions(),
            "shortest_path_length": s.shortest.copy(),
            "distance_to_goal": s.dist[rows, s.agent[:, 0], s.agent[:, 1]].copy(),
            "steps": s.steps.copy(),
        }

    def render_text(self, i: int) -> str:
        s = self.state
        agent, goal = self.tasks.describe(i)
        return render_text(s.walls[i], s.agent[i], s.goal[i], agent, goal)
