"""Benchmark: the offline courier page at district scale, against today's page.

Run by hand (not in CI):  .venv/bin/python bench/bench_courier.py [--stations 500]

On the shared district city (314,606 walkable nodes, 1,009 km²) with its 50 or
500 stations: the page's size and build time with the lookup grid, next to
the page that carried the whole walking network (its payload rebuilt here the
way it was), and how often the grid's answer at sample places agrees with the
service's :class:`NearestIndex` (same first station, same verdict on the limit,
time within the walk across a cell). The agreement is read from the grid in
Python, the way the page's script reads it (the browser test does it in JS).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.courier.grid import lookup_grid  # noqa: E402
from circle15.geo.courier.nearest import BEYOND_FACTOR, NearestIndex  # noqa: E402
from circle15.geo.coverage.count import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.inputs.stations import read_stations  # noqa: E402
from circle15.geo.network.cache import load_network  # noqa: E402
from circle15.geo.network.graph import Network  # noqa: E402
from circle15.geo.population.points import read_population  # noqa: E402
from circle15.maps.courier import CELL_M, courier_page  # noqa: E402
from tests.helpers import points_near_streets  # noqa: E402

DISTRICT = ROOT.parent / "shared" / "data" / "district"
TARGET_MB = 2.0


def old_network_bytes(net: Network) -> int:
    """The JSON of the network payload today's page carried."""
    csr = net.csr
    payload = {"lon": np.round(net.node_lonlat[:, 0], 6).tolist(),
               "lat": np.round(net.node_lonlat[:, 1], 6).tolist(),
               "indptr": csr.indptr.tolist(), "indices": csr.indices.tolist(),
               "length": np.round(csr.data, 1).tolist()}
    return len(json.dumps(payload, separators=(",", ":")).encode())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, choices=(50, 500), default=500)
    ap.add_argument("--samples", type=int, default=500)
    args = ap.parse_args()
    pbf = DISTRICT / "shunyi-synth.osm.pbf"
    if not pbf.is_file():
        raise SystemExit(f"missing {pbf}: the benchmark needs ../shared/data/district")
    net = load_network(pbf)
    stations = read_stations(DISTRICT / f"stations-{args.stations}.csv", net)
    settings = CoverageSettings()
    t0 = time.perf_counter()
    page = courier_page(net, stations, limit_min=settings.minutes, basemap="blank")
    t_page = time.perf_counter() - t0
    size = len(page.encode())
    t0 = time.perf_counter()
    old = old_network_bytes(net) + size - len(json.dumps(lookup_grid(
        net, stations, limit_m=settings.limit_m, reach_m=BEYOND_FACTOR * settings.limit_m,
        cell_m=CELL_M).encode()).encode())
    t_old = time.perf_counter() - t0
    print(f"district, {args.stations} stations, {net.n_nodes:,} nodes; "
          f"{settings.minutes:g} min at {settings.speed_kmh:g} km/h, cells of {CELL_M:g} m")
    print(f"  courier page with the lookup grid: {size / 1e6:6.2f} MB in {t_page:5.1f} s "
          f"(target <= {TARGET_MB} MB: {'met' if size <= TARGET_MB * 1e6 else 'NOT met'})")
    print(f"  today's page (whole network):      {old / 1e6:6.2f} MB "
          f"(payload rebuilt in {t_old:.1f} s); ratio {old / size:.1f}x smaller")

    # agreement with the service's index at sample places near streets
    people = read_population(DISTRICT / "population-points.csv", net)
    cov = compute_coverage(net, stations, people, settings=settings)
    index = NearestIndex.build(cov)
    grid = lookup_grid(net, stations, limit_m=settings.limit_m,
                       reach_m=BEYOND_FACTOR * settings.limit_m, cell_m=CELL_M)
    rng = np.random.default_rng(15)
    pts = points_near_streets(net, args.samples, rng, spread_m=25)
    keys = grid.cell_of(pts[:, 0], pts[:, 1])
    pos = np.searchsorted(grid.cells, keys)
    tol = grid.tolerance_m
    same = kept = 0
    off = []
    t0 = time.perf_counter()
    for (lon, lat), key, i in zip(pts.tolist(), keys.tolist(), pos.tolist(), strict=True):
        if i >= grid.cells.size or grid.cells[i] != key:
            continue  # the page walks to the nearest kept cell: not emulated here
        kept += 1
        a = index.answer(lon, lat, k=1)
        lo, hi = grid.indptr[i], grid.indptr[i + 1]
        if not a.stations or lo == hi:
            same += (not a.stations) == (lo == hi)
            continue
        first, metres = int(grid.station[lo]), float(grid.dist_m[lo])
        within = metres <= settings.limit_m
        ok = (index.ids[first] == a.stations[0].id and within == a.within_limit
              and abs(metres - a.stations[0].distance_m) <= tol)
        same += ok
        if index.ids[first] == a.stations[0].id:
            off.append(abs(metres - a.stations[0].distance_m))
    t_q = time.perf_counter() - t0
    print(f"  agreement with /nearest's index at {kept} of {args.samples} sample places "
          f"(in kept cells): {same / max(kept, 1):.1%} (same station, verdict, time within "
          f"{tol:.0f} m); median |metres| {np.median(off):.0f} m, 90th pct "
          f"{np.percentile(off, 90):.0f} m; {t_q / max(kept, 1) * 1000:.1f} ms a query")
    # /nearest's cost within the limit (the per-node index) and beyond it (one bounded
    # search from the courier), in process
    within_t, beyond_t = [], []
    for lon, lat in pts.tolist():
        t0 = time.perf_counter()
        a = index.answer(lon, lat, k=3)
        (within_t if a.within_limit else beyond_t).append(time.perf_counter() - t0)
    print(f"  /nearest in process: {np.median(within_t) * 1000:.1f} ms median within the "
          f"limit ({len(within_t)} places), "
          + (f"{np.median(beyond_t) * 1000:.1f} ms beyond it ({len(beyond_t)} places)"
             if beyond_t else "no place beyond it"))


if __name__ == "__main__":
    main()
