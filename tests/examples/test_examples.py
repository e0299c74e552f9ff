"""Each example script runs end to end on a tiny budget, prints its summary and writes its recordings."""

from __future__ import annotations

import json
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


@pytest.mark.slow
def test_tinker_sdk_example_trains_through_the_service(tmp_path):
    """The SDK-only GRPO loop against `vlenvs-train tinker-serve` (started here, loopback): one iteration."""
    pytest.importorskip("tinker")
    pytest.importorskip("fastapi")
    from vlenvs_train.tinker_api.client import launch_service

    env = {**os.environ, "OMP_NUM_THREADS": "1", "TINKER_TELEMETRY": "0"}
    server, url = launch_service("maze2d_tiny_cpu", str(tmp_path), timeout=180)
    try:
        proc = subprocess.run([sys.executable, str(EXAMPLES / "tinker_sdk_maze2d.py"), "--base-url", url,
                               "--iterations", "1", "--groups", "2", "--group-size", "2",
                               "--eval-episodes", "4", "--seed", "0"], capture_output=True, text=True, timeout=300,
                              env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["iterations"] == 1 and summary["sample_calls"] >= 4
    assert 0.0 <= summary["before"] <= 1.0 and 0.0 <= summary["after"] <= 1.0
    assert "iteration 1: success" in proc.stdout
