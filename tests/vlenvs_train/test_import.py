from __future__ import annotations

import subprocess
import sys


def test_import_is_light():
    code = ("import sys, vlenvs_train; heavy = [m for m in ('vllm', 'torch', 'transformers', 'httpx') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
