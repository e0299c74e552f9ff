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
