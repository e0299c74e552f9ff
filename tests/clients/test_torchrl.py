"""TorchRL (a client no one here wrote) drives vlenvs by id: ``GymEnv("vlenvs/Maze2D-v0")`` single and batched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torchrl")

SCRIPT = Path(__file__).with_name("torchrl_script.py")
#: TorchRL 0.14's bug for any batched gym env with a Text observation: ``GymLikeEnv.read_obs`` wraps the batch of
#: strings as one NonTensorData of batch size [] and the rollout fails to stack it; no form of the observation an
#: env can return avoids it. (Gymnasium's AsyncVectorEnv, which ``GymEnv(num_envs=)`` builds, also garbles a Text
#: through its shared memory; vlenvs' InstructionText avoids that.) examples/torchrl_batched_text_repro.py has the
#: vlenvs-free repro and the fixes.
TORCHRL_BATCHED_TEXT_BUG = "shapes of the tensors to stack is incompatible: torch.Size([]) vs torch.Size([2])"


@pytest.fixture(scope="module")
def result() -> dict:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "RL_WARNINGS": "0"}
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


@pytest.mark.slow
def test_gym_env_by_id_single(result):
    single = result["single"]
    assert single["frame_skip"] == 1  # TorchRL caught our TypeError for frameskip and dropped the keyword
    steps = single["batch"][0]
    assert 1 <= steps <= 12 and single["image"] == [steps, 16, 16, 3] and single["dtype"] == "torch.uint8"
    texts = single["instructions"]
    assert len(texts) == steps and all(isinstance(t, str) and t for t in texts)
    if steps == 12:  # no episode end: one instruction throughout
        assert len(set(texts)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("batching", ["serial", "parallel"])
def test_torchrl_batching_keeps_one_instruction_per_env(result, batching):
    # SerialEnv / ParallelEnv of GymEnv(id): the working ways to batch vlenvs in TorchRL 0.14
    batched = result[batching]
    assert batched["batch"] == [2, 6]
    per_env = batched["instructions"]
    assert all(isinstance(t, str) and t.strip() for row in per_env for t in row)
    assert per_env[0] != per_env[1]  # each env's own text, not the batch's


@pytest.mark.slow
def test_native_vector_env_behind_gym_wrapper(result):
    # VectorImageOnly forwards autoreset_mode, which GymWrapper reads as an attribute
    assert result["native"]["batch"] == [3, 40] and result["native"]["dones"] > 0


@pytest.mark.slow
def test_gym_env_num_envs(result):
    batched = result["num_envs"]
    if "error" in batched:  # only TorchRL's own known failure is accepted; anything else is ours
        assert TORCHRL_BATCHED_TEXT_BUG in batched["error"], batched["error"]
    else:  # fixed upstream: each env must then see its own real instruction (not the async env's empty buffer)
        assert batched["batch"] == [2, 6]
        per_env = batched["instructions"]
        assert all(isinstance(t, str) and t.strip() for row in per_env for t in row)
        assert per_env[0] != per_env[1]


@pytest.mark.slow
def test_gym_env_num_envs_works_once_torchrl_reads_a_text_batch_per_env(result):
    # vlenvs' side is complete: with the repro's fix of TorchRL's read_obs (and autoreset_mode=Disabled),
    # GymEnv(id, num_envs=2) gives each env its own instruction, constant within an episode
    fixed = result["num_envs_fixed"]
    assert fixed["batch"] == [2, 7]
    for texts, done in zip(fixed["instructions"], fixed["done"], strict=True):
        assert all(isinstance(t, str) and t.strip() for t in texts)
        assert done[2]  # max_episode_steps=3 at the latest
        for t in range(1, 7):
            if not done[t - 1]:
                assert texts[t] == texts[t - 1]
        assert len(set(texts)) >= 2  # the episode after the first has its own instruction
    assert fixed["instructions"][0][0] != fixed["instructions"][1][0]
