"""Benchmark: isochrone polygons on the district city, grid outlines against GEOS unions.

Run by hand (not in CI):  .venv/bin/python bench/bench_isochrones.py [--stations 50 500]

On ../shared/data/district (314k walkable nodes) with its 50- and 500-station
files (15 min at 4 km/h), in one run: ``geo.isochrones.isochrones`` (edge samples
marked on a shared grid, widened by a disk, outlined by marching squares) next
to the approach it replaced (``tests/reference_isochrones.py``: reached edge
pieces buffered one by one and joined by GEOS unions per station and per 1 km
tile). Prints the times per station polygons and per union bands, the ratio,
and how far the two sets of polygons are apart (symmetric difference as a
share of the old area; the farthest a point of one lies from the other, on
a sample of 20,000 boundary points for a district-wide band).
Isochrones do not depend on the people, so the population is the first
5,000 points of the district file (keeps the run short).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.coverage.count import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.coverage.isochrones import edge_samples, isochrones  # noqa: E402
from circle15.geo.inputs.stations import read_stations  # noqa: E402
from circle15.geo.network.cache import load_network  # noqa: E402
from circle15.geo.population.points import population_from_points  # noqa: E402
from tests import reference_isochrones as old  # noqa: E402

DISTRICT = ROOT.parent / "shared" / "data" / "district"


def region_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each pair, the farthest a point of ``a`` lies outside ``b`` (metres)."""
    diff = shapely.segmentize(shapely.difference(a, b), 2.0)
    out = np.zeros(len(a))
    rng = np.random.default_rng(0)
    for i, (dg, bg) in enumerate(zip(diff, b, strict=True)):
        xy = shapely.get_coordinates(dg)
        if len(xy) > 20_000:  # a district-wide band: a sample keeps this to seconds
            xy = xy[rng.choice(len(xy), 20_000, replace=False)]
        if len(xy):
            shapely.prepare(bg)
            out[i] = float(shapely.distance(shapely.points(xy), bg).max())
    return out


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def compare(label: str, t_old: float, t_new: float, g_old: np.ndarray,
            g_new: np.ndarray) -> None:
    area = shapely.area(g_old)
    share = shapely.area(shapely.symmetric_difference(g_old, g_new)) / np.maximum(area, 1.0)
    far = np.maximum(region_distance(g_new, g_old), region_distance(g_old, g_new))
    print(f"  {label:<28}{t_old:>9.2f}{t_new:>9.2f}{t_old / t_new:>8.1f}x"
          f"{share.max() * 100:>10.2f} %{far.max():>10.1f} m")


def run(n: int) -> None:
    path = DISTRICT / f"stations-{n}.csv"
    net = load_network(DISTRICT / "shunyi-synth.osm.pbf")
    pts = pd.read_csv(DISTRICT / "population-points.csv").iloc[:5000]
    people = population_from_points(net, pts["lon"].to_numpy(float), pts["lat"].to_numpy(float),
                                    pts["population"].to_numpy(float), on_far="drop")
    stations = read_stations(path, net, max_snap_m=200)
    cov = compute_coverage(net, stations, people, settings=CoverageSettings())
    t_samples, _ = timed(lambda: (edge_samples(net, 5.0), edge_samples(net, 10.0)))
    t_new_st, new_st = timed(lambda: isochrones(cov, union=False))
    t_new_un, new_un = timed(lambda: isochrones(cov, per_station=False))
    t_old_st, old_st = timed(lambda: old.isochrones(cov, union=False))
    t_old_un, old_un = timed(lambda: old.isochrones(cov, per_station=False))
    t_one, _ = timed(lambda: isochrones(cov, union=False, stations=[0]))
    print(f"\ndistrict city, {n} stations ({net.summary()})")
    print(f"  edge samples, once per network (kept with it): {t_samples:.2f} s; "
          f"one station's polygon: {t_one * 1000:.0f} ms")
    print(f"  {'polygons':<28}{'old s':>9}{'new s':>9}{'ratio':>9}{'symdiff max':>12}"
          f"{'apart max':>12}")
    compare(f"{n} stations, 15 min", t_old_st, t_new_st, old_st.geometry.to_numpy(),
            new_st.geometry.to_numpy())
    compare("union, 5/10/15 min", t_old_un, t_new_un, old_un.geometry.to_numpy(),
            new_un.geometry.to_numpy())
    total_old, total_new = t_old_st + t_old_un, t_new_st + t_new_un
    print(f"  {'all (what the map builds)':<28}{total_old:>9.2f}{total_new:>9.2f}"
          f"{total_old / total_new:>8.1f}x   (target >= 5x at 500 stations)")
    verts_old = shapely.get_num_coordinates(old_st.geometry.to_numpy()).sum()
    verts_new = shapely.get_num_coordinates(new_st.geometry.to_numpy()).sum()
    print(f"  vertices of the station polygons: old {verts_old:,}, new {verts_new:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, nargs="+", default=[50, 500], choices=(50, 500))
    args = parser.parse_args()
    if not (DISTRICT / "shunyi-synth.osm.pbf").is_file():
        raise SystemExit(f"missing {DISTRICT}: the benchmark needs ../shared/data/district")
    for n in args.stations:
        run(n)


if __name__ == "__main__":
    main()
