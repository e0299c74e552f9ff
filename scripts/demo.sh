#!/usr/bin/env bash
# Sets up .venv and runs the main job. Extra arguments go to the job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh human
exec .venv/bin/python -m vlenvs.demo "$@"
