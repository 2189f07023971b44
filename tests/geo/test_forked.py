"""Work handed to a forked child comes back whole, and its errors are not lost."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from circle15.geo.forked import Forked, finish_background, in_background


def _work(values: np.ndarray) -> tuple[int, np.ndarray]:
    return os.getpid(), np.cumsum(values)


def _fail(text: str) -> None:
    raise ValueError(text)


_IN_A_FRESH_PROCESS = """
import os, numpy as np
from circle15.geo.forked import Forked, finish_background, in_background
def work(values):
    return os.getpid(), np.cumsum(values)
values = np.arange(200_000, dtype=np.float64)  # far more than a pipe's buffer
job = Forked(work, values)
pid, total = job.result()
assert pid != os.getpid(), "it should have run in a child"
assert (total == np.cumsum(values)).all()
assert job.result()[0] == pid
print("ok", pid)
"""


def test_the_child_sees_the_parents_data_and_sends_the_result_back() -> None:
    # in a fresh single-threaded interpreter (this test run has threads of its own)
    out = subprocess.run([sys.executable, "-c", _IN_A_FRESH_PROCESS], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok ")


def test_an_error_in_the_child_is_raised_with_its_traceback() -> None:
    job = Forked(_fail, "the isochrones broke")
    with pytest.raises(RuntimeError, match="the isochrones broke") as info:
        job.result()
    assert "ValueError" in str(info.value)


def test_with_other_threads_running_the_work_stays_in_this_process() -> None:
    # forking a threaded process can copy a lock another thread holds (the
    # service draws its pages on threads): there the work runs here instead
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        pid, total = Forked(_work, np.arange(10.0)).result()
    finally:
        release.set()
        other.join()
    assert pid == os.getpid()
    np.testing.assert_array_equal(total, np.cumsum(np.arange(10.0)))


def test_a_failed_background_write_is_logged_and_the_work_goes_on(caplog) -> None:
    # a cache that cannot be written costs the next run time, never this run's answer
    in_background("writing a test cache", _fail, "disk full")
    with caplog.at_level(logging.WARNING, logger="circle15.geo.forked"):
        finish_background()
    assert "writing a test cache failed" in caplog.text and "disk full" in caplog.text
    finish_background()  # nothing left to wait for
