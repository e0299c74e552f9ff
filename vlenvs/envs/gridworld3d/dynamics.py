"""GridWorld3D dynamics, written once and batched; the single and vector envs both drive this core."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from vlenvs.core.batched import BatchedCore
from vlenvs.core.prefetch import EpisodeQueue
from vlenvs.core.spaces import observation_space
from vlenvs.envs.gridworld3d import generate, oracle
from vlenvs.envs.gridworld3d.config import PRESETS, GridWorld3DConfig
from vlenvs.envs.gridworld3d.raycast import FirstPersonRenderer
from vlenvs.envs.gridworld3d.state import HEADING_STEP, GridWorld3DState
from vlenvs.envs.gridworld3d.tasks import NavigationTasks, max_instruction_length
from vlenvs.envs.gridworld3d.topdown import render_map, render_text

ACTION_NAMES = ("turn_left", "turn_right", "forward", "done")
TURN_LEFT, TURN_RIGHT, FORWARD, DONE = range(4)


class GridWorld3DCore(BatchedCore):
    """``num_envs`` first-person grid worlds; walk to the objects the instruction names and say done."""

    config_cls = GridWorld3DConfig
    presets = PRESETS
    action_names = ACTION_NAMES

    def __init__(self, config: GridWorld3DConfig, num_envs: int) -> None:
        super().__init__(config, num_envs)
        cfg = config
        self.state = GridWorld3DState.zeros(self.num_envs, cfg.size, cfg.num_objects, cfg.max_targets)
        self.tasks = NavigationTasks(cfg, self.num_envs)
        self.render_view = cfg.render_view or cfg.view
        h, w = cfg.image_hw
        self.fp = FirstPersonRenderer(cfg.size, h, w, cfg.fov, cfg.textures, self.num_envs)
        self._obs = None if cfg.view == "first_person" else np.zeros(
            (self.num_envs, h, w * (2 if cfg.view == "both" else 1), 3), dtype=np.uint8)
        self._obs_space = observation_space(h, w * (2 if cfg.view == "both" else 1), max_instruction_length())
        per_episode = cfg.size**2 * (1 + 16 * cfg.max_targets) + 64 * cfg.num_objects + 256
        self.queue = EpisodeQueue.within(self.num_envs, sum(generate.draws(cfg).values()), per_episode, self._generate)

    @property
    def single_observation_space(self) -> spaces.Dict:
        return self._obs_space

    # ------------------------------------------------------------------ reset
    def _generate(self, u: np.ndarray) -> dict[str, np.ndarray]:
        return generate.generate_episodes(self.config, self.tasks, u)

    def reset_envs(self, idx: np.ndarray) -> None:
        if len(idx) == 0:
            return
        s, ep = self.state, self.queue.pop(idx, self.rngs)
        s.grid[idx], s.agent[idx], s.heading[idx], s.dist[idx] = ep["grid"], ep["agent"], ep["heading"], ep["dist"]
        s.obj_pos[idx], s.obj_color[idx], s.obj_shape[idx] = ep["obj_pos"], ep["obj_color"], ep["obj_shape"]
        s.shortest[idx] = s.dist[idx, 0, s.heading[idx], s.agent[idx, 0], s.agent[idx, 1]]
        s.stage[idx], s.steps[idx], s.bumped[idx], s.success[idx] = 0, 0, False, False
        self.tasks.assign(idx, ep["kind"], ep["stages"], ep["text"])
        self.fp.forget(idx)
        self._redraw(idx)

    # ------------------------------------------------------------------- step
    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stage = self.state.stage.copy()
        turned = self._turn(actions, active)
        moved = self._forward(actions, active)
        success, failure = self._judge(active & (actions == DONE))
        terminated = success | failure
        truncated = self._count_steps(active) & ~terminated
        reward = success.astype(np.float64) - self.config.step_penalty * active
        self._redraw(np.flatnonzero(turned | moved | (self.state.stage != stage)))  # the map rings the target
        return reward, terminated, truncated

    def _turn(self, actions: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Turn left/right in place; returns which envs turned."""
        delta = np.where(actions == TURN_LEFT, -1, np.where(actions == TURN_RIGHT, 1, 0)) * active
        self.state.heading = (self.state.heading + delta) % 4
        return delta != 0

    def _forward(self, actions: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Step one cell ahead; walking into a wall is a no-op flagged in ``state.bumped``."""
        s = self.state
        going = active & (actions == FORWARD)
        ahead = s.agent + HEADING_STEP[s.heading]
        free = s.grid[np.arange(self.num_envs), ahead[:, 0], ahead[:, 1]] == 0
        s.bumped = going & ~free
        moved = going & free
        s.agent[moved] = ahead[moved]
        return moved

    def _judge(self, said_done: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        success, failure = self.tasks.judge_done(self.state, said_done)
        self.state.success = success
        return success, failure

    def _count_steps(self, active: np.ndarray) -> np.ndarray:
        """Count the step; True where the episode hits its step limit."""
        self.state.steps += active
        return active & (self.state.steps >= self.config.episode_limit)

    # ---------------------------------------------------------- observations
    def _redraw(self, idx: np.ndarray) -> None:
        """Redraw the observation of envs ``idx`` (the ones whose view changed)."""
        if len(idx) == 0:
            return
        view, w = self.config.view, self.config.image_hw[1]
        if view != "top_down":
            self.fp.render(idx, self.state)
        if view == "both":
            self._obs[idx, :, :w] = self.fp.frame[idx]
        if view != "first_person":
            self._obs[idx, :, -w:] = self._map(idx)

    def _map(self, idx: np.ndarray) -> np.ndarray:
        h, w = self.config.image_hw
        return render_map(self.state, idx, self.tasks.stages, h, w)

    def images(self) -> np.ndarray:
        return self.fp.frame if self._obs is None else self._obs

    def render_rgb(self) -> np.ndarray:
        if self.render_view == self.config.view:
            return self.images()
        everyone = np.arange(self.num_envs)
        if self.config.view == "top_down":  # the first-person frames are not kept up to date: draw them
            self.fp.render(everyone, self.state)
        if self.render_view == "first_person":
            return self.fp.frame
        top = self._map(everyone)
        return top if self.render_view == "top_down" else np.concatenate([self.fp.frame, top], axis=2)

    def instructions(self) -> tuple[str, ...]:
        return tuple(self.tasks.texts)

    def oracle_actions(self) -> np.ndarray:
        """The first action of a shortest completion of the task, for every env."""
        s = self.state
        return oracle.next_actions(s.dist, s.grid == 0, s.agent, s.heading, s.stage, self.tasks.stages,
                                   self.tasks.reached(s))

    def info(self) -> dict[str, np.ndarray]:
        s = self.state
        rows = np.arange(self.num_envs)
        return {
            "success": s.success.copy(),
            "bumped": s.bumped.copy(),
            "oracle_action": self.oracle_actions(),
            "shortest_path_length": s.shortest.copy(),
            "actions_to_go": s.dist[rows, s.stage, s.heading, s.agent[:, 0], s.agent[:, 1]].copy(),
            "stage": s.stage.copy(),
            "steps": s.steps.copy(),
        }

    def render_text(self, i: int) -> str:
        return render_text(self.state, i, int(self.tasks.stages[i]), self.tasks.texts[i])
