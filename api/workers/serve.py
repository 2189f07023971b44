"""Several worker processes sharing one loaded area: ``circle15 serve --workers N``.

A district area (network, people, coverage, nearest-station index) takes
hundreds of megabytes and tens of seconds to load. uvicorn's own workers each
load it again; here the area is loaded once, in this process, and the workers
are forked from it, so its memory pages are shared between them (copy on
write: a worker copies only the pages it writes). The loaded objects are moved
out of the garbage collector's sight first (``gc.freeze``), so that no
collection in a worker writes to, and so copies, the shared pages. A worker
that dies is replaced by a new fork at once, without loading anything.

After a station change this process brings its coverage up to date and
replaces the workers by new forks that share it (the old ones finish their
requests first). Meanwhile /nearest answers from the index the worker has
(never a courier waiting for a district's coverage); the planner's reads
compute the new coverage when asked. The map pages are drawn by a
short-lived process forked from this one (:class:`Drawer`) into the folder
the workers serve them from (:mod:`circle15.api.pages`): a drawing's memory
and CPU never land on a worker.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType

from circle15.api.pages import (
    RETRY_AFTER_FAILURE_S,
    Key,
    Page,
    latest_page,
    read_failure,
    wanted_keys,
    write_failure,
    write_page,
)
from circle15.api.settings import Settings
from circle15.api.state import DEFAULT_PAGES, AppState, load_state
from circle15.api.workers.crew import STOP_GRACE_S, Crew, become_subreaper
from circle15.geo.errors import InputError, StorageError
from circle15.geo.forked import finish_background, trim_heap

log = logging.getLogger("uvicorn.error")


def serve_shared(settings: Settings, *, host: str, port: int, workers: int,
                 access_log: bool = False) -> int:
    """Load the area once, fork ``workers`` uvicorn servers on one listening socket,
    and keep them running until SIGTERM or SIGINT."""
    import uvicorn

    # uvicorn's logging, configured as its own workers would have it
    uvicorn.Config("circle15.api.app:create_app", log_level="info")
    sock = _listen(host, port)
    t0 = time.perf_counter()
    state = load_state(settings)
    with contextlib.suppress(InputError):  # no stations yet: computed when there are
        state.snapshot()
    _settle(state)
    finish_background()  # caches written by children: the loop below reaps only workers
    log.info("area loaded once in %.1f s; starting %d workers that share it",
             time.perf_counter() - t0, workers)
    log.info("circle15 running on http://%s:%d (press CTRL+C to quit)", host, port)

    become_subreaper()
    crew = Crew(state, sock, workers, access_log, _fork)
    live = {crew.pid: crew}  # every crew whose supervisor runs
    coming: Crew | None = None  # forked from the new coverage, its workers starting
    retiring: set[int] = set()  # old crews finishing their requests
    stopping: list[float] = []  # when the stop was asked
    drawer = Drawer(state)
    next_look = 0.0

    def stop(signum: int, frame: FrameType | None) -> None:
        if not stopping:
            stopping.append(time.monotonic())
            for c in live.values():
                c.signal(signal.SIGTERM)  # each crew stops its workers
            _signal(drawer.pids(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while live:
        if stopping and time.monotonic() - stopping[0] > STOP_GRACE_S + 2.0:
            log.warning("crews still running %.0f s after the stop: killed", STOP_GRACE_S)
            for c in live.values():
                c.kill_group(signal.SIGKILL)
            _signal(drawer.pids(), signal.SIGKILL)
            stopping[0] = float("inf")
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if coming is not None and coming.ready():
                # the new crew accepts: the old one stops accepting, answers what it
                # took and ends (the socket is shared: no connection is refused)
                crew.signal(signal.SIGUSR1)
                retiring.add(crew.pid)
                crew, coming = coming, None
            if not stopping and coming is None and time.monotonic() >= next_look:
                next_look = time.monotonic() + 1.0
                try:
                    caught_up = _caught_up(state)
                except Exception:  # said in the log; the workers keep computing their own
                    caught_up, next_look = False, time.monotonic() + 30.0
                if caught_up:  # new workers share the new coverage
                    coming = Crew(state, sock, workers, access_log, _fork)
                    live[coming.pid] = coming
            if not stopping:
                drawer.tick()
            time.sleep(0.1)
            continue
        if drawer.ended(pid, status):
            continue
        ended = live.pop(pid, None)
        if ended is None:
            continue  # a worker orphaned by a killed crew, reaped here
        ended.close()
        if stopping or pid in retiring:
            retiring.discard(pid)
            continue
        # a crew's supervisor was killed: its workers finish their requests and stop,
        # and a new crew starts from the coverage this process has
        log.warning("the workers' supervisor %d ended (status %d); starting another crew",
                    pid, status)
        ended.kill_group(signal.SIGTERM)
        again = Crew(state, sock, workers, access_log, _fork)
        live[again.pid] = again
        if ended is coming:
            coming = again
        else:
            crew = again
    sock.close()
    return 0


class Drawer:
    """Draws the map pages in a short-lived process forked from the loaded area, so the
    workers never carry a drawing's memory or lose CPU to it; the workers ask for pages
    through the shared folder (``.want`` files) and serve what is drawn there."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        folder = state.pages.folder
        assert folder is not None
        self.folder = folder
        self.pid: int | None = None
        self._next = 0.0

    def pids(self) -> set[int]:
        return {self.pid} if self.pid else set()

    def ended(self, pid: int, status: int) -> bool:
        if pid != self.pid:
            return False
        self.pid = None
        if status:
            log.warning("the page drawing process ended with status %d", status)
        return True

    def tick(self) -> None:
        """Start a drawing when a page is older than the stations (checked every second)."""
        now = time.monotonic()
        if self.pid is not None or now < self._next:
            return
        self._next = now + 1.0
        try:
            revision = self.state.store.revision
        except StorageError:
            return  # said by /health; drawn when the database answers again
        todo = [key for key in dict.fromkeys([*DEFAULT_PAGES, *wanted_keys(self.folder)])
                if self._due(key, revision)]
        if todo:
            self.pid = _fork(lambda: self._draw(todo, revision))

    def _due(self, key: Key, revision: int) -> bool:
        if len(key) != 3 or key[0] not in self.state.page_builders:
            return False
        latest = latest_page(self.folder, key)
        if latest is not None and latest[0] >= revision:
            return False
        failed = read_failure(self.folder, key)
        return not (failed is not None and failed[0] >= revision
                    and time.time() - failed[2] < RETRY_AFTER_FAILURE_S)

    def _draw(self, keys: list[Key], revision: int) -> None:
        state = self.state
        state.store.engine.dispose(close=False)
        for key in keys:
            t0 = time.perf_counter()
            try:
                drawn, html = state.draw_page(key)
            except Exception as exc:
                log.exception("drawing %s failed; the last good page stays", "/".join(key))
                write_failure(self.folder, key, revision, f"{type(exc).__name__}: {exc}"[:300])
                continue
            seconds = time.perf_counter() - t0
            write_page(self.folder, key, Page(html, drawn, time.time(), seconds))
            log.info("drew %s for revision %d in %.1f s", "/".join(key), drawn, seconds)


def _fork(work: Callable[[], None]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        work()
    except BaseException:
        log.exception("process %d failed", os.getpid())
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _signal(pids: set[int], signum: int) -> None:
    for pid in list(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _caught_up(state: AppState) -> bool:
    """After a station change: this process's coverage brought to the stored stations
    (then the workers are replaced by forks that share it, instead of each computing
    its own copy). False when nothing changed."""
    try:
        stored = state.store.revision
    except StorageError:
        return False  # said by /health; caught up when the database answers again
    if stored == state.coverage_revision:
        return False
    t0 = time.perf_counter()
    try:
        state.refresh_now()
    except InputError:
        pass  # no stations left: nothing to share
    except Exception:  # the workers compute their own; tried again later
        log.exception("cannot bring the shared coverage to revision %d", stored)
        raise
    _settle(state)
    log.info("coverage brought to revision %d in %.1f s; workers replaced to share it",
             state.coverage_revision, time.perf_counter() - t0)
    return True


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        msg = f"cannot listen on {host}:{port}: {exc.strerror}"
        raise SystemExit(msg) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _settle(state: AppState) -> None:
    """Before forking: no open database connections to share, the heap handed back,
    and the loaded objects frozen out of the collector's reach."""
    state.store.engine.dispose()
    gc.collect()
    trim_heap()
    gc.freeze()
