"""Benchmark: coverage at every hour of a day, by masking closed stations on one reach.

Run by hand (not in CI):  .venv/bin/python bench/bench_hourly.py [--stations 50|500]

On the district-scale city (../shared/data/district: 314k walkable nodes,
100,000 population points, 27 towns; stations with their real-looking
``opening_hours``), in one run:

- ours: the coverage computed once (its reach lists every (station, person)
  within 15 minutes), then :func:`circle15.geo.coverage.hourly.coverage_by_hour`, which
  evaluates the hours with opening-hours-py and masks the closed stations'
  entries for each of the 24 hours (hours with the same stations open share
  one count), per town;
- baseline: what one would do without the reach: for each of the 24 hours,
  select the open stations and run the coverage searches again
  (:func:`compute_coverage`), whole area only.

Both give the same covered and cross-covered totals at every hour (checked);
the ratio is printed against ours, measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.coverage.areas import read_areas  # noqa: E402
from circle15.geo.coverage.count import compute_coverage  # noqa: E402
from circle15.geo.coverage.hourly import (  # noqa: E402
    ALL_AREAS,
    DemandLayer,
    coverage_by_hour,
    open_by_time,
    stations_timezone,
)
from circle15.geo.inputs.stations import read_stations  # noqa: E402
from circle15.geo.network.cache import load_network  # noqa: E402
from circle15.geo.population.points import read_population  # noqa: E402

DISTRICT = ROOT.parent / "shared" / "data" / "district"
DAY = date(2026, 11, 24)  # a Tuesday


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, choices=(50, 500), default=500)
    args = ap.parse_args()
    t0 = time.perf_counter()
    net = load_network(DISTRICT / "shunyi-synth.osm.pbf")
    stations = read_stations(DISTRICT / f"stations-{args.stations}.csv", net).active()
    pop = read_population(DISTRICT / "population-points.csv", net)
    towns = read_areas(DISTRICT / "towns.geojson", net)
    print(f"district: {net.n_nodes:,} nodes, {len(stations)} stations, {len(pop):,} units, "
          f"{len(towns.frame)} towns; loaded in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    cov = compute_coverage(net, stations, pop)
    t_cov = time.perf_counter() - t0
    t0 = time.perf_counter()
    hourly = coverage_by_hour([DemandLayer.of("residents", cov)], stations, areas=towns,
                              day=DAY)
    t_mask = time.perf_counter() - t0
    distinct = len({o.open.tobytes() for o in hourly.opens})
    print(f"ours: coverage once {t_cov:.2f} s + 24 hours x {len(towns.frame) + 1} areas "
          f"{t_mask:.3f} s ({distinct} distinct sets of open stations)")

    tz = stations_timezone(stations)
    opens = open_by_time(stations, [datetime.combine(DAY, dtime(h), tzinfo=tz)
                                    for h in range(24)])
    whole = hourly.table[hourly.table["area"] == ALL_AREAS].set_index("hour")
    t0 = time.perf_counter()
    for h, op in enumerate(opens):
        again = compute_coverage(net, stations.select(op.open), pop).bands()[-1]
        assert np.isclose(again.covered, whole.loc[h, "covered_residents"]), h
        assert np.isclose(again.cross_covered, whole.loc[h, "cross_covered_residents"]), h
    t_base = time.perf_counter() - t0
    print(f"baseline: coverage searched again for each of 24 hours {t_base:.2f} s "
          f"(whole area only)")
    print(f"ratio baseline / ours (hours only): {t_base / t_mask:,.0f}x; "
          f"including our one coverage: {t_base / (t_cov + t_mask):.1f}x")
    print("identical covered and cross-covered totals at all 24 hours")


if __name__ == "__main__":
    main()
