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
    # for any Text observation (examples/torchrl_batched_text_repro.py has the why, a repro and the fix)
    try:
        out["num_envs"] = gym_env_num_envs()
    except Exception as e:  # noqa: BLE001 - reported to the test, which decides
        out["num_envs"] = {"error": f"{type(e).__name__}: {e}"}
    out["num_envs_fixed"] = num_envs_with_torchrl_fixed()
    return out


def gym_env_num_envs(n: int = 2, steps: int = 9, action_seed: int = 2) -> dict:
    """``GymEnv(id, num_envs=n)`` as TorchRL builds it; per env its instructions and, as reference, the same env's.

    ``reference[i]`` lists the instructions of ``gym.make(id)`` reset with seed ``i`` and then reset again, which is
    what env ``i`` of the vector env says after ``set_seed(0)`` (Gymnasium seeds env ``i`` with ``0 + i``).
    The random actions come from torch's generator seeded with ``action_seed`` right before the rollout (the
    earlier worker-process rollouts leave it in a run-dependent state); seed 2 makes episodes end at different
    steps in the two envs (goal reached early), so the rollout goes through TorchRL's partial resets too.
    """
    from torchrl.envs import GymEnv
    from torchrl.envs.utils import check_env_specs

    kw = {**KW, "max_episode_steps": 3}
    env = GymEnv("vlenvs/Maze2D-v0", num_envs=n, **kw)
    check_env_specs(env)
    env.set_seed(0)
    import torch

    torch.manual_seed(action_seed)
    td = env.rollout(steps, break_when_any_done=False)
    env.close()
    reference = []
    for i in range(n):
        single = gym.make("vlenvs/Maze2D-v0", **kw)
        reference.append([single.reset(seed=i)[0]["instruction"]] + [single.reset()[0]["instruction"]
                                                                     for _ in range(steps)])
    return {"batch": list(td.batch_size), "done": td["next", "done"].squeeze(-1).tolist(),
            "instructions": [[td[i, t]["instruction"] for t in range(steps)] for i in range(n)],
            "next_instructions": [[td[i, t]["next", "instruction"] for t in range(steps)] for i in range(n)],
            "reference": reference}


def num_envs_with_torchrl_fixed() -> dict:
    """:func:`gym_env_num_envs` with only the repro's fix of TorchRL's ``read_obs`` (one entry per env).

    Everything else is stock: ``GymEnv``'s AsyncVectorEnv with shared memory (vlenvs' InstructionText keeps its
    text alive there) and ``NextStep`` autoreset. Patches TorchRL for this process: run last.
    """
    from torchrl.envs import GymLikeEnv

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    from torchrl_batched_text_repro import patched_read_obs

    GymLikeEnv._read_obs_eager = GymLikeEnv._read_obs_memo = patched_read_obs
    return gym_env_num_envs()


if __name__ == "__main__":
    result = main()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
