"""The OSM file read ahead while the command line starts gives the same arrays as
reading it then, and a read not wanted is stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]

_IN_A_FRESH_PROCESS = """
import os, sys
import numpy as np
from circle15.geo.network import osm_prefetch
from circle15.geo.network.osm_ways import read_ways
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

# a warm run: the network's cache file is there (made by load_network), and people
# placed from two files; the child reads nothing and names the files to read ahead
_WARM = """
import json, os, sys
from pathlib import Path
from circle15.geo.network import osm_prefetch
from circle15.geo.network.cache_keys import cache_file_name, cache_key
path, people, cache = sys.argv[1], sys.argv[2], Path(os.environ["CIRCLE15_CACHE_DIR"])
cache.mkdir(parents=True, exist_ok=True)
network = cache / cache_file_name(cache_key(path, keep_all_components=False, mode="walk"))
network.write_bytes(b"stands for the network")
for name, source in (("population-a", people), ("population-b", "/elsewhere/other.csv")):
    (cache / name).mkdir()
    (cache / name / "meta.json").write_text(json.dumps({"source": source}))
    (cache / name / "units.parquet").write_bytes(b"units")
named = cache / "named.txt"
osm_prefetch.will_need = lambda paths: named.write_text("\\n".join(map(str, paths)))
osm_prefetch.start_from_argv(["coverage", "--network", path, "--population", people])
assert osm_prefetch.take(path, "walk") is None, "the child read a cached network"
print(json.dumps(sorted(named.read_text().split("\\n"))))
"""


def test_the_file_read_ahead_equals_the_file_read_then(tmp_path: Path) -> None:
    # in a fresh single-threaded interpreter, as the command line starts, no cache
    out = subprocess.run([sys.executable, "-c", _IN_A_FRESH_PROCESS,
                          str(shared("osm/shenzhen-longgang.osm"))],
                         capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
                         env={**os.environ, "CIRCLE15_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_cached_network_has_its_cache_files_read_ahead_instead(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    out = subprocess.run([sys.executable, "-c", _WARM, str(shared("osm/shenzhen-longgang.osm")),
                          str(people)], capture_output=True, text=True, timeout=300,
                         check=False, cwd=ROOT,
                         env={**os.environ, "CIRCLE15_CACHE_DIR": str(tmp_path / "cache")})
    assert out.returncode == 0, out.stderr
    named = json.loads(out.stdout)
    cache = tmp_path / "cache"
    network = [p for p in named if Path(p).name.startswith("network-")]
    assert len(network) == 1 and Path(network[0]).parent == cache
    # the people placed from this population file, not from another
    assert str(cache / "population-a" / "units.parquet") in named and len(named) == 2


def test_only_a_command_naming_an_osm_file_reads_ahead() -> None:
    from circle15.geo.network import osm_prefetch

    seen: list[tuple[str, str, dict[str, object]]] = []
    real = osm_prefetch.start
    osm_prefetch.start = lambda path, mode="walk", **kw: seen.append((path, mode, kw))  # type: ignore
    try:
        osm_prefetch.start_from_argv(["coverage", "--network=area.osm.pbf", "--mode", "bike"])
        osm_prefetch.start_from_argv(["coverage", "--network", "b.osm", "--population", "p.csv",
                                      "--no-cache", "--keep-all-components"])
        osm_prefetch.start_from_argv(["coverage", "--network", "net.graphml"])
        osm_prefetch.start_from_argv(["serve", "--port", "8000"])
        osm_prefetch.start_from_argv(["map", "--network"])  # no value: argparse says so later
        # the batch's Dask workers read the file themselves
        osm_prefetch.start_from_argv(["batch", "--network", "district.osm.pbf"])
    finally:
        osm_prefetch.start = real  # type: ignore[method-assign]
    assert seen == [
        ("area.osm.pbf", "bike", {"use_cache": True, "keep_all_components": False,
                                  "population": None}),
        ("b.osm", "walk", {"use_cache": False, "keep_all_components": True,
                           "population": "p.csv"})]
