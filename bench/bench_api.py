"""Benchmark: the courier's /nearest, in process and over HTTP, against networkx.

Run by hand (not in CI):  .venv/bin/python bench/bench_api.py

On the real Liechtenstein extract with 50 stations, in one run:
- in process: ``NearestIndex.query`` (snap, station lists, filters, route) per
  query, after the request is parsed, next to a per-query networkx Dijkstra
  from the courier's nearest node (the baseline);
- over HTTP on loopback: ``circle15 serve`` (uvicorn, 2 workers) under wrk
  (Debian's), 8 and 32 connections for 10 s each, random positions: requests per second
  and latency percentiles.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.coverage import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.nearest import NearestIndex  # noqa: E402
from circle15.geo.network_cache import load_network  # noqa: E402
from tests.helpers import make_population, make_stations, points_near_streets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PORT = 8765


def in_process(net, stations, people, queries) -> tuple[float, float]:
    cov = compute_coverage(net, stations, people, settings=CoverageSettings())
    index = NearestIndex.build(cov)
    for lon, lat in queries[:50]:  # warm up
        index.query(lon, lat, k=3)
    t0 = time.perf_counter()
    for lon, lat in queries:
        index.query(lon, lat, k=3)
    ours = (time.perf_counter() - t0) / len(queries)
    # baseline: networkx Dijkstra per query from the nearest node, bounded by the limit
    G = net.to_networkx()
    sn = stations.snapped
    few = queries[:200]
    xy = net.project(few[:, 0], few[:, 1])
    from scipy.spatial import cKDTree

    _, nodes = cKDTree(net.node_xy).query(xy)
    t0 = time.perf_counter()
    for node in nodes.tolist():
        d = nx.single_source_dijkstra_path_length(G, node, cutoff=cov.settings.limit_m,
                                                  weight="length")
        best = sorted(min(d.get(int(sn.u[s]), np.inf) + sn.to_u_m[s],
                          d.get(int(sn.v[s]), np.inf) + sn.to_v_m[s]) for s in range(len(sn)))
        _ = best[:3]
    base = (time.perf_counter() - t0) / len(few)
    return ours, base


def over_http(tmp: Path, queries: np.ndarray) -> list[str]:
    if shutil.which("wrk") is None:
        return ["wrk is not installed (make system installs it); HTTP part skipped"]
    env = {**os.environ,
           "CIRCLE15_NETWORK": str(SHARED / "osm" / "liechtenstein.osm.pbf"),
           "CIRCLE15_POPULATION": str(tmp / "pop.csv"),
           "CIRCLE15_STATIONS_SEED": str(tmp / "stations.csv"),
           "CIRCLE15_DATA_DIR": str(tmp)}
    server = subprocess.Popen(
        [sys.executable, "-m", "circle15", "serve", "--port", str(PORT), "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        lua = tmp / "nearest.lua"
        pts = ",".join(f"{{{lon:.6f},{lat:.6f}}}" for lon, lat in queries[:500])
        lua.write_text(
            f"local pts = {{{pts}}}\n"
            "request = function()\n"
            "  local p = pts[math.random(#pts)]\n"
            "  return wrk.format('GET', string.format('/nearest?lon=%.6f&lat=%.6f&k=3', "
            "p[1], p[2]))\nend\n")
        lines = []
        for conns in (8, 32):
            out = subprocess.run(
                ["wrk", "-t2", f"-c{conns}", "-d10s", "--latency", "-s", str(lua),
                 f"http://127.0.0.1:{PORT}"], capture_output=True, text=True, timeout=60).stdout
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
            p50 = re.search(r"50%\s+([\d.]+\w+)", out)
            p99 = re.search(r"99%\s+([\d.]+\w+)", out)
            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            lines.append(f"{conns} connections: "
                         f"{float(rps.group(1)) if rps else float('nan'):,.0f} requests/s, "
                         f"p50 {p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}"
                         f", non-2xx {errors.group(1) if errors else 0}")
        return lines
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    pbf = SHARED / "osm" / "liechtenstein.osm.pbf"
    if not pbf.is_file():
        raise SystemExit(f"missing {pbf}: the benchmark needs ../shared/data")
    net = load_network(pbf)
    rng = np.random.default_rng(11)
    st_ll = points_near_streets(net, 50, rng, spread_m=5)
    stations = make_stations(net, st_ll)
    pop_ll = points_near_streets(net, 5000, rng, spread_m=40)
    people = make_population(net, pop_ll, rng)
    queries = points_near_streets(net, 5000, rng, spread_m=30)
    ours, base = in_process(net, stations, people, queries)
    print(f"Liechtenstein: {net.summary()}; 50 stations, k = 3 with routes")
    print(f"  in process, per query: ours {ours * 1e3:.3f} ms (target <= 0.1 ms); networkx "
          f"Dijkstra per query {base * 1e3:.2f} ms; ratio {base / ours:,.0f}x")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        pd.DataFrame({"id": [f"S{i}" for i in range(50)], "name": "bench",
                      "lon": st_ll[:, 0], "lat": st_ll[:, 1]}).to_csv(tmp / "stations.csv",
                                                                      index=False)
        pd.DataFrame({"lon": pop_ll[:, 0], "lat": pop_ll[:, 1],
                      "population": people.count if len(people) == 5000 else 10}).to_csv(
            tmp / "pop.csv", index=False)
        print("  over HTTP (uvicorn, 2 workers; wrk 2 threads, 10 s each; targets >= 1,500 "
              "requests/s, p99 <= 30 ms):")
        for line in over_http(tmp, queries):
            print(f"    {line}")


if __name__ == "__main__":
    main()
