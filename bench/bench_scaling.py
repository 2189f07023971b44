"""Benchmark: how time and memory grow with the network, for the one-machine city estimate.

Run by hand (not in CI):  .venv/bin/python bench/bench_scaling.py

On the district city's square windows (../shared/data/district/subsets:
city-10k, city-50k, city-150k with their people and stations) and on the
whole district (500 stations), each in its own process: the network built
cold from the PBF, the people and stations placed, coverage computed, and the
process's peak memory (``ru_maxrss``). Prints per-node rates, which the README's
estimate for a whole city on one machine extrapolates from.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = ROOT.parent / "shared" / "data" / "district"

CASES = [
    ("city-10k", "subsets/city-10k.osm.pbf", "subsets/pop-10k.csv", "subsets/stations-10k.csv"),
    ("city-50k", "subsets/city-50k.osm.pbf", "subsets/pop-50k.csv", "subsets/stations-50k.csv"),
    ("city-150k", "subsets/city-150k.osm.pbf", "subsets/pop-150k.csv",
     "subsets/stations-150k.csv"),
    ("district", "shunyi-synth.osm.pbf", "population-points.csv", "stations-500.csv"),
]

CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.network.cache import load_network
from circle15.geo.population.points import read_population
from circle15.geo.inputs.stations import read_stations
t_import = time.perf_counter() - t0
pbf, pop, st, cache = sys.argv[1:5]
t0 = time.perf_counter()
net = load_network(pbf, cache_dir=Path(cache), use_cache=False)
t_net = time.perf_counter() - t0
t0 = time.perf_counter()
people = read_population(Path(pop), net, on_far="drop")
t_pop = time.perf_counter() - t0
t0 = time.perf_counter()
stations = read_stations(Path(st), net, max_snap_m=200)
cov = compute_coverage(net, stations, people, settings=CoverageSettings())
t_cov = time.perf_counter() - t0
print(json.dumps({"nodes": net.n_nodes, "edges": net.n_edges, "km": net.summary(),
                  "people": float(people.total), "units": len(people),
                  "stations": len(stations), "import": t_import, "network": t_net,
                  "population": t_pop, "coverage": t_cov}))
"""


def main() -> None:
    if not (DISTRICT / "subsets").is_dir():
        raise SystemExit(f"missing {DISTRICT}/subsets: the benchmark needs ../shared/data")
    print(f"{'case':<11}{'nodes':>9}{'units':>8}{'stations':>9}{'network s':>10}"
          f"{'people s':>9}{'coverage s':>11}{'peak GB':>9}{'us/node':>9}{'kB/node':>9}")
    for name, pbf, pop, st in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(DISTRICT / pbf), str(DISTRICT / pop),
                 str(DISTRICT / st), tmp], stdout=subprocess.PIPE, cwd=ROOT,
                env=dict(os.environ, CIRCLE15_CACHE_DIR=tmp))
            assert proc.stdout is not None
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(status):
                raise SystemExit(f"{name} failed")
        r = json.loads(out.decode().strip().splitlines()[-1])
        gb = usage.ru_maxrss / 1024**2
        work = r["network"] + r["population"] + r["coverage"]
        print(f"{name:<11}{r['nodes']:>9,}{r['units']:>8,}{r['stations']:>9}{r['network']:>10.2f}"
              f"{r['population']:>9.2f}{r['coverage']:>11.2f}{gb:>9.2f}"
              f"{work / r['nodes'] * 1e6:>9.1f}{usage.ru_maxrss / r['nodes']:>9.2f}"
              f"   (process {wall:.1f} s, imports {r['import']:.1f} s)")


if __name__ == "__main__":
    main()
