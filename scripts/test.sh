#!/usr/bin/env bash
# Sets up .venv (test extras) and runs the test suite; then, where the vLLM venv exists
# (scripts/setup_vllm_env.sh builds it), the vLLM-marked tests in it. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/docs.sh   # the docs site, warnings as errors
.venv/bin/python -m pytest -m "not vllm" "$@"
if [ -x .venv-vllm/bin/python ] && .venv-vllm/bin/python -c "import vllm" >/dev/null 2>&1; then
  echo "vLLM found in .venv-vllm: running the vLLM tests"
  .venv-vllm/bin/python -m pytest -m vllm tests/vlenvs_train
else
  echo "vLLM tests not run: no .venv-vllm with vllm installed (build it with: bash scripts/setup_vllm_env.sh)"
fi
