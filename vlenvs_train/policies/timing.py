"""A thread-safe clock of how long *something* was in use: calls counted, overlapping calls counted once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class BusyClock:
    """``busy_s``: wall time with at least one call in flight (overlapping calls count once); ``calls``: calls
    made; ``units``: what the calls said they handled (e.g. requests).

    Wall time minus ``busy_s`` is the time the timed thing sat idle (for a policy: waiting on the envs).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._since = 0.0
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls, self.units, self.busy_s = 0, 0, 0.0
            self._since = time.perf_counter()  # a call still in flight counts from now

    @contextmanager
    def running(self, units: int = 0) -> Iterator[None]:
        with self._lock:
            self.calls += 1
            self.units += units
            self._in_flight += 1
            if self._in_flight == 1:
                self._since = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self.busy_s += time.perf_counter() - self._since
