"""Benchmark: circle15 batch of the district city's 27 towns on 1 and on 2 Dask workers.

Run by hand (not in CI):  .venv/bin/python bench/bench_batch.py

Prints, in one run: one whole-district run (the peer: a single process on the
whole network), the batch on a LocalCluster of 1 worker and of 2 workers, the
2-vs-1 ratio, and the per-area cost (network nodes after the cut, seconds)
that the national plan in the README scales from.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import geopandas as gpd

ROOT = Path(__file__).resolve().parents[1]
DISTRICT = ROOT.parent / "shared" / "data" / "district"


def main() -> None:
    from circle15.usecases import AreaSpec, cover, load_area
    from circle15.usecases.area import read_station_file
    from circle15.usecases.batch import area_tasks, run_batch
    from circle15.usecases.batch_files import merged_tables

    spec = AreaSpec(network=str(DISTRICT / "shunyi-synth.osm.pbf"),
                    population=str(DISTRICT / "population-points.csv"),
                    drop_far_population=True)
    stations = str(DISTRICT / "stations-500.csv")
    t0 = time.perf_counter()
    area = load_area(spec)
    whole = cover(area, read_station_file(area, stations, check_crs=False))
    t_whole = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"whole district, one process: {t_whole:.1f} s (network from cache, 100,000 people, "
          f"500 stations), peak {peak_mb:,.0f} MB; covered "
          f"{whole.summary().iloc[-1]['covered']:,.0f}")
    towns = gpd.read_file(DISTRICT / "towns.geojson")
    tasks, _ = area_tasks(towns, name_column="name", spec=spec, stations=stations)
    times = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        batch = run_batch(tasks, workers=workers, memory_limit="8GB")
        times[workers] = time.perf_counter() - t0
        _, totals, _ = merged_tables(batch)
        print(f"batch of {len(tasks)} towns on {workers} worker(s): {times[workers]:.1f} s "
              f"(cluster start included); covered {totals.iloc[-1]['covered']:,.0f}")
    per_area = [(r.nodes, r.seconds) for r in batch.results]
    nodes = sum(n for n, _ in per_area) / len(per_area)
    secs = sum(s for _, s in per_area) / len(per_area)
    print(f"2 workers vs 1: {times[1] / times[2]:.2f}x faster; 2 workers vs one process: "
          f"{t_whole / times[2]:.2f}x")
    print(f"per area: {nodes:,.0f} network nodes after the cut on average, {secs:.2f} s each "
          f"({secs / nodes * 1e6:.1f} µs a node, loading the whole network included)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
