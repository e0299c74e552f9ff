#!/usr/bin/env bash
# Creates/updates the project's virtual environment in .venv with the given extras (default: test).
# Idempotent: a second run only checks what is installed. Usage: bash scripts/setup.sh [extras]
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-test}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The CPU build of torch that lies on this machine's disk: install it before anything that wants torch,
# so no dependency pulls a multi-GB CUDA build (see README, "Installing").
if [[ "$EXTRAS" == *test* || "$EXTRAS" == *train* ]]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$EXTRAS]"
