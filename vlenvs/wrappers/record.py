"""Record episodes as GIF or MP4 files, from a single env or chosen envs of a vector env.

Frames come from the observation image (always there, no ``render_mode`` needed) or from ``render()``.
An episode of ``T`` steps gives ``T + 1`` frames: the reset frame, then one per step, the final one
included. Vector envs are handled under every autoreset mode: with ``NextStep`` the observation after a
finished episode is the reset of the next one; with ``SameStep`` the final frame is taken from
``info["final_obs"]``; with ``Disabled`` a new episode starts at ``reset(options={"reset_mask": ...})``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper

from vlenvs.core.config import build_config, check_choice, check_float, check_int
from vlenvs.core.errors import InvalidConfigError, out_of_range
from vlenvs.wrappers._base import check_env_kind, env_name, space_repr
from vlenvs.wrappers.video import WRITERS, mp4_backend

FRAME_SOURCES = ("observation", "render")
FORMATS = ("gif", "mp4")


@dataclass(frozen=True)
class RecordConfig:
    """What to record and how to write it. Validated on construction."""

    folder: str | os.PathLike
    """Folder the files go to (created if missing; files of the same name are overwritten)."""

    episode_trigger: int | Callable[[int], bool] | None = None
    """Which episodes to record, by episode index (from 0, counted per env): ``None`` records every
    episode, an int ``k`` every k-th (0, k, 2k, ...), a callable gets the index and says yes or no."""

    fps: float = 8.0
    """Frames per second of the written file, in (0, 100]."""

    max_frames: int = 1000
    """Most frames kept per episode (reset frame included); later ones are dropped, the file is still
    written when the episode ends."""

    frames: Literal["observation", "render"] = "observation"
    """``"observation"``: the observation's ``image``; ``"render"``: ``env.render()`` (needs
    ``render_mode="rgb_array"``)."""

    format: Literal["gif", "mp4"] = "gif"
    """``"gif"`` (Pillow) or ``"mp4"`` (H.264 through imageio-ffmpeg: ``pip install 'vlenvs[record]'``)."""

    name_prefix: str = "vlenvs"
    """File names are ``{name_prefix}-episode-{k}.{format}`` (``{name_prefix}-env-{i}-episode-{k}`` for vector
    envs). The wrappers default it to the env's id without its namespace, e.g. ``Maze2D-v0``."""

    def __post_init__(self) -> None:
        if not isinstance(self.folder, (str, os.PathLike)) or not str(self.folder):
            raise out_of_range("folder", self.folder, "a non-empty path (str or os.PathLike)")
        trigger = self.episode_trigger
        if not (trigger is None or callable(trigger)):
            check_int("episode_trigger", trigger, 1)
        check_float("fps", self.fps, 0.1, 100.0)
        check_int("max_frames", self.max_frames, 1)
        check_choice("frames", self.frames, FRAME_SOURCES)
        check_choice("format", self.format, FORMATS)
        if not isinstance(self.name_prefix, str) or not self.name_prefix or any(s in self.name_prefix for s in "/\\"):
            raise out_of_range("name_prefix", self.name_prefix, "a non-empty file name part without '/' or '\\'")
        if self.format == "mp4":
            mp4_backend()  # fail now, not at the end of the first episode

    def records(self, episode: int) -> bool:
        """Whether episode ``episode`` (counted from 0) is recorded."""
        trigger = self.episode_trigger
        if trigger is None:
            return True
        if callable(trigger):
            return bool(trigger(episode))
        return episode % int(trigger) == 0

    def path(self, episode: int, env_index: int | None) -> Path:
        """File path of an episode (``env_index`` None for a single env)."""
        env = "" if env_index is None else f"-env-{env_index}"
        return Path(self.folder) / f"{self.name_prefix}{env}-episode-{episode}.{self.format}"


FrameFn = Callable[[int], np.ndarray]


class EpisodeRecorder:
    """Per recorded env: the episode counter and the frames of the episode being recorded."""

    def __init__(self, config: RecordConfig, env_indices: Sequence[int] | None) -> None:
        self.config = config
        self.vector = env_indices is not None
        indices = env_indices if env_indices is not None else (0,)
        self.episodes = dict.fromkeys(indices, 0)
        self.running = dict.fromkeys(indices, False)
        self.frames: dict[int, list[np.ndarray] | None] = dict.fromkeys(indices)
        #: Files written so far, in order.
        self.paths: list[Path] = []

    def start(self, i: int, frame: FrameFn) -> None:
        """Env ``i`` starts an episode (one still running is cut and written first)."""
        self.finish(i)
        self.running[i] = True
        if self.config.records(self.episodes[i]):
            first = np.asarray(frame(i))
            if first.dtype != np.uint8 or first.ndim != 3 or first.shape[2] != 3:
                raise InvalidConfigError(
                    f"invalid frame of shape {first.shape} and dtype {first.dtype} from "
                    f"frames={self.config.frames!r}; expected uint8[H, W, 3]"
                )
            self.frames[i] = [first.copy()]

    def add(self, i: int, frame: FrameFn) -> None:
        """Env ``i`` took a step: keep its frame if this episode is recorded (up to ``max_frames``)."""
        kept = self.frames[i]
        if kept is not None and len(kept) < self.config.max_frames:
            kept.append(np.array(frame(i), dtype=np.uint8, copy=True))

    def finish(self, i: int) -> None:
        """Env ``i``'s episode ended: write it if it was recorded."""
        if not self.running[i]:
            return
        kept = self.frames[i]
        if kept is not None:
            path = self.config.path(self.episodes[i], i if self.vector else None)
            path.parent.mkdir(parents=True, exist_ok=True)
            WRITERS[self.config.format](path, kept, self.config.fps)
            self.paths.append(path)
        self.episodes[i] += 1
        self.running[i] = False
        self.frames[i] = None

    def close(self) -> None:
        """Write every episode still being recorded."""
        for i in self.running:
            self.finish(i)


def lazy_frames(fetch: Callable[[], Any]) -> FrameFn:
    """``frame(i)`` reading item ``i`` of a batch fetched at most once, and only if a frame is wanted."""
    batch: list[Any] = []

    def frame(i: int) -> np.ndarray:
        if not batch:
            batch.append(fetch())
        return batch[0][i]

    return frame


def image_of(obs: Any) -> Any:
    """The image (or batch of images) of an observation: its ``image`` item, or the array itself."""
    return obs["image"] if isinstance(obs, dict) else obs


def make_config(env: Any, folder: str | os.PathLike, kwargs: dict[str, Any]) -> RecordConfig:
    """The wrapper's :class:`RecordConfig`; file names start with the env's id unless ``name_prefix`` says."""
    values = {"folder": folder, "name_prefix": env_name(env).split("/")[-1], **kwargs}
    return build_config(RecordConfig, {}, None, values)


def check_frame_source(config: RecordConfig, obs_space: spaces.Space, render_mode: str | None, name: str) -> None:
    """The chosen frames must exist: an ``uint8[H, W, 3]`` image observation, or ``rgb_array`` rendering."""
    if config.frames == "render":
        if render_mode != "rgb_array":
            raise InvalidConfigError(
                f"invalid render_mode {render_mode!r} of {name} for frames='render'; make the env with "
                "render_mode='rgb_array', or record frames='observation'"
            )
        return
    image = obs_space.spaces.get("image") if isinstance(obs_space, spaces.Dict) else obs_space
    if not (isinstance(image, spaces.Box) and image.dtype == np.uint8 and len(image.shape) == 3
            and image.shape[2] == 3):
        raise InvalidConfigError(
            f"frames='observation' needs an image observation uint8[H, W, 3] (or a Dict with one under 'image'), "
            f"but {name} has {space_repr(obs_space)}; wrap the env before channel-first wrappers, "
            "or record frames='render'"
        )


class RecordEpisodes(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Write each recorded episode of a single env to ``folder`` as a GIF or an MP4.

    Keyword arguments are the fields of :class:`RecordConfig`. Episodes cut short by ``reset()`` or
    ``close()`` are written too. ``wrapper.paths`` lists the files written so far.
    """

    def __init__(self, env: gym.Env, folder: str | os.PathLike, **kwargs: Any) -> None:
        check_env_kind(env, "RecordEpisodes", vector=False)
        gym.utils.RecordConstructorArgs.__init__(self, folder=folder, **kwargs)
        gym.Wrapper.__init__(self, env)
        self.config = make_config(env, folder, kwargs)
        check_frame_source(self.config, env.observation_space, env.render_mode, env_name(env))
        self.recorder = EpisodeRecorder(self.config, None)

    @property
    def paths(self) -> list[Path]:
        """Files written so far, in order."""
        return self.recorder.paths

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.recorder.start(0, self._frames(obs))
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.recorder.add(0, self._frames(obs))
        if terminated or truncated:
            self.recorder.finish(0)
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self.recorder.close()
        super().close()

    def _frames(self, obs: Any) -> FrameFn:
        if self.config.frames == "render":
            return lazy_frames(lambda: (self.env.render(),))
        return lambda i: image_of(obs)


class VectorRecordEpisodes(VectorWrapper):
    """Write each recorded episode of the envs ``env_indices`` of a vector env as a GIF or an MP4.

    Keyword arguments are the fields of :class:`RecordConfig`; the episode trigger counts episodes per
    env. Works under ``NextStep``, ``SameStep`` and ``Disabled`` autoreset (``SameStep`` only with
    ``frames="observation"``: the final frame of a finished episode is then only in ``info["final_obs"]``).
    """

    def __init__(self, env: VectorEnv, folder: str | os.PathLike, *, env_indices: Sequence[int] = (0,),
                 **kwargs: Any) -> None:
        check_env_kind(env, "VectorRecordEpisodes", vector=True)
        super().__init__(env)
        self.config = make_config(env, folder, kwargs)
        name = env_name(env)
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        check_frame_source(self.config, env.single_observation_space, env.render_mode, name)
        if self.config.frames == "render" and self.autoreset_mode == AutoresetMode.SAME_STEP:
            raise InvalidConfigError(
                f"frames='render' cannot record the final frame of an episode with autoreset_mode=SameStep "
                f"({name} resets in the same step); record frames='observation', or use NextStep/Disabled"
            )
        self.env_indices = self._check_indices(env_indices, env.num_envs)
        self.recorder = EpisodeRecorder(self.config, self.env_indices)
        self._pending: set[int] = set()  # NextStep: the next observation starts a new episode

    @property
    def paths(self) -> list[Path]:
        """Files written so far, in order."""
        return self.recorder.paths

    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        mask = (options or {}).get("reset_mask")
        frames = self._frames(obs)
        for i in self.env_indices:
            if mask is None or mask[i]:
                self._pending.discard(i)
                self.recorder.start(i, frames)
        return obs, info

    def step(self, actions: Any):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        done = np.logical_or(terminated, truncated)
        frames = self._frames(obs)
        for i in self.env_indices:
            if i in self._pending:
                self._pending.discard(i)
                self.recorder.start(i, frames)
            elif done[i] and self.autoreset_mode == AutoresetMode.SAME_STEP:
                self.recorder.add(i, lambda j: image_of(info["final_obs"][j]))
                self.recorder.start(i, frames)  # writes the finished episode first
            else:
                self.recorder.add(i, frames)
                if done[i]:
                    self.recorder.finish(i)
                    if self.autoreset_mode == AutoresetMode.NEXT_STEP:
                        self._pending.add(i)
        return obs, reward, terminated, truncated, info

    def close(self, **kwargs: Any) -> None:
        self.recorder.close()
        super().close(**kwargs)

    def _frames(self, obs: Any) -> FrameFn:
        if self.config.frames == "render":
            return lazy_frames(self.env.render)
        return lambda i: image_of(obs)[i]

    @staticmethod
    def _check_indices(env_indices: Sequence[int], num_envs: int) -> tuple[int, ...]:
        valid = f"a non-empty sequence of distinct env indices in 0..{num_envs - 1}"
        if isinstance(env_indices, (str, bytes)) or not isinstance(env_indices, Sequence) or not env_indices:
            raise out_of_range("env_indices", env_indices, valid)
        indices = tuple(check_int("env index", i, 0, num_envs - 1) for i in env_indices)
        if len(set(indices)) != len(indices):
            raise out_of_range("env_indices", env_indices, valid)
        return indices
