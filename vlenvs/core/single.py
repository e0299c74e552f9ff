"""The single env: a batch of one over the same core as the vector env."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np

from vlenvs.core.batched import BatchedCore, CoreAccess
from vlenvs.core.config import build_config
from vlenvs.core.errors import InvalidConfigError, ResetNeededError, invalid_choice
from vlenvs.core.window import HUMAN_EXTRA, pygame_available

#: Render modes the single env declares: ``human`` only where pygame is installed, as Gymnasium's
#: ``check_env`` (and any client) may make the env in every declared mode.
RENDER_MODES = ("rgb_array", "ansi", "human") if pygame_available() else ("rgb_array", "ansi")


def _unbatch(value: np.ndarray) -> Any:
    """Element 0 of an info array as a plain Python/NumPy scalar (or sub-array)."""
    item = value[0]
    return item.item() if isinstance(item, np.generic) else item


class BatchedSingleEnv(CoreAccess, gymnasium.Env):
    """A :class:`gymnasium.Env` backed by a :class:`BatchedCore` with ``num_envs=1``.

    Args:
        render_mode: ``"rgb_array"``, ``"ansi"`` (text an LLM can read) or ``"human"`` (pygame window;
            declared in ``metadata["render_modes"]`` only where pygame is installed).
        preset: a named config preset of the env; other keyword arguments override its fields.

    ``info`` carries the core's per-env keys; at the end of an episode (terminated or truncated) it also has
    ``is_success`` (the env's ``success``), which Stable-Baselines3 reads for ``rollout/success_rate``.
    """

    core_cls: ClassVar[type[BatchedCore]]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 8}

    def __init__(self, render_mode: str | None = None, *, preset: str | None = None, **config_kwargs: Any) -> None:
        if render_mode == "human" and "human" not in RENDER_MODES:
            raise InvalidConfigError(f"invalid render_mode 'human': it needs pygame ({HUMAN_EXTRA}); "
                                     f"valid choices here: {', '.join(map(repr, RENDER_MODES))}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise invalid_choice("render_mode", render_mode, RENDER_MODES)
        config = build_config(self.core_cls.config_cls, self.core_cls.presets, preset, config_kwargs)
        self.core = self.core_cls(config, 1)
        self.render_mode = render_mode
        self.observation_space = self.core.single_observation_space
        self.action_space = self.core.single_action_space
        self._state = "new"  # "new" -> "running" -> "done"
        self._window: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start a new episode; a seed makes it deterministic, ``seed=None`` continues the env's RNG."""
        if options:
            raise invalid_choice("reset option", next(iter(options)), [])
        super().reset(seed=seed)
        if self.core.rngs[0] is not self.np_random:  # newly seeded: share it (unseeded resets continue it)
            self.core.set_rng(0, self.np_random)
        self.core.reset_envs(np.zeros(1, dtype=np.int64))
        self._state = "running"
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info()

    def step(self, action: Any):
        """Take one action; raises :class:`ResetNeededError` before ``reset`` or after the episode ended."""
        if self._state == "new":
            raise ResetNeededError("step() called before reset(); call reset() first")
        if self._state == "done":
            raise ResetNeededError("step() called after the episode ended (terminated or truncated); call reset()")
        actions = self.core.validate_actions(self._batch_action(action))
        reward, terminated, truncated = self.core.step(actions, np.ones(1, dtype=bool))
        info = self._info()
        if terminated[0] or truncated[0]:
            self._state = "done"
            if "success" in info:
                info["is_success"] = bool(info["success"])
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def render(self) -> np.ndarray | str | None:
        """The frame (``rgb_array``), the text view (``ansi``), or a window update (``human``)."""
        if self.render_mode == "rgb_array":
            return self.core.render_rgb()[0].copy()
        if self.render_mode == "ansi":
            return self.core.render_text(0)
        if self.render_mode == "human":
            if self._window is None:
                from vlenvs.core.window import Window  # pygame only when a window is asked for

                self._window = Window(title=type(self).__name__, fps=self.metadata["render_fps"])
            self._window.show(self.core.render_rgb()[0], caption=self.core.instructions()[0])
        return None

    def close(self) -> None:
        """Close the pygame window if one is open."""
        if self._window is not None:
            self._window.close()
            self._window = None

    # ------------------------------------------------------------ internals
    def _batch_action(self, action: Any) -> Any:
        if isinstance(action, np.ndarray) and action.shape == ():
            return action.reshape(1)
        if isinstance(action, (int, np.integer, float, np.floating)) and not isinstance(action, bool):
            return np.array([action])
        return np.array([action], dtype=object) if not isinstance(action, np.ndarray) else action

    def _obs(self) -> dict[str, Any]:
        return {"image": self.core.images()[0].copy(), "instruction": self.core.instructions()[0]}

    def _info(self) -> dict[str, Any]:
        return {k: _unbatch(v) for k, v in self.core.info().items()}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_window"] = None  # a pygame window does not pickle; it reopens on the next render
        return state
