"""The upstream repro of ``GymEnv(id, num_envs=N)`` with a Text observation: fails stock, works with its fixes.

When TorchRL or Gymnasium fix their side, ``test_stock_libraries_fail_on_a_batched_text_observation`` fails:
that is the signal to make ``tests/clients/test_torchrl.py::test_gym_env_num_envs`` require the batched path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torchrl")

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "torchrl_batched_text_repro.py"
WORD = re.compile(r"word\d+")


def run_repro(*args: str) -> tuple[int, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RL_WARNINGS": "0"}
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env=env)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, proc.stderr[-3000:]
    return proc.returncode, json.loads(line.removeprefix("RESULT "))


@pytest.mark.slow
def test_stock_libraries_fail_on_a_batched_text_observation():
    rc, out = run_repro()
    assert rc == 1
    # Gymnasium's contract: a tuple of one str per env (sync), but the default async env (shared memory) returns
    # the never-written buffer decoded: the charset's first character, repeated, the same for every env
    assert len(out["sync"]) == 2 and all(WORD.fullmatch(t) for t in out["sync"])
    assert len(set(out["async"])) == 1 and set(out["async"][0]) == {"0"}
    # TorchRL's read_obs wraps the batch as one NonTensorData of batch size []
    assert "The shapes of the tensors to stack is incompatible: torch.Size([]) vs torch.Size([2]) for key text" \
        in out["error"]


@pytest.mark.slow
def test_the_proposed_fixes_give_each_env_its_own_text():
    rc, out = run_repro("--patched")
    assert rc == 0 and out["batch"] == [2, 4]
    texts = out["texts"]  # env i, step t; episodes last 3 steps, then env i resets
    for row in texts:
        assert all(WORD.fullmatch(t) for t in row)
        assert row[0] == row[1] == row[2] != row[3]  # one text per episode, a new one after the reset
    assert texts[0][0] != texts[1][0]  # each env's own text, not the batch's
