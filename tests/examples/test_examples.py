"""Each example script runs end to end on a tiny budget, prints its summary and writes its recordings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TINY = ["--total-timesteps", "256", "--num-envs", "4", "--eval-episodes", "8", "--threads", "1"]
SCRIPTS = {"sb3_ppo_maze2d.py": "stable_baselines3", "cleanrl_ppo_maze2d.py": "torch"}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_runs_and_prints_its_summary(script, tmp_path):
    pytest.importorskip(SCRIPTS[script])
    args = [*TINY, "--record", str(tmp_path)] + (["--num-steps", "16"] if script.startswith("cleanrl") else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert summary.startswith("summary: library=")
    fields = dict(re.findall(r"(\w+)=([\w.]+)", summary))
    assert int(fields["timesteps"]) >= 256
    for key in ("success_before", "success_after"):
        assert 0.0 <= float(fields[key]) <= 1.0
    assert sorted(tmp_path.glob("*.gif")), "--record wrote no GIF"


@pytest.mark.slow
def test_rllib_example_trains_an_iteration_with_a_remote_env_runner():
    pytest.importorskip("ray.rllib")
    pytest.importorskip("tree")  # dm-tree: one of RLlib's own dependencies (the rllib extra)
    args = ["--iterations", "1", "--batch-size", "128", "--num-envs", "2", "--num-env-runners", "1",
            "--image-size", "16"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_DEDUP_LOGS": "0"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "rllib_ppo_maze2d.py"), *args], capture_output=True,
                          text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"^iteration 1: steps \d+", proc.stdout, re.M), proc.stdout[-2000:]
    fields = dict(re.findall(r"(\w+)=([\w.]+)", proc.stdout.strip().splitlines()[-1]))
    assert fields["library"] == "rllib" and int(fields["timesteps"]) >= 128
    # episodes ended in the remote runner (which found the env by its registered name) and reported is_success
    assert 0.0 <= float(fields["success_rate"]) <= 1.0
