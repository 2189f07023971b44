"""One piece of work on the second core, in a forked child process.

Drawing a planner map has two independent halves: the isochrone polygons
(marching squares and simplification, one station at a time, bound to the
interpreter) and everything else (gaps, night layers, loads, the page). A
forked child sees the coverage as it is in memory without copying or pickling
it, computes its half and hands the (small) result back through a pipe, so the
two halves take the longer one's time instead of their sum.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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
        if not hasattr(os, "fork") or threading.active_count() > 1:
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
