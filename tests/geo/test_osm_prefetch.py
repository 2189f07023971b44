"""The OSM file read ahead while the command line starts gives the same arrays as
reading it then, and a read not wanted is stopped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]

_IN_A_FRESH_PROCESS = """
import os, sys
import numpy as np
from circle15.geo import osm_prefetch
from circle15.geo.osm_ways import read_ways
path = sys.argv[1]
osm_prefetch.start_from_argv(["coverage", "--network", path, "--mode", "ebike"])
assert osm_prefetch._AHEAD is not None, "the read should run in a child"
child = osm_prefetch._AHEAD[1]
got = osm_prefetch.take(path, "ebike")
want = read_ways(path, "ebike")
assert got is not None and got.keys() == want.keys()
assert all(np.array_equal(got[k], want[k], equal_nan=True) for k in want)
# another mode than the one read ahead: not used, and the child is gone
osm_prefetch.start(path, "walk")
child = osm_prefetch._AHEAD[1]
assert osm_prefetch.take(path, "ebike") is None and osm_prefetch._AHEAD is None
try:
    os.kill(child._pid, 0)
    raise AssertionError("the unwanted read is still running")
except ProcessLookupError:
    pass
# the cache had the network after all: stopped
osm_prefetch.start(path, "walk")
osm_prefetch.cancel()
assert osm_prefetch._AHEAD is None and osm_prefetch.take(path, "walk") is None
print("ok")
"""


def test_the_file_read_ahead_equals_the_file_read_then() -> None:
    # in a fresh single-threaded interpreter, as the command line starts
    out = subprocess.run([sys.executable, "-c", _IN_A_FRESH_PROCESS,
                          str(shared("osm/shenzhen-longgang.osm"))],
                         capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_only_a_command_naming_an_osm_file_reads_ahead() -> None:
    from circle15.geo import osm_prefetch

    seen: list[tuple[str, str]] = []
    real = osm_prefetch.start
    osm_prefetch.start = lambda path, mode="walk": seen.append((path, mode))  # type: ignore
    try:
        osm_prefetch.start_from_argv(["coverage", "--network=area.osm.pbf", "--mode", "bike"])
        osm_prefetch.start_from_argv(["coverage", "--network", "net.graphml"])
        osm_prefetch.start_from_argv(["serve", "--port", "8000"])
        osm_prefetch.start_from_argv(["map", "--network"])  # no value: argparse says so later
        # the batch's Dask workers read the file themselves
        osm_prefetch.start_from_argv(["batch", "--network", "district.osm.pbf"])
    finally:
        osm_prefetch.start = real  # type: ignore[method-assign]
    assert seen == [("area.osm.pbf", "bike")]
