"""A crew: the worker processes of one coverage revision, kept up by a process that does
nothing else.

The serving process (:mod:`circle15.api.workers.serve`) loads the area and, after a station
change, brings its coverage up to date: seconds of work at district scale, during
which it cannot watch its children. So it does not watch the workers itself. It forks
a *crew*, a small process that forks the workers from the loaded area (sharing its
memory pages), and replaces any worker that dies at once, whatever the serving process
is doing. After a change the serving process forks a new crew from the new coverage;
once all its workers are accepting, the old crew is told to retire: its workers stop
accepting, answer the connections they hold (each answer says ``Connection: close``),
and end.

Each crew leads its own process group, so the whole crew can be signalled even if its
supervising process was killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import time
from collections.abc import Callable

from circle15.api.state import AppState

log = logging.getLogger("uvicorn.error")
#: seconds the workers have to finish their requests after a stop, before they are killed
STOP_GRACE_S = 10.0
#: seconds a replaced worker answers the connections it took before it is stopped: past
#: uvicorn's keep-alive timeout (5 s), so that every keep-alive connection it holds has
#: either been told ``Connection: close`` with an answer or expired as it would anyway
RETIRE_GRACE_S = 6.0
#: a worker that dies sooner than this after its start is replaced after a short pause,
#: so that a worker that cannot start does not make the crew spin
QUICK_DEATH_S = 1.0
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphaned workers (of a crew that was killed) become this process's children,
    so that they are reaped here instead of lingering as zombies."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


class Crew:
    """The serving process's handle on one crew: its process (group) and whether all
    its workers have started accepting."""

    def __init__(self, state: AppState, sock: socket.socket, workers: int,
                 access_log: bool, fork: Callable[[Callable[[], None]], int]) -> None:
        self.size = workers
        self.started = time.monotonic()
        read, write = os.pipe()
        os.set_blocking(read, False)
        self.pid = fork(lambda: _lead(state, sock, workers, access_log, write, fork))
        os.close(write)
        self._ready_pipe: int | None = read
        self._ready = 0

    def ready(self) -> bool:
        """All of the crew's first workers are accepting connections."""
        if self._ready_pipe is not None:
            with contextlib.suppress(BlockingIOError):
                while chunk := os.read(self._ready_pipe, 64):
                    self._ready += len(chunk)
            if self._ready >= self.size:
                os.close(self._ready_pipe)
                self._ready_pipe = None
        return self._ready_pipe is None

    def signal(self, signum: int) -> None:
        """The crew's supervisor (SIGUSR1: retire, SIGTERM: stop)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill_group(self, signum: int) -> None:
        """Every process of the crew, its supervisor alive or not."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def close(self) -> None:
        if self._ready_pipe is not None:
            os.close(self._ready_pipe)
            self._ready_pipe = None


def _lead(state: AppState, sock: socket.socket, size: int, access_log: bool, ready: int,
          fork: Callable[[Callable[[], None]], int]) -> None:
    """The crew's supervisor: keep ``size`` workers running until told to retire or stop."""
    os.setpgid(0, 0)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # the serving process gone: stop too
    asked: list[int] = []  # signals in order: SIGUSR1 retire, SIGTERM/SIGINT stop

    def on_signal(signum: int, frame: object) -> None:
        asked.append(signum)

    for signum in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    if os.getppid() == 1:  # the serving process died before the handler was set
        return
    workers: dict[int, float] = {}  # pid -> when started
    for _ in range(size):
        workers[fork(lambda: _work(state, sock, access_log, ready))] = time.monotonic()
    ending = 0.0
    while workers:
        if asked and not ending:
            if asked[0] == signal.SIGUSR1:
                _tell(workers, signal.SIGUSR1)  # stop accepting, answer what was taken
                until = time.monotonic() + RETIRE_GRACE_S
                while time.monotonic() < until and signal.SIGTERM not in asked:
                    time.sleep(0.1)  # (a stop meanwhile ends the wait)
            _tell(workers, signal.SIGTERM)
            ending = time.monotonic()
        if ending and time.monotonic() - ending > STOP_GRACE_S:
            log.warning("workers still running %.0f s after the stop: killed", STOP_GRACE_S)
            _tell(workers, signal.SIGKILL)
            ending = float("inf")
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.05)
            continue
        began = workers.pop(pid, None)
        if began is None or asked:
            continue
        log.warning("worker %d ended (status %d); starting another", pid, status)
        if time.monotonic() - began < QUICK_DEATH_S:
            time.sleep(0.5)
        workers[fork(lambda: _work(state, sock, access_log, ready))] = time.monotonic()


def _tell(workers: dict[int, float], signum: int) -> None:
    for pid in list(workers):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _work(state: AppState, sock: socket.socket, access_log: bool, ready: int) -> None:
    """One uvicorn worker on the shared socket; says on ``ready`` when it accepts."""
    import uvicorn

    from circle15.api.app import create_app
    from circle15.api.guards.http_limits import LimitedHttp

    # told to retire before it accepts anything: nothing to retire from (SIGTERM follows)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    # pooled connections are the parent's; this process opens its own
    state.store.engine.dispose(close=False)
    state.serve_pages_drawn_elsewhere()
    state.nearest_may_lag = True  # the next crew brings the new index, shared
    app = create_app(state.settings, state=state)
    config = uvicorn.Config(app, log_level="info", access_log=access_log, lifespan="on",
                            http=LimitedHttp)

    class Worker(uvicorn.Server):
        """SIGUSR1: accept no more connections (those taken are still answered)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.retire)
            with contextlib.suppress(OSError):
                os.write(ready, b"r")
                os.close(ready)

        def retire(self) -> None:
            LimitedHttp.retiring = True  # every answer from now on closes its connection
            for server in self.servers:
                server.close()

    Worker(config).run(sockets=[sock])


def _prctl(option: int, value: int) -> None:
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name, use_errno=True).prctl(option, value, 0, 0, 0)
