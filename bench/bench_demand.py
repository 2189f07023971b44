"""Benchmark: outdoor-worker demand and station load at district scale.

Run by hand (not in CI):  .venv/bin/python bench/bench_demand.py [--stations 50|500]

On the district-scale city (../shared/data/district: 1,009 km², 314k walkable
nodes, 2,000 shops and restaurants, 100,000 population points), in one run:

- reading the gathering places from the PBF: ours (:func:`read_worker_places`,
  pyosmium with a key filter and area assembly) against pyrosm's
  ``get_pois(custom_filter=…)`` for the same keys (the place counts are printed
  side by side: pyrosm returns every element with the keys, ours keeps the
  matching classes);
- the estimate (weights, scaling, placement on the network);
- the cost of a second demand layer: the workers' coverage against the
  residents' coverage by the same stations;
- station load: ours (:func:`station_load`, one bincount over the nearest-
  station answer per layer) against the pandas way (the per-unit table of
  :meth:`Coverage.units_frame`, filtered to the covered units and grouped by
  nearest station); both give the same loads (checked).

Ratios are printed against ours, measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.coverage.count import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.coverage.load import station_load  # noqa: E402
from circle15.geo.inputs.stations import read_stations  # noqa: E402
from circle15.geo.network.cache import load_network  # noqa: E402
from circle15.geo.population.points import read_population  # noqa: E402
from circle15.geo.population.workers import (  # noqa: E402
    DEFAULT_WORKERS_RATIO,
    estimate_workers,
    read_worker_places,
)

DISTRICT = ROOT.parent / "shared" / "data" / "district"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _pyrosm_pois(path: Path) -> int:
    import pyrosm

    osm = pyrosm.OSM(str(path))
    keys = {"amenity": True, "shop": True, "office": True, "landuse": True,
            "industrial": True, "building": ["warehouse", "construction", "office",
                                             "commercial", "retail"]}
    gdf = osm.get_pois(custom_filter=keys)
    return 0 if gdf is None else len(gdf)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, choices=(50, 500), default=500)
    args = ap.parse_args()
    pbf = DISTRICT / "shunyi-synth.osm.pbf"
    net = load_network(pbf)
    print(f"district: {net.summary()}")

    t_ours, places = timed(lambda: read_worker_places(pbf))
    t_rosm, n_rosm = timed(lambda: _pyrosm_pois(pbf))
    print(f"gathering places: ours {len(places):,} in {t_ours:.2f} s; pyrosm get_pois "
          f"{n_rosm:,} elements in {t_rosm:.2f} s ({t_rosm / t_ours:.1f}x ours)")

    residents = read_population(DISTRICT / "population-points.csv", net)
    total = DEFAULT_WORKERS_RATIO * residents.total
    t_est, (est, _) = timed(lambda: estimate_workers(places, net, total=total))
    t_place, workers = timed(lambda: est.place(net))
    print(f"estimate: {len(est.count):,} points, {est.count.sum():,.0f} workers in "
          f"{t_est:.2f} s; placed in {t_place:.2f} s")

    stations = read_stations(DISTRICT / f"stations-{args.stations}.csv", net).active()
    settings = CoverageSettings()
    t_res, cov_r = timed(lambda: compute_coverage(net, stations, residents, settings=settings))
    t_wk, cov_w = timed(lambda: compute_coverage(net, stations, workers, settings=settings))
    print(f"coverage by {len(stations)} stations: residents ({len(residents):,} units) "
          f"{t_res:.2f} s; workers ({len(workers):,} units) {t_wk:.2f} s "
          f"({t_wk / t_res:.2f}x the residents')")

    covs = {"residents": cov_r, "workers": cov_w}
    t_load, table = timed(lambda: station_load(covs))

    def pandas_way() -> dict[str, Any]:
        out = {}
        for name, cov in covs.items():
            units = cov.units_frame()
            out[name] = units[units["covered"]].groupby("nearest_station")["population"].sum()
        return out

    t_pd, grouped = timed(pandas_way)
    for name in covs:
        ours = table.set_index("id")[f"{name}_nearest"]
        theirs = grouped[name].reindex(ours.index, fill_value=0.0)
        np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-6)
    print(f"station load (2 layers, {len(stations)} stations): ours {t_load * 1000:.1f} ms; "
          f"pandas units_frame + groupby {t_pd * 1000:.0f} ms ({t_pd / t_load:.0f}x ours); "
          "same loads")


if __name__ == "__main__":
    main()
