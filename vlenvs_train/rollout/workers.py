"""Env workers: vector-env shards stepped and rendered away from the policy, behind one small interface.

A worker hosts one or more *shards* (each a vlenvs vector env of ``k`` envs built from a picklable
:class:`EnvFactory`) in an :class:`EnvHost`, and answers ``open``/``reset``/``step``/``close_shard`` calls
with compact numpy results. Three backends, one :class:`WorkerHandle` protocol:

- ``inline``: the host lives in this process (synchronous baseline, tests, cheap envs);
- ``process``: a local process (``forkserver``/``spawn``), commands over a pipe, image batches through a
  shared-memory block per shard (one ``memcpy`` each way instead of pickling megabytes through the pipe);
- ``ray``: the same :class:`EnvHost` as a Ray actor (:mod:`vlenvs_train.rollout.ray_workers`), on any
  machine of a Ray cluster.

A worker that dies (killed process, dead actor, no reply within the timeout) raises
:class:`WorkerDiedError`; :class:`WorkerPool` replaces it and counts the restart.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import Any, Literal, Protocol

import numpy as np

from vlenvs.core.errors import VlenvsError, invalid_choice
from vlenvs_train.rollout.envs import EnvFactory, ShardInfo, ShardView

__all__ = ["BACKENDS", "START_METHODS", "EnvFactory", "EnvHost", "ShardInfo", "ShardView", "WorkerDiedError",
           "WorkerError", "WorkerPool", "WorkerSettings", "WorkerStartError", "start_worker"]

log = logging.getLogger(__name__)

BACKENDS = ("inline", "process", "ray")
START_METHODS = ("forkserver", "spawn")
Backend = Literal["inline", "process", "ray"]


class WorkerDiedError(VlenvsError, RuntimeError):
    """An env worker is gone (process killed, Ray actor died, or no reply within the timeout)."""


class WorkerError(VlenvsError, RuntimeError):
    """An error raised inside a worker that could not be sent back as itself (the message keeps its text)."""


class WorkerStartError(WorkerError):
    """A worker process died before answering its first request: replacing it would fail the same way."""

    HINT = ("the usual cause is a script that starts process workers without an `if __name__ == \"__main__\":` "
            "guard (worker processes import the main module, which then starts workers again)")


class EnvHost:
    """The env shards of one worker, by shard number. The same class runs inline, in a process, or as a Ray actor."""

    def __init__(self) -> None:
        self._envs: dict[int, Any] = {}

    def open(self, shard: int, factory: EnvFactory, num_envs: int) -> ShardInfo:
        """(Re)build shard ``shard`` as ``factory.make(num_envs)``."""
        self.close_shard(shard)
        self._envs[shard] = factory.make(num_envs)
        return ShardInfo.of(self._envs[shard])

    def reset(self, shard: int, seed: int | list[int] | None = None, mask: np.ndarray | None = None):
        """``env.reset(seed=seed)``, or only the envs of ``mask`` (``reset_mask``)."""
        options = None if mask is None else {"reset_mask": np.asarray(mask, dtype=bool)}
        return self._env(shard).reset(seed=seed, options=options)

    def step(self, shard: int, actions: Any):
        return self._env(shard).step(actions)

    def close_shard(self, shard: int) -> None:
        env = self._envs.pop(shard, None)
        if env is not None:
            env.close()

    def close(self) -> None:
        for shard in list(self._envs):
            self.close_shard(shard)

    def pid(self) -> int:
        return os.getpid()

    def _env(self, shard: int) -> Any:
        if shard not in self._envs:
            raise invalid_choice("shard", shard, sorted(self._envs))
        return self._envs[shard]


class WorkerHandle(Protocol):
    """The driver's handle on one worker; ``call`` raises :class:`WorkerDiedError` if the worker is gone."""

    name: str

    def call(self, op: str, *args: Any) -> Any: ...

    def pid(self) -> int | None: ...

    def kill(self) -> None: ...

    def close(self) -> None: ...


class InlineWorker:
    """An :class:`EnvHost` in this process (never dies; shards on it run in the caller's thread)."""

    def __init__(self, index: int) -> None:
        self.name, self.host = f"inline worker {index}", EnvHost()

    def call(self, op: str, *args: Any) -> Any:
        return getattr(self.host, op)(*args)

    def pid(self) -> int | None:
        return os.getpid()

    def kill(self) -> None:
        self.host.close()

    close = kill


# ---------------------------------------------------------------- process backend
def _portable(err: BaseException) -> BaseException:
    """``err`` with the worker's traceback as a note if it pickles, else a :class:`WorkerError` with its text."""
    err.add_note("in the env worker:\n" + "".join(traceback.format_exception(err)).rstrip())
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:  # noqa: BLE001 - any pickling failure
        return WorkerError(f"{type(err).__name__}: {err}")


def _serve(conn: Any) -> None:
    """Main loop of a worker process: run the host's methods; move image batches through shared memory."""
    host, images = EnvHost(), {}
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            break
        if op == "exit":
            break
        try:
            if op == "attach":
                shard, name = args
                if shard in images:
                    images.pop(shard)[0].close()
                images[shard] = (SharedMemory(name=name), None)
                result = None
            else:
                result = getattr(host, op)(*args)
                if op in ("reset", "step") and args[0] in images:
                    result = _image_to_shm(result, images, args[0])
            reply = ("ok", result)
        except Exception as e:  # noqa: BLE001 - every error goes back to the driver
            reply = ("err", _portable(e))
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as e:  # an unpicklable result
            conn.send(("err", WorkerError(f"the result of {op!r} could not be sent back: {e}")))
    host.close()
    for shm, _ in images.values():
        shm.close()


def _image_to_shm(result: tuple, images: dict[int, Any], shard: int) -> tuple:
    """Copy ``obs["image"]`` into the shard's shared block; the pipe then carries ``None`` in its place."""
    obs, image = result[0], result[0]["image"]
    shm, view = images[shard]
    if view is None or view.shape != image.shape or view.dtype != image.dtype:
        if image.nbytes > shm.size:
            return result  # the block is too small for this batch: send it through the pipe
        view = np.ndarray(image.shape, image.dtype, buffer=shm.buf)
        images[shard] = (shm, view)
    np.copyto(view, image)
    return ({**obs, "image": None}, *result[1:])


class ProcessWorker:
    """An :class:`EnvHost` in a local process; one request at a time over a pipe (shards share it)."""

    def __init__(self, index: int, start_method: str = "forkserver", timeout_s: float = 600.0) -> None:
        if start_method not in START_METHODS:
            raise invalid_choice("start_method", start_method, START_METHODS)
        ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            ctx.set_forkserver_preload(["vlenvs", "vlenvs_train.rollout.workers"])
        self.timeout_s, self.lock = timeout_s, threading.Lock()
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), daemon=True, name=f"vlenvs-env-worker-{index}")
        self.process.start()
        child.close()  # else our copy keeps the pipe open and a dead worker never reads as EOF
        self.name = f"process worker {index} (pid {self.process.pid})"
        self.answered = False  # a worker that dies before its first reply is a start-up failure, not a crash
        self.shm: dict[int, tuple[SharedMemory, tuple[int, ...], np.dtype]] = {}

    def pid(self) -> int | None:
        return self.process.pid

    def call(self, op: str, *args: Any) -> Any:
        result = self._request(op, args)
        if op == "open":
            self._attach(args[0], result)
        elif op in ("reset", "step") and result[0].get("image", 0) is None:
            shm, shape, dtype = self.shm[args[0]]
            image = np.ndarray(shape, dtype, buffer=shm.buf).copy()
            result = ({**result[0], "image": image}, *result[1:])
        return result

    def _attach(self, shard: int, info: ShardInfo) -> None:
        space = info.image_space
        if space is None:
            return
        shape, dtype = (info.num_envs, *space.shape), np.dtype(space.dtype)
        self._release(shard)
        self.shm[shard] = (SharedMemory(create=True, size=max(1, int(np.prod(shape)) * dtype.itemsize)), shape, dtype)
        self._request("attach", (shard, self.shm[shard][0].name))

    def _request(self, op: str, args: tuple) -> Any:
        with self.lock:
            try:
                self.conn.send((op, args))
            except (BrokenPipeError, ConnectionError, OSError) as e:
                self._raise_if_start_failed(op)
                raise WorkerDiedError(f"{self.name} is gone ({type(e).__name__} sending {op!r})") from e
            deadline = time.monotonic() + self.timeout_s
            while not self.conn.poll(min(0.25, max(0.0, deadline - time.monotonic()))):
                if not self.process.is_alive():
                    break  # the pipe may still hold a reply: recv() decides
                if time.monotonic() >= deadline:
                    self.process.kill()
                    raise WorkerDiedError(f"{self.name} did not answer {op!r} within {self.timeout_s:g} s; killed")
            try:
                status, payload = self.conn.recv()
            except (EOFError, ConnectionError, OSError) as e:
                self.process.join(1.0)
                self._raise_if_start_failed(op)
                raise WorkerDiedError(f"{self.name} died during {op!r} (exit code "
                                      f"{self.process.exitcode})") from e
        self.answered = True
        if status == "err":
            raise payload
        return payload

    def _raise_if_start_failed(self, op: str) -> None:
        """Before its first reply, a worker that exited by itself (code >= 0, not killed by a signal) failed to
        start; a replacement would too."""
        if self.answered:
            return
        self.process.join(1.0)
        if self.process.exitcode is not None and self.process.exitcode >= 0:
            raise WorkerStartError(f"{self.name} died before answering its first request ({op!r}, exit code "
                                   f"{self.process.exitcode}); {WorkerStartError.HINT}")

    def _release(self, shard: int) -> None:
        if shard in self.shm:
            shm = self.shm.pop(shard)[0]
            shm.close()
            shm.unlink()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self._shutdown()

    def close(self) -> None:
        with self.lock:
            try:
                self.conn.send(("exit", ()))
            except (BrokenPipeError, ConnectionError, OSError):
                pass
        self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
        self._shutdown()

    def _shutdown(self) -> None:
        self.process.join(5.0)
        self.conn.close()
        for shard in list(self.shm):
            self._release(shard)


# ---------------------------------------------------------------- pool
@dataclass(frozen=True)
class WorkerSettings:
    """How workers are started (a subset of the pipeline's config)."""

    backend: Backend = "process"
    start_method: Literal["forkserver", "spawn"] = "forkserver"
    timeout_s: float = 600.0
    ray_address: str | None = None
    ray_num_cpus: float = 1.0


def start_worker(settings: WorkerSettings, index: int) -> WorkerHandle:
    """A new worker of ``settings.backend``."""
    if settings.backend == "inline":
        return InlineWorker(index)
    if settings.backend == "process":
        return ProcessWorker(index, settings.start_method, settings.timeout_s)
    if settings.backend == "ray":
        from vlenvs_train.rollout.ray_workers import RayWorker

        return RayWorker(index, settings.ray_address, settings.ray_num_cpus, settings.timeout_s)
    raise invalid_choice("backend", settings.backend, BACKENDS)


class WorkerPool:
    """``num_workers`` workers by index; a dead one is replaced once (whoever notices first) and counted.

    Every worker has a *generation* that grows with each replacement; a call made for an older generation
    raises :class:`WorkerDiedError` at once, so a shard never talks to a replacement it has not opened on.
    """

    def __init__(self, settings: WorkerSettings, num_workers: int) -> None:
        self.settings = settings
        self.handles = [start_worker(settings, i) for i in range(num_workers)]
        self.generations = [0] * num_workers
        self.restarts = 0
        self.events: list[str] = []
        self.lock = threading.Lock()

    def call(self, index: int, generation: int, op: str, *args: Any) -> Any:
        handle = self.handles[index]
        if self.generations[index] != generation:
            raise WorkerDiedError(f"{handle.name} was replaced")
        return handle.call(op, *args)

    def replace(self, index: int, generation: int, reason: str) -> int:
        """Replace worker ``index`` unless that was already done since ``generation``; the current generation."""
        with self.lock:
            if self.generations[index] == generation:
                old = self.handles[index]
                old.kill()
                self.handles[index] = start_worker(self.settings, index)
                self.generations[index] += 1
                self.restarts += 1
                event = f"{old.name} died ({reason}); replaced by {self.handles[index].name}"
                self.events.append(event)
                log.warning(event)
            return self.generations[index]

    def pids(self) -> list[int | None]:
        return [h.pid() for h in self.handles]

    def close(self) -> None:
        for h in self.handles:
            h.close()
        self.handles = []
