"""Upstream-ready repro: TorchRL's ``GymEnv(id, num_envs=N)`` cannot carry a ``gymnasium.spaces.Text`` observation.

No vlenvs inside: a small Gymnasium env with ``Dict(x=Box, text=Text)`` observations. Run::

    python examples/torchrl_batched_text_repro.py            # stock libraries: fails (exit 1)
    python examples/torchrl_batched_text_repro.py --patched  # with the two fixes below: works (exit 0)

Written against torchrl 0.14.1, tensordict 0.14.3, gymnasium 1.4.0. ``GymEnv(id, num_envs=N)`` builds
``gymnasium.vector.AsyncVectorEnv([partial(gym.make, id, **kwargs)] * N)`` itself (torchrl/envs/libs/gym.py,
``GymEnv._build_env`` / ``_async_env``), so nothing the env or its own vector env declares reaches that path;
Gymnasium batches the ``Text`` space as ``Tuple(Text, ...)`` and returns a tuple of N ``str``. Two bugs:

1. TorchRL (0.14.1, and its main branch as of 2026-08, commit ae9719f). ``convert_tuple_spec`` turns that space
   into ``NonTensor(shape=[N])`` (right), but ``GymLikeEnv._read_obs_eager`` (torchrl/envs/gym_like.py:388-389,
   ``observations[key] = NonTensorData(val)`` under ``isinstance(self.observation_spec[key], NonTensor)``) and
   the ``process_dict`` closure of ``_read_obs_memo`` (:416-417) wrap the whole tuple as ONE ``NonTensorData`` of
   batch size ``[]``. ``_reset``'s ``TensorDict(source, batch_size=[N])`` (:540) broadcasts it (every env gets the
   whole tuple); ``_step`` does too on its first call (:490) but then uses ``TensorDict._new_unsafe`` (:499),
   which keeps ``[]``, and the rollout's ``torch.stack`` fails: ``RuntimeError: The shapes of the tensors to
   stack is incompatible: torch.Size([]) vs torch.Size([N]) for key text``. No space an env can declare avoids
   it: every TorchRL spec that holds strings is a ``NonTensor`` (``NonTensor.encode`` would not split a batch
   either), and a ``Tuple`` of unequal specs becomes a ``Stacked`` spec whose ``encode`` is unset.
   Minimal fix, in both places: for a ``NonTensor`` spec whose leading dim is the env's batch, store
   ``NonTensorStack.from_list(list(val))`` (one entry per env) instead of ``NonTensorData(val)``;
   ``patched_read_obs`` below. That fix alone makes vlenvs' ``GymEnv(id, num_envs=N)`` work
   (tests/clients/test_torchrl.py).
2. Gymnasium. ``AsyncVectorEnv(shared_memory=True)`` (the default, and what ``GymEnv`` makes) reads its
   observation buffer once, in ``__init__`` (``self.observations = read_from_shared_memory(...)``); for ``Box``
   that is a live view, for ``Text`` it is a tuple of str decoded from the still-empty buffer, so every
   reset/step returns that same text (the first character of the charset, repeated). Related: Gymnasium #1164.
   ``shared_memory=False`` avoids it; vlenvs' ``InstructionText`` (vlenvs/core/spaces.py) fixes it for its envs.

With both fixed, ``NextStep`` autoreset (what ``GymEnv`` builds, though ``GymWrapper._validate_env`` accepts only
``SameStep`` or ``Disabled``) still loses the final observation at episode ends, for every key: ``VecGymEnvTransform``
puts ``spec.zero()`` where it belongs (zeros for a ``Box``, the ``example_data`` "a string" for a ``Text``);
``autoreset_mode=Disabled``, which TorchRL's own check prefers, gives the right text per env and step.
``patched_async_env`` sets both keywords.
"""

from __future__ import annotations

import json
import sys

import gymnasium as gym
import numpy as np

ENV_ID = "TextRepro-v0"
N = 2


class TextEnv(gym.Env):
    """Each episode says its own word; 3 steps long."""

    observation_space = gym.spaces.Dict({"x": gym.spaces.Box(-1, 1, (1,), np.float32), "text": gym.spaces.Text(16)})
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):  # Python's TypeError for TorchRL's frameskip probe
        self.render_mode = render_mode

    def _obs(self):
        return {"x": np.zeros(1, np.float32), "text": self.word}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.word, self.t = f"word{self.np_random.integers(10**9)}", 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, self.t >= 3, False, {}


def patched_read_obs(self, observations):
    """The proposed fix of ``GymLikeEnv._read_obs_eager`` for dict observations: one entry per env."""
    from tensordict import NonTensorData, NonTensorStack
    from torchrl.data import NonTensor

    for key, val in observations.items():
        spec = self.observation_spec[key]
        if not isinstance(spec, NonTensor):
            observations[key] = spec.encode(val, ignore_device=True)
        elif self.batch_size and spec.shape[:1] == self.batch_size[:1] and len(val) == self.batch_size[0]:
            observations[key] = NonTensorStack.from_list(list(val))  # a batch: one string per env
        else:
            observations[key] = NonTensorData(val)
    return observations


def patched_async_env(self, *args, **kwargs):
    """``GymEnv._async_env`` without Gymnasium's shared memory (bug 2) and with the autoreset TorchRL expects."""
    kwargs.setdefault("shared_memory", False)
    kwargs.setdefault("autoreset_mode", gym.vector.AutoresetMode.DISABLED)
    return gym.vector.AsyncVectorEnv(*args, **kwargs)


def main(patched: bool) -> dict:
    """What each step shows; ``"error"`` if TorchRL failed."""
    from torchrl.envs import GymEnv, GymLikeEnv
    from torchrl.envs.utils import check_env_specs

    if patched:
        GymLikeEnv._read_obs_eager = patched_read_obs
        GymLikeEnv._read_obs_memo = patched_read_obs
        GymEnv._async_env = patched_async_env
    out = {}
    venv = gym.make_vec(ENV_ID, num_envs=N, vectorization_mode="sync")
    out["sync"] = venv.reset(seed=0)[0]["text"]  # a tuple of N str
    venv = gym.make_vec(ENV_ID, num_envs=N, vectorization_mode="async")  # shared memory, as GymEnv makes it
    out["async"] = venv.reset(seed=0)[0]["text"]  # bug 2: the empty buffer's text
    venv.close()
    try:
        env = GymEnv(ENV_ID, num_envs=N)
        check_env_specs(env)
        td = env.rollout(4, break_when_any_done=False)
        env.close()
    except RuntimeError as err:
        out["error"] = str(err)
    else:
        out["batch"] = list(td.batch_size)
        out["texts"] = [[td[i, t]["next", "text"] for t in range(4)] for i in range(N)]  # env i, step t
    return out


gym.register(ENV_ID, entry_point=TextEnv)

if __name__ == "__main__":
    result = main(patched="--patched" in sys.argv)
    print("RESULT " + json.dumps(result))
    sys.exit(1 if "error" in result else 0)
