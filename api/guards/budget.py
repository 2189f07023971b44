"""Every expensive request within a budget: a bounded pool with a short queue, and a
per-client rate for the ones anyone may ask.

Siting, what-if and whole-area isochrones take seconds of CPU and up to a few
hundred MB each. They run at most ``expensive_workers`` at a time; up to
``expensive_queue`` more wait their turn; beyond that the service answers 429
with ``Retry-After`` at once instead of piling work up until memory runs out.
Siting is also limited per client (``siting_per_minute``), because reading is
open to anyone. The caps on a request's size (k, candidates, the model's pairs,
the time limit) are checked before it queues (:mod:`circle15.usecases.planning`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from circle15.api.errors import BusyError


class Gate:
    """At most ``running`` at once and ``waiting`` in line; the rest are turned away."""

    def __init__(self, *, running: int, waiting: int, retry_after_s: int = 5) -> None:
        self._slots = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._inside = 0
        self.capacity = running + waiting
        self.retry_after_s = retry_after_s

    @contextmanager
    def turn(self, what: str) -> Iterator[None]:
        with self._lock:
            if self._inside >= self.capacity:
                raise BusyError(f"{what}: the service is busy with {self._inside} such "
                                f"requests (at most {self.capacity} at a time, queued "
                                "included); try again shortly", self.retry_after_s)
            self._inside += 1
        try:
            with self._slots:
                yield
        finally:
            with self._lock:
                self._inside -= 1


class RateLimit:
    """At most ``per_minute`` requests a client in any minute (a sliding window)."""

    def __init__(self, per_minute: int, *, max_clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._max_clients = max_clients

    def check(self, client: str, what: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > self._max_clients:  # forget the quiet ones
                self._seen = {c: q for c, q in self._seen.items() if q and now - q[-1] < 60}
            times = self._seen.setdefault(client, deque())
            while times and now - times[0] >= 60:
                times.popleft()
            if len(times) >= self.per_minute:
                wait = int(60 - (now - times[0])) + 1
                raise BusyError(f"{what}: at most {self.per_minute} a minute from one "
                                "client", wait)
            times.append(now)
