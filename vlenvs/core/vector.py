"""The native vector env: one process, one batched core, Gymnasium 1.x vector contract."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from vlenvs.core.batched import BatchedCore, CoreAccess
from vlenvs.core.config import build_config, check_int
from vlenvs.core.errors import InvalidConfigError, ResetNeededError, invalid_choice

RENDER_MODES = ("rgb_array", "ansi")


def _autoreset_mode(value: Any) -> AutoresetMode:
    if isinstance(value, AutoresetMode):
        mode = value
    else:
        try:
            mode = AutoresetMode(value)
        except ValueError:
            raise invalid_choice("autoreset_mode", value, [m.value for m in AutoresetMode]) from None
    return mode


def with_masks(info: dict[str, Any], mask: np.ndarray | None = None) -> dict[str, Any]:
    """Add Gymnasium's ``_key`` mask beside every key (all envs have every key unless ``mask`` says)."""
    out: dict[str, Any] = {}
    if mask is None:
        mask = np.ones(len(next(iter(info.values()))), dtype=bool)
    mask.flags.writeable = False  # one read-only mask shared by all keys
    for key, value in info.items():
        out[key] = value
        out[f"_{key}"] = mask
    return out


class NativeVectorEnv(CoreAccess, VectorEnv):
    """A :class:`gymnasium.vector.VectorEnv` that steps all envs of a :class:`BatchedCore` at once.

    Args:
        num_envs: number of envs in the batch.
        autoreset_mode: ``"NextStep"`` (default), ``"SameStep"`` or ``"Disabled"`` (see Gymnasium's docs).
        render_mode: ``"rgb_array"`` or ``"ansi"``: ``render()`` returns one frame ``uint8[H,W,3]`` / one text
            per env, as a tuple (the contract of Gymnasium's own vector envs and its vector ``RecordVideo``).
        copy: return a copy of the image batch (default). ``False`` returns the core's persistent buffer,
            which later steps overwrite in place: fastest, but copy what you keep.
        preset: a named config preset of the env; other keyword arguments override its fields.
        max_episode_steps: truncate every episode after this many steps, as ``gym.make``'s ``TimeLimit`` does
            (``gym.make_vec`` passes the registry's or the caller's value); ``None``: only the env's own limit.

    ``info`` follows Gymnasium's vector convention (a ``_key`` mask beside every key); in the step that ends
    an episode it also has ``is_success`` (the env's ``success``, masked to the finished envs; under
    ``SameStep`` it is in ``final_info``), as the single env reports it for Stable-Baselines3.
    """

    core_cls: ClassVar[type[BatchedCore]]

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        copy: bool = True,
        preset: str | None = None,
        max_episode_steps: int | None = None,
        **config_kwargs: Any,
    ) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise invalid_choice("render_mode for a vector env", render_mode, RENDER_MODES)
        if max_episode_steps is not None:
            check_int("max_episode_steps", max_episode_steps, 1)
        self.max_episode_steps = max_episode_steps
        """Steps after which an episode is truncated on top of the env's own limit (``None``: no extra limit)."""
        config = build_config(self.core_cls.config_cls, self.core_cls.presets, preset, config_kwargs)
        self.core = self.core_cls(config, num_envs)
        self.num_envs = self.core.num_envs
        self.autoreset_mode = _autoreset_mode(autoreset_mode)
        self.metadata = {"render_modes": list(RENDER_MODES), "autoreset_mode": self.autoreset_mode}
        self.render_mode = render_mode
        self.copy = bool(copy)
        self.single_observation_space = self.core.single_observation_space
        self.single_action_space = self.core.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._needs_reset = np.ones(self.num_envs, dtype=bool)  # episode over (or never started)
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)  # steps of each env's current episode
        self._started = False

    # ------------------------------------------------------------------ API
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """Reset all envs, or those in ``options["reset_mask"]``; ``seed=s`` seeds env ``i`` with ``s+i``."""
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if options:
            raise invalid_choice("reset option", next(iter(options)), ["reset_mask"])
        if seed is not None or not self._started:
            self.core.seed(seed)
            if seed is not None:
                super().reset(seed=seed if isinstance(seed, int) else None)
        if mask is None:
            idx = np.arange(self.num_envs)
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != bool:
                raise InvalidConfigError(
                    f"invalid reset_mask of shape {mask.shape} and dtype {mask.dtype}; "
                    f"expected a bool array of shape ({self.num_envs},)"
                )
            if not self._started and not mask.all():
                raise ResetNeededError("the first reset must reset every env; call reset() without reset_mask")
            idx = np.flatnonzero(mask)
        self.core.reset_envs(idx)
        self._needs_reset[idx] = False
        self._elapsed[idx] = 0
        self._started = True
        return self._obs(), with_masks(self.core.info())

    def step(self, actions: Any):
        """Step every env; finished envs reset as ``metadata["autoreset_mode"]`` says."""
        if not self._started:
            raise ResetNeededError("step() called before reset(); call reset() first")
        actions = self.core.validate_actions(actions)
        mode = self.autoreset_mode
        if mode == AutoresetMode.NEXT_STEP:
            reset_idx = np.flatnonzero(self._needs_reset)
            if reset_idx.size:
                self.core.reset_envs(reset_idx)
                self._elapsed[reset_idx] = 0
            active = ~self._needs_reset
        else:
            if mode == AutoresetMode.DISABLED and self._needs_reset.any():
                bad = np.flatnonzero(self._needs_reset).tolist()
                raise ResetNeededError(
                    f"envs {bad} finished their episode; with autoreset_mode=Disabled call "
                    "reset(options={'reset_mask': mask}) for them before stepping"
                )
            active = np.ones(self.num_envs, dtype=bool)
        reward, terminated, truncated = self.core.step(actions, active)
        self._elapsed[active] += 1
        if self.max_episode_steps is not None:  # gymnasium's TimeLimit: truncated once the limit is reached
            truncated = truncated | (active & (self._elapsed >= self.max_episode_steps))
        done = terminated | truncated
        self._needs_reset = done.copy()
        info = with_masks(self.core.info())
        if done.any() and "success" in info:
            info["is_success"], info["_is_success"] = np.logical_and(info["success"], done), done.copy()
        if mode == AutoresetMode.SAME_STEP and done.any():
            info = self._same_step_reset(done, info)
        return self._obs(), reward, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | tuple[str, ...] | None:
        """One frame ``uint8[H,W,3]`` per env (``rgb_array``) or one text per env (``ansi``), as a tuple."""
        if self.render_mode == "rgb_array":
            return tuple(self.core.render_rgb().copy())
        if self.render_mode == "ansi":
            return tuple(self.core.render_text(i) for i in range(self.num_envs))
        return None

    # ------------------------------------------------------------ internals
    def _obs(self) -> dict[str, Any]:
        images = self.core.images()
        return {"image": images.copy() if self.copy else images, "instruction": self.core.instructions()}

    def _same_step_reset(self, done: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        idx = np.flatnonzero(done)
        images, texts = self.core.images(), self.core.instructions()
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in idx:
            final_obs[i] = {"image": images[i].copy(), "instruction": texts[i]}
        final_info = with_masks({k: v for k, v in info.items() if not k.startswith("_")}, done.copy())
        self.core.reset_envs(idx)
        self._needs_reset[idx] = False
        self._elapsed[idx] = 0
        info = with_masks(self.core.info())
        info["final_obs"], info["_final_obs"] = final_obs, done.copy()
        info["final_info"], info["_final_info"] = final_info, done.copy()
        return info

