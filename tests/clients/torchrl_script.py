"""TorchRL against vlenvs, as a practitioner runs it: ``GymEnv`` by id, single and batched.

Run as a script by ``test_torchrl.py`` (TorchRL's batched envs start worker processes with ``spawn``, which
re-imports this file, hence the ``__main__`` guard); prints one JSON object with what it observed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gymnasium as gym

import vlenvs  # noqa: F401  (registers the ids; spawned workers re-import this file, so they see them too)
from vlenvs.wrappers import VectorImageOnly

KW = {"size": 5, "image_size": 16}


def instructions(td, key=("next", "instruction")) -> list:
    """The instruction strings of a rollout, flattened (a NonTensorStack per step)."""
    value = td.get(key)
    flat = value.tolist() if hasattr(value, "tolist") else list(value)
    while flat and isinstance(flat[0], list):
        flat = [x for row in flat for x in row]
    return flat


def main() -> dict:
    import torch  # here, not at the top: TorchRL's spawned workers re-import this file and need only vlenvs
    from torchrl.envs import GymEnv, GymWrapper, ParallelEnv, SerialEnv
    from torchrl.envs.utils import check_env_specs

    out: dict = {}
    torch.manual_seed(0)
    # single env by id: TorchRL probes with frameskip=1 and falls back on the TypeError
    env = GymEnv("vlenvs/Maze2D-v0", **KW)
    check_env_specs(env)
    td = env.rollout(12)
    out["single"] = {"batch": list(td.batch_size), "image": list(td["next", "image"].shape),
                     "dtype": str(td["next", "image"].dtype), "instructions": instructions(td),
                     "frame_skip": env.wrapper_frame_skip, "reward_sum": float(td["next", "reward"].sum())}
    # the same env batched by TorchRL itself, in-process (SerialEnv) and in worker processes (ParallelEnv, the
    # working parallel path): one instruction per env
    for name, batched_cls in (("serial", SerialEnv), ("parallel", ParallelEnv)):
        batched = batched_cls(2, lambda: GymEnv("vlenvs/Maze2D-v0", **KW))
        check_env_specs(batched)
        td = batched.rollout(6, break_when_any_done=False)
        out[name] = {"batch": list(td.batch_size),
                     "instructions": [[td[i, t]["instruction"] for t in range(6)] for i in range(2)]}
        batched.close()
    # the native vector env (SameStep) behind GymWrapper, through our vector wrapper
    native = GymWrapper(VectorImageOnly(gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, autoreset_mode="SameStep", **KW)))
    check_env_specs(native)
    td = native.rollout(40, break_when_any_done=False)
    out["native"] = {"batch": list(td.batch_size), "dones": int(td["next", "done"].sum())}
    # GymEnv(id, num_envs=N): TorchRL's own AsyncVectorEnv of single envs; fails in TorchRL 0.14's read_obs
    # for any Text observation (examples/torchrl_batched_text_repro.py has the why, a repro and the fixes)
    try:
        batched = GymEnv("vlenvs/Maze2D-v0", num_envs=2, **KW)
        check_env_specs(batched)
        td = batched.rollout(6, break_when_any_done=False)
        out["num_envs"] = {"batch": list(td.batch_size),
                           "instructions": [[td[i, t]["instruction"] for t in range(6)] for i in range(2)]}
        batched.close()
    except Exception as e:  # noqa: BLE001 - reported to the test, which decides
        out["num_envs"] = {"error": f"{type(e).__name__}: {e}"}
    out["num_envs_fixed"] = num_envs_with_torchrl_fixed()
    return out


def num_envs_with_torchrl_fixed() -> dict:
    """``GymEnv(id, num_envs=2)`` with the repro's fix of TorchRL's ``read_obs`` and ``autoreset_mode=Disabled``.

    Shows vlenvs' side is complete (the async env's text included). Patches TorchRL for this process: run last.
    """
    from torchrl.envs import GymEnv, GymLikeEnv
    from torchrl.envs.utils import check_env_specs

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    from torchrl_batched_text_repro import patched_async_env, patched_read_obs

    GymLikeEnv._read_obs_eager = GymLikeEnv._read_obs_memo = patched_read_obs
    GymEnv._async_env = patched_async_env
    env = GymEnv("vlenvs/Maze2D-v0", num_envs=2, max_episode_steps=3, **KW)
    env.set_seed(0)
    check_env_specs(env)
    td = env.rollout(7, break_when_any_done=False)
    env.close()
    return {"batch": list(td.batch_size), "done": td["next", "done"].squeeze(-1).tolist(),
            "instructions": [[td[i, t]["next", "instruction"] for t in range(7)] for i in range(2)]}


if __name__ == "__main__":
    result = main()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
