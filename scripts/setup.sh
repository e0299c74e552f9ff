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
# The trajectory viewer's browser test drives Debian's Chromium (no browser download): install it where we can.
if [[ "$EXTRAS" == *test* ]] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium not found and not root: the viewer's browser test will be skipped (apt-get install chromium)"
  fi
fi
