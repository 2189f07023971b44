"""Work on the second core, in a forked child process.

A forked child sees the parent's memory (the network, the coverage) without
copying or pickling it, does its part and hands the result back through a
pipe. Drawing a planner map has two independent halves (the isochrone
polygons, and everything else) that take the longer one's time instead of
their sum; writing the caches of a first run (a network, a placed population:
a few hundred megabytes) goes on while the parent computes the coverage.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


def can_fork() -> bool:
    """Whether :class:`Forked` work runs in a child here: ``fork`` exists and no
    other thread runs (elsewhere it runs in this process)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class Forked(Generic[T]):
    """``fn(*args)`` started in a forked child; :meth:`result` waits for it.

    Where ``fork`` is missing (Windows), or other threads run (the service draws
    pages on threads), the work runs at once, in this process.
    An error in the child is raised again by :meth:`result`, with the child's
    traceback in its message. A child whose result is never asked for ends when
    this process does.
    """

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._done: tuple[bool, Any] | None = None
        self._pid = 0
        self._read = -1
        if not can_fork():
            # a fork copies only this thread: a lock another thread holds at that
            # moment (ours, the allocator's, GEOS's) would never be released in the
            # child, so a threaded process (the service) does the work here instead
            try:
                self._done = (True, fn(*args))
            except Exception:
                self._done = (False, traceback.format_exc())  # raised by result(), as a child's
            return
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: work, send, leave without running the parent's exit code
            code = 0
            try:
                os.close(read)
                try:
                    payload = pickle.dumps((True, fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException:
                    payload = pickle.dumps((False, traceback.format_exc()))
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(payload)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._read = pid, read

    @property
    def in_child(self) -> bool:
        """Whether the work runs in a child (else it was done here, at once)."""
        return self._pid != 0

    def stop(self) -> None:
        """Stop a child whose result is no longer wanted (and reap it)."""
        if self._done is None and self._pid:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(RuntimeError, OSError):
                self.result()

    def result(self) -> T:
        """The child's result (waits for it); the child's error raised here."""
        if self._done is None:
            with os.fdopen(self._read, "rb") as pipe:
                payload = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            if not payload:
                msg = f"the background worker (pid {self._pid}) ended without a result " \
                      f"(status {status})"
                raise RuntimeError(msg)
            self._done = pickle.loads(payload)
        ok, value = self._done
        if not ok:
            msg = f"the background worker failed:\n{value}"
            raise RuntimeError(msg)
        return value


#: work started by :func:`in_background` and not yet waited for
_BACKGROUND: list[tuple[int, str, Forked[Any]]] = []


def in_background(what: str, fn: Callable[..., Any], *args: Any) -> None:
    """``fn(*args)`` in a forked child that nobody waits for until
    :func:`finish_background` (a cache being written while the work goes on);
    ``what`` names it in the warning should it fail."""
    _BACKGROUND.append((os.getpid(), what, Forked(fn, *args)))


@atexit.register
def finish_background() -> None:
    """Wait for the background work: before reading what it writes, before forking
    processes that wait for any child, and before the process ends. A failure is
    logged, not raised (a cache not written costs the next run time, not an answer)."""
    while _BACKGROUND:
        owner, what, job = _BACKGROUND.pop(0)
        if owner != os.getpid():  # a process forked since: the child is not its own
            continue
        try:
            job.result()
        except RuntimeError as exc:
            log.warning("%s failed: %s", what, str(exc).strip().splitlines()[-1])


def trim_heap() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``): after a
    step that made and dropped many mid-sized arrays (a search from every candidate
    site), their pages otherwise stay counted to the process, and the next step's
    peak lands on top of them. Before forking, it keeps the children small too."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).malloc_trim(0)
