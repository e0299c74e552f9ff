"""Maze2D dynamics, written once and batched; the single and vector envs both drive this core."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from vlenvs.core.batched import BatchedCore
from vlenvs.core.prefetch import EpisodeQueue
from vlenvs.core.spaces import observation_space
from vlenvs.envs.maze2d import generate, oracle
from vlenvs.envs.maze2d.config import PRESETS, Maze2DConfig
from vlenvs.envs.maze2d.render import FrameBuffer, render_text, tile_layout
from vlenvs.envs.maze2d.state import Maze2DState
from vlenvs.envs.maze2d.tasks import DRAWS, ReachGoalTasks, max_instruction_length, task_vocab

MOVE_NAMES = ("up", "down", "left", "right")
STOP = len(MOVE_NAMES)


class Maze2DCore(BatchedCore):
    """``num_envs`` perfect mazes; move a coloured shape onto another one."""

    config_cls = Maze2DConfig
    presets = PRESETS

    def __init__(self, config: Maze2DConfig, num_envs: int) -> None:
        super().__init__(config, num_envs)
        self.require_stop = config.success_mode == "stop"
        self.action_names = MOVE_NAMES + (("stop",) if self.require_stop else ())
        size = config.size
        self.state = Maze2DState.zeros(self.num_envs, size)
        self.tasks = ReachGoalTasks(self.num_envs, self.require_stop)
        self.vocab = task_vocab(config.split)
        h, w = config.image_hw
        self.layout = tile_layout(size, h, w)
        self.frames = FrameBuffer(self.layout, self.num_envs)
        self._obs_space = observation_space(h, w, max_instruction_length())
        self._deltas = oracle.cell_deltas(size)
        self._base = np.arange(self.num_envs) * size * size  # flat offset of each env's grid
        self.queue = EpisodeQueue.within(self.num_envs, generate.draws_per_episode(config.cells, DRAWS),
                                         3 * size * size + 64, self._generate)

    @property
    def single_observation_space(self) -> spaces.Dict:
        return self._obs_space

    # ------------------------------------------------------------------ reset
    def _generate(self, u: np.ndarray) -> dict[str, np.ndarray]:
        cfg = self.config
        return generate.generate_episodes(u, cfg.cells, cfg.start_goal, self.vocab.sample_ids)

    def reset_envs(self, idx: np.ndarray) -> None:
        if len(idx) == 0:
            return
        ep = self.queue.pop(idx, self.rngs)
        s = self.state
        s.walls[idx], s.dist[idx], s.agent[idx], s.goal[idx] = ep["walls"], ep["dist"], ep["start"], ep["goal"]
        s.shortest[idx] = ep["dist"].reshape(len(idx), -1)[np.arange(len(idx)), ep["start"]]
        s.steps[idx] = 0
        s.bumped[idx] = False
        s.success[idx] = False
        self.tasks.assign(idx, ep["task"])
        self.frames.redraw(idx, ep["walls"], ep["start"], ep["goal"], self.tasks.agent_look[idx],
                           self.tasks.goal_look[idx])

    # ------------------------------------------------------------------- step
    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stopped = active & (actions == STOP)
        self._move(actions, active & (actions < STOP))
        success = self._check_success(stopped)
        terminated = success | stopped
        truncated = self._count_steps(active) & ~terminated
        reward = success.astype(np.float64)
        if self.config.step_penalty:
            reward -= self.config.step_penalty * active
        return reward, terminated, truncated

    def _move(self, actions: np.ndarray, moving: np.ndarray) -> None:
        """Apply moves; bumping into a wall is a no-op flagged in ``state.bumped``."""
        s = self.state
        target = s.agent + self._deltas[np.minimum(actions, STOP - 1) if self.require_stop else actions]
        blocked = s.walls.reshape(-1).take(self._base + target)
        s.bumped = moving & blocked
        go = np.flatnonzero(moving & ~blocked)
        if go.size:
            old, new = s.agent[go], target[go]
            s.agent[go] = new
            self.frames.move(go, old, new, s.goal[go], self.tasks.agent_look[go], self.tasks.goal_look[go])

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
        return self._oracle()[0]

    def _oracle(self) -> tuple[np.ndarray, np.ndarray]:
        act, dist = oracle.next_actions(self.state.dist, self.state.agent)
        if self.require_stop:
            act[act < 0] = STOP
        return act, dist

    def info(self) -> dict[str, np.ndarray]:
        s = self.state
        act, dist = self._oracle()
        return {
            "success": s.success.copy(),
            "bumped": s.bumped.copy(),
            "oracle_action": act,
            "shortest_path_length": s.shortest.copy(),
            "distance_to_goal": dist.astype(np.int32),
            "steps": s.steps.copy(),
        }

    def render_text(self, i: int) -> str:
        s = self.state
        agent, goal = self.tasks.describe(i)
        return render_text(s.walls[i], tuple(divmod(int(s.agent[i]), s.size)),
                           tuple(divmod(int(s.goal[i]), s.size)), agent, goal)
