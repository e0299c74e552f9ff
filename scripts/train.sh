#!/usr/bin/env bash
# The main job: sets up .venv (train extras, CPU torch first) and trains the bundled baseline on the
# embedded default: the tiny offline VLM on Maze2D easy, on CPU (SFT from oracle demos, then GRPO, then
# held-out evaluation). Writes runs/maze2d_tiny_cpu/ (learning_curve.png, episodes.gif, metrics).
# Extra arguments go to `vlenvs-train run` (e.g. grpo.iterations=10 out_dir=/tmp/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh train
exec .venv/bin/vlenvs-train run --recipe maze2d_tiny_cpu "$@"
