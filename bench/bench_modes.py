"""Benchmark: e-bike reach against walking reach, same stations, same people.

Run by hand (not in CI):  .venv/bin/python bench/bench_modes.py

For Shenzhen-Longgang (a Chinese street network with many one-way roads) and
the district-scale city of ../shared/data/district (100,000 population points,
50 and 500 stations), in one run:

- walk: the walking network at 4 km/h (15 min = 1,000 m);
- ebike-same-m: the riding network (one-way rules, reversed search) with the
  walking limit in metres, so the ratio to walk is the cost of the riding
  network's direction handling alone;
- ebike: the riding network at 15 km/h (15 min = 3,750 m): the real cost,
  dominated by the longer searches.

It prints the network sizes, the build and cache-read times of each mode's
network, the coverage times (best of 3) with ratios to walk, and the covered
shares.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_coverage import best_of  # noqa: E402
from circle15.geo.coverage.count import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.inputs.stations import read_stations  # noqa: E402
from circle15.geo.network.cache import load_network  # noqa: E402
from circle15.geo.network.graph import Network  # noqa: E402
from circle15.geo.population.points import population_from_points  # noqa: E402
from tests.helpers import make_stations, points_near_streets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def networks(source: Path, cache: Path) -> dict[str, Network]:
    out = {}
    for mode in ("walk", "ebike"):
        t0 = time.perf_counter()
        load_network(source, cache_dir=cache, mode=mode)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        out[mode] = load_network(source, cache_dir=cache, mode=mode)
        t_read = time.perf_counter() - t0
        print(f"  {mode:6s} {out[mode].summary()}; built {t_build:.2f} s, from cache "
              f"{t_read:.2f} s")
    return out


def case(name: str, nets: dict[str, Network], people_ll: np.ndarray, count: np.ndarray,
         stations_ll: np.ndarray, repeat: int = 3) -> None:
    rows = []
    walk_m = CoverageSettings.of(15).limit_m
    for label, mode, speed in (("walk", "walk", None), ("ebike-same-m", "ebike", 4.0),
                               ("ebike", "ebike", None)):
        net = nets[mode]
        pop = population_from_points(net, people_ll[:, 0], people_ll[:, 1], count,
                                     max_snap_m=500.0, on_far="drop")
        st = make_stations(net, stations_ll, max_snap_m=300.0)
        settings = CoverageSettings.of(15, mode=mode, speed_kmh=speed)
        t, cov = best_of(lambda net=net, st=st, pop=pop, s=settings: compute_coverage(
            net, st, pop, settings=s), repeat)
        share = float(cov.summary()["covered_share"].iloc[-1])
        rows.append({"case": name, "run": label, "limit_m": settings.limit_m,
                     "coverage_s": t, "covered_share": share})
    table = pd.DataFrame(rows)
    base = float(table.loc[table["run"] == "walk", "coverage_s"].iloc[0])
    table["x_walk"] = table["coverage_s"] / base
    assert abs(walk_m - 1000.0) < 1e-9
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))


def main() -> None:
    rng = np.random.default_rng(14)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        print("Shenzhen-Longgang")
        nets = networks(SHARED / "osm" / "shenzhen-longgang.osm", cache)
        walk = nets["walk"]
        people = points_near_streets(walk, 5_000, rng, spread_m=40)
        count = rng.integers(1, 100, len(people)).astype(float)
        stations = points_near_streets(nets["ebike"], 20, rng, spread_m=5)
        case("longgang, 20 stations", nets, people, count, stations)

        print("\nDistrict city (../shared/data/district)")
        district = SHARED / "district"
        nets = networks(district / "shunyi-synth.osm.pbf", cache)
        pts = pd.read_csv(district / "population-points.csv")
        people = pts[["lon", "lat"]].to_numpy(dtype=float)
        count = pts["population"].to_numpy(dtype=float)
        for n_st in (50, 500):
            st = read_stations(district / f"stations-{n_st}.csv", nets["walk"])
            ll = st.frame[["lon", "lat"]].to_numpy(dtype=float)
            case(f"district, {n_st} stations", nets, people, count, ll, repeat=1)


if __name__ == "__main__":
    main()
