"""The batched core every vlenvs env implements once.

A core holds the state of ``num_envs`` environments as arrays with a leading ``num_envs`` axis and
implements reset/step/observe for a subset of them. The single env (:mod:`vlenvs.core.single`) is a
core with ``num_envs=1``; the native vector env (:mod:`vlenvs.core.vector`) drives the same core, so
single and vector dynamics cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from vlenvs.core.errors import InvalidActionError, InvalidConfigError, out_of_range
from vlenvs.core.prefetch import EpisodeQueue


class BatchedCore(ABC):
    """Dynamics, observations and rendering of ``num_envs`` environments, written once, batched."""

    #: Human-readable name of each discrete action, indexed by action id (``()`` for text actions).
    action_names: tuple[str, ...] = ()
    #: Config dataclass of this env.
    config_cls: ClassVar[type]
    #: Named presets: preset name -> config overrides.
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    #: Episodes generated ahead from the envs' generators, if the env uses :mod:`vlenvs.core.prefetch`.
    queue: EpisodeQueue | None = None

    def __init__(self, config: Any, num_envs: int) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise out_of_range("num_envs", num_envs, "an integer >= 1")
        if not isinstance(config, self.config_cls):
            raise InvalidConfigError(f"expected a {self.config_cls.__name__}, got {type(config).__name__}")
        self.config = config
        self.num_envs = int(num_envs)
        #: One generator per env: env ``i`` of a vector env seeded with ``s`` equals a single env seeded ``s+i``.
        self.rngs: list[np.random.Generator] = [seeding.np_random()[0] for _ in range(self.num_envs)]

    # ----------------------------------------------------------------- spaces
    @property
    @abstractmethod
    def single_observation_space(self) -> spaces.Dict:
        """Observation space of one env."""

    @property
    def single_action_space(self) -> spaces.Space:
        """Action space of one env (``Discrete`` over :attr:`action_names` by default)."""
        return spaces.Discrete(len(self.action_names))

    # ------------------------------------------------------------------ seeding
    def seed(self, seed: int | Sequence[int | None] | None) -> None:
        """Re-seed every env: an int ``s`` gives env ``i`` the seed ``s + i``; a list gives one per env."""
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seeds = [int(seed) + i for i in range(self.num_envs)]
        elif isinstance(seed, Sequence) and not isinstance(seed, str) and len(seed) == self.num_envs:
            seeds = list(seed)
        else:
            raise out_of_range("seed", seed, f"None, an int, or a sequence of {self.num_envs} ints/None")
        self.rngs = [seeding.np_random(s)[0] for s in seeds]
        self.on_reseed(slice(None))

    def set_rng(self, i: int, rng: np.random.Generator) -> None:
        """Make ``rng`` env ``i``'s generator (the single env shares its ``np_random`` this way)."""
        self.rngs[i] = rng
        self.on_reseed(np.array([i]))

    def on_reseed(self, idx: np.ndarray | slice) -> None:
        """The generators of envs ``idx`` were replaced: drop the episodes drawn ahead from the old ones."""
        if self.queue is not None:
            self.queue.clear(idx)

    def uniforms(self, idx: np.ndarray, count: int) -> np.ndarray:
        """Draw ``count`` uniforms for each env in ``idx`` from that env's own generator, as float64[n, count]."""
        out = np.empty((len(idx), count))
        for row, i in enumerate(idx):
            out[row] = self.rngs[i].random(count)
        return out

    # ------------------------------------------------------------------ actions
    def validate_actions(self, actions: Any) -> np.ndarray:
        """Check a batch of discrete actions and return it as ``int64[num_envs]``."""
        n = len(self.action_names)
        arr = np.asarray(actions)
        if arr.shape != (self.num_envs,):
            raise InvalidActionError(
                f"invalid actions of shape {arr.shape}; expected shape ({self.num_envs},) with values in "
                f"0..{n - 1} ({', '.join(f'{i}={a}' for i, a in enumerate(self.action_names))})"
            )
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise InvalidActionError(
                    f"invalid actions {arr!r} of dtype {arr.dtype}; expected integers in 0..{n - 1} "
                    f"({', '.join(f'{i}={a}' for i, a in enumerate(self.action_names))})"
                )
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            bad = arr[(arr < 0) | (arr >= n)][0]
            raise InvalidActionError(
                f"invalid action {int(bad)}; valid actions are 0..{n - 1} "
                f"({', '.join(f'{i}={a}' for i, a in enumerate(self.action_names))})"
            )
        return arr.astype(np.int64, copy=False)

    # ------------------------------------------------------------ the dynamics
    @abstractmethod
    def reset_envs(self, idx: np.ndarray) -> None:
        """Start a new episode in each env of ``idx`` (int array), drawing randomness from ``self.rngs``."""

    @abstractmethod
    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance the envs where ``active`` is True; return ``(reward f64, terminated, truncated)`` [N]."""

    @abstractmethod
    def images(self) -> np.ndarray:
        """The current image of every env, ``uint8[N, H, W, 3]`` (the core's own buffer: copy to keep)."""

    @abstractmethod
    def instructions(self) -> tuple[str, ...]:
        """The current instruction text of every env."""

    @abstractmethod
    def info(self) -> dict[str, np.ndarray]:
        """Per-env info arrays (each of length N) describing the current state and last step."""

    @abstractmethod
    def render_text(self, i: int) -> str:
        """A text rendering of env ``i`` that a language model can read."""

    def render_rgb(self) -> np.ndarray:
        """RGB frames of every env, ``uint8[N, H, W, 3]``; the observation image unless overridden."""
        return self.images()


class CoreAccess:
    """What the single and the vector env both expose from their core."""

    core: BatchedCore

    @property
    def action_names(self) -> tuple[str, ...]:
        """Name of each discrete action, indexed by action id."""
        return self.core.action_names

    @property
    def config(self) -> Any:
        """The env's validated config dataclass."""
        return self.core.config
