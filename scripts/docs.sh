#!/usr/bin/env bash
# Builds the docs site (Sphinx + MyST + Furo) into build/docs with warnings as errors.
# Needs the docs extra (scripts/test.sh installs it): bash scripts/setup.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m sphinx -E -a -W --keep-going -q -b html docs build/docs
echo "docs built: build/docs/index.html"
