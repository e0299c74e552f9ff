"""Env workers as Ray actors, and a local Ray cluster for tests and benchmarks.

Ray is the distributed engine: :class:`RayWorker` runs the same :class:`~vlenvs_train.rollout.workers.EnvHost`
as a Ray actor wherever the cluster schedules it. Connect with ``ray_address`` (``"auto"``, ``"ray://..."``,
``"HOST:PORT"``); ``None`` lets ``ray.init()`` decide (``RAY_ADDRESS``, a cluster started on this machine with
``ray start``, else a new local instance). Nothing here manages machines: that is ``ray start``'s job.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from vlenvs_train.rollout.workers import EnvHost, WorkerDiedError

_LOCK = threading.Lock()
_ACTOR_CLASS: Any = None
_SERIAL = itertools.count()


def ensure_ray(address: str | None = None) -> Any:
    """Import Ray and connect this process to it (once); returns the ``ray`` module."""
    try:
        import ray
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("the 'ray' backend needs Ray: pip install 'vlenvs[distributed]' (ray>=2.40)") from e
    with _LOCK:
        if not ray.is_initialized():
            extra = {"include_dashboard": False} if address == "local" else {}
            ray.init(address=address, log_to_driver=False, configure_logging=False, **extra)
    return ray


def _actor_class(ray: Any) -> Any:
    global _ACTOR_CLASS
    with _LOCK:
        if _ACTOR_CLASS is None:
            _ACTOR_CLASS = ray.remote(EnvHost)
        return _ACTOR_CLASS


class RayWorker:
    """An :class:`EnvHost` Ray actor. Calls from several threads are fine (the actor runs one at a time).

    Image batches come back zero-copy from Ray's object store, i.e. as read-only arrays.
    """

    def __init__(self, index: int, address: str | None = None, num_cpus: float = 1.0,
                 timeout_s: float = 600.0) -> None:
        self.ray = ensure_ray(address)
        self.timeout_s = timeout_s
        self.actor = _actor_class(self.ray).options(num_cpus=num_cpus, max_restarts=0).remote()
        self.name = f"ray worker {index} (actor #{next(_SERIAL)})"
        self._pid: int | None = None

    def call(self, op: str, *args: Any) -> Any:
        ray = self.ray
        try:
            return ray.get(getattr(self.actor, op).remote(*args), timeout=self.timeout_s)
        except ray.exceptions.RayActorError as e:
            raise WorkerDiedError(f"{self.name} died during {op!r}: {type(e).__name__}") from e
        except ray.exceptions.GetTimeoutError as e:
            self.kill()
            raise WorkerDiedError(f"{self.name} did not answer {op!r} within {self.timeout_s:g} s; killed") from e

    def pid(self) -> int | None:
        if self._pid is None:
            self._pid = int(self.call("pid"))
        return self._pid

    def kill(self) -> None:
        try:
            self.ray.kill(self.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    close = kill


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRayCluster:
    """``ray start --head --block`` on this machine as OUR child process; :meth:`stop` ends exactly that cluster.

    ``ray start --block`` stays in the foreground and shuts down every process it started when it gets
    SIGTERM, so stopping the cluster never touches other users' Ray processes (unlike ``ray stop``).
    Meant for tests and benchmarks: like a plain ``ray start --head`` it runs without Ray's token
    authentication (``RAY_AUTH_MODE=disabled``, also when a ``~/.ray/auth_token`` exists), so that a driver
    connecting with ``ray.init(address=...)`` needs no token.
    """

    def __init__(self, num_cpus: int = 2, port: int | None = None, timeout_s: float = 90.0) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray puts unix sockets in it
        self.log = Path(self.temp_dir) / "ray-start.log"
        ray_cli = Path(sys.executable).with_name("ray")
        cmd = [str(ray_cli), "start", "--head", "--block", f"--port={self.port}", f"--num-cpus={num_cpus}",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={self.temp_dir}",
               f"--ray-client-server-port={free_port()}"]
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        deadline = time.monotonic() + timeout_s
        while "block forever" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = self.log.read_text()
                self.stop()
                raise RuntimeError(f"`ray start --head` did not come up (exit code {self.process.returncode}):\n"
                                   f"{text[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Disconnect this process and stop the cluster's processes (SIGTERM to our ``ray start``, then SIGKILL)."""
        try:
            import ray

            if ray.is_initialized():
                ray.shutdown()
        except ImportError:  # pragma: no cover
            pass
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
