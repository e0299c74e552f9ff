"""A Stable-Baselines3 ``VecEnv`` over a Gymnasium vector env, so SB3 steps the native batched env.

SB3's own ``DummyVecEnv`` steps ``n`` single envs one by one; this adapter hands SB3 the whole batch
of a ``gym.make_vec`` env in one call. SB3 expects the reset observation in the step that ends an
episode (the final one in ``info["terminal_observation"]``), which is Gymnasium's ``SameStep``
autoreset, so make the env with ``autoreset_mode="SameStep"``::

    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=8, autoreset_mode="SameStep", preset="easy")
    model = PPO("CnnPolicy", VecMonitor(SB3VecEnv(VectorImageOnly(venv))))
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.wrappers.vector import DictInfoToList

from vlenvs.core.errors import InvalidConfigError
from vlenvs.wrappers._base import check_discrete_actions, check_env_kind, env_name, space_repr

try:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices
except ImportError:  # pragma: no cover - depends on the install
    raise ImportError("SB3VecEnv needs Stable-Baselines3: pip install 'vlenvs[sb3]'") from None


def _check_array_space(space: spaces.Space, name: str) -> None:
    parts = space.spaces.values() if isinstance(space, spaces.Dict) else [space]
    if not all(isinstance(p, spaces.Box) for p in parts):
        raise InvalidConfigError(
            f"SB3VecEnv needs array observations (a Box, or a Dict of Boxes), but {name} has {space_repr(space)}; "
            "wrap the env with VectorImageOnly or VectorInstructionIds first"
        )


class SB3VecEnv(VecEnv):
    """Stable-Baselines3 ``VecEnv`` over a Gymnasium ``VectorEnv`` with ``SameStep`` autoreset.

    ``infos[i]`` has ``TimeLimit.truncated``; per finished env it is the info of its last step plus
    ``terminal_observation`` and, where the env reports ``success``, SB3's ``is_success``; the info of the
    new episode's reset goes to ``reset_infos[i]`` (as in SB3's ``DummyVecEnv``). ``seed(s)`` seeds env
    ``i`` with ``s + i`` at the next reset, like SB3 and like ``gym.make_vec`` envs. A batched env is one
    object, so ``get_attr``/``env_method`` read the vector env's attribute once and repeat it per index.
    """

    def __init__(self, env: VectorEnv) -> None:
        check_env_kind(env, "SB3VecEnv", vector=True, other="SB3's DummyVecEnv or make_vec_env")
        name = env_name(env)
        mode = env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise InvalidConfigError(
                f"invalid autoreset_mode {getattr(mode, 'value', mode)!r} of {name}; SB3VecEnv needs 'SameStep' "
                "(SB3 expects the reset observation in the step that ends an episode): "
                "gym.make_vec(env_id, num_envs=n, autoreset_mode='SameStep', ...)"
            )
        _check_array_space(env.single_observation_space, name)
        check_discrete_actions(env.single_action_space, name, "SB3VecEnv")
        self.env = DictInfoToList(env)
        self._actions: np.ndarray | None = None
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

    def reset(self) -> Any:
        seeds = list(self._seeds) if any(s is not None for s in self._seeds) else None
        options = self._options[0] or None
        if any(o != self._options[0] for o in self._options):
            raise InvalidConfigError(
                f"invalid options {self._options}; a batched env takes one options dict for all envs"
            )
        obs, self.reset_infos = self.env.reset(seed=seeds, options=options)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, reward, terminated, truncated, infos = self.env.step(self._actions)
        dones = np.logical_or(terminated, truncated)
        time_limit = np.logical_and(truncated, np.logical_not(terminated))
        for i in np.flatnonzero(dones):
            reset_info = infos[i]
            final_obs, final_info = reset_info.pop("final_obs"), reset_info.pop("final_info")
            self.reset_infos[i] = reset_info
            infos[i] = {**final_info, "terminal_observation": final_obs}
            if "success" in final_info:
                infos[i]["is_success"] = bool(final_info["success"])
        for info, truncated_only in zip(infos, time_limit.tolist()):
            info["TimeLimit.truncated"] = truncated_only
        return obs, np.asarray(reward, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(f"render_mode is {self.render_mode!r}; get_images needs 'rgb_array'", stacklevel=2)
            return [None] * self.num_envs
        return list(self.env.render())

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        inner = self.env.env  # the wrapped VectorEnv (outermost user wrapper first), then the unwrapped one
        value = getattr(inner, attr_name) if hasattr(inner, attr_name) else getattr(self.env.unwrapped, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if len(list(self._get_indices(indices))) != self.num_envs:
            raise InvalidConfigError(
                f"invalid indices {indices!r} for set_attr; a batched env sets attributes for all envs at once"
            )
        setattr(self.env.unwrapped, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        result = self.get_attr(method_name, 0)[0](*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
