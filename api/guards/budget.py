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

import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from circle15.api.errors import BusyError

log = logging.getLogger("uvicorn.error")


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
    """At most ``per_minute`` requests a client in any minute (a sliding window).

    With ``path``, the window is kept in that SQLite file, so that every worker of
    ``serve --workers N`` counts the same requests, and a worker replaced after a
    change does not start its clients afresh; without it (or when the file cannot be
    used), in this process."""

    def __init__(self, per_minute: int, *, max_clients: int = 10_000,
                 path: Path | None = None) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._max_clients = max_clients
        self.path = path
        self._db: tuple[int, sqlite3.Connection] | None = None  # (pid, connection)

    def check(self, client: str, what: str) -> None:
        if self.path is not None:
            try:
                return self._check_shared(client, what)
            except sqlite3.Error:
                log.warning("the shared rate file %s cannot be used; counting in this "
                            "process", self.path.name)
                self.path = None
        self._check_here(client, what)

    def _connection(self) -> sqlite3.Connection:
        # one connection per process (a forked worker opens its own)
        if self._db is None or self._db[0] != os.getpid():
            assert self.path is not None
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS hits (client TEXT NOT NULL, t REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS hits_by_client ON hits (client, t)")
            self._db = (os.getpid(), db)
        return self._db[1]

    def _check_shared(self, client: str, what: str) -> None:
        now = time.time()
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM hits WHERE t < ?", (now - 60,))
                n, first = db.execute("SELECT count(*), min(t) FROM hits WHERE client = ?",
                                      (client,)).fetchone()
                if n >= self.per_minute:
                    db.execute("COMMIT")
                    raise BusyError(f"{what}: at most {self.per_minute} a minute from one "
                                    "client", int(60 - (now - first)) + 1)
                db.execute("INSERT INTO hits VALUES (?, ?)", (client, now))
                db.execute("COMMIT")
            except sqlite3.Error:
                db.execute("ROLLBACK")
                raise

    def _check_here(self, client: str, what: str) -> None:
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
