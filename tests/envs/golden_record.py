"""Golden records of whole batched rollouts, so a change that must not alter an env's output (a new option
left at its default) is checked bit for bit against what the env produced before.

Regenerate after an intended change with ``VLENVS_REGEN_GOLDEN=1 python -m pytest <the test>`` and review
the diff of the JSON before committing it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401

REGEN = os.environ.get("VLENVS_REGEN_GOLDEN") == "1"


def rollout_record(env_id: str, kwargs: dict, seed: int, num_envs: int, steps: int,
                   state: Callable[[object], tuple[np.ndarray, ...]]) -> dict:
    """Digests of the instructions, images and ``state(core)`` arrays after the reset and after every step of
    seeded random actions (episodes end and autoreset along the way), and the first instructions verbatim."""
    venv = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    obs, _ = venv.reset(seed=seed)
    venv.action_space.seed(seed)
    images, states, texts = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    first = list(obs["instruction"])
    for t in range(steps + 1):
        texts.update("\n".join(obs["instruction"]).encode() + b"\n")
        images.update(np.ascontiguousarray(obs["image"]).tobytes())
        for a in state(venv.unwrapped.core):
            states.update(np.ascontiguousarray(a).tobytes())
        if t < steps:
            obs, *_ = venv.step(venv.action_space.sample())
    venv.close()
    return {"first_instructions": first, "instructions": texts.hexdigest(), "images": images.hexdigest(),
            "state": states.hexdigest()}


def check_golden(path: Path, records: dict[str, dict], keys: tuple[str, ...]) -> None:
    """Compare ``records`` (name -> record) with the golden file on the given record keys, or rewrite it."""
    if REGEN:
        path.write_text(json.dumps({k: {f: r[f] for f in keys} for k, r in records.items()}, indent=1) + "\n")
        pytest.skip(f"regenerated {path}")
    want = json.loads(path.read_text())
    assert sorted(want) == sorted(records)
    for name, record in records.items():
        for field in keys:
            assert record[field] == want[name][field], f"{name}: {field} differs from the golden record"
