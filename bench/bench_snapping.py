"""Benchmark: the cost of the snapping rule against the nearest-edge snap it replaced.

Run by hand (not in CI):  .venv/bin/python bench/bench_snapping.py

For each case (Liechtenstein and Andorra with generated people, and the
district-scale city of ../shared/data/district with its 100,000 population
points and 50 and 500 stations), in one run:

- old: every point joins its single nearest walkable edge (``NEAREST_EDGE``);
- new: snap prevention (no tunnels, underground, indoor, bridges, bare trunks)
  and the best of the eligible edges within 50 m (``DEFAULT_RULE``).

It times placing the people, placing the stations and the coverage
computation, prints new/old ratios (the target is end to end within 1.3x),
and says how many joins the rule adds and how many people change status.

First, the district's 100,000 people joined under the rule by the compiled
loops (``geo/many_points``) against the numpy path, and whether they agree.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
from circle15.geo.snapping.segment_index import segment_index  # noqa: E402
from circle15.geo.snapping.snap import DEFAULT_RULE, NEAREST_EDGE, SnapRule  # noqa: E402
from tests.helpers import make_stations, points_near_streets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SETTINGS = CoverageSettings()


def case(name: str, net: Network, people_ll: np.ndarray, count: np.ndarray,
         stations: Callable[[SnapRule], Any], repeat: int = 3) -> None:
    # the indexes are built once per network (both rules share the full one)
    _ = segment_index(net), segment_index(net, DEFAULT_RULE.avoid)
    times: dict[str, dict[str, float]] = {}
    results: dict[str, Any] = {}
    for label, rule in (("old", NEAREST_EDGE), ("new", DEFAULT_RULE)):
        t_pop, pop = best_of(lambda rule=rule: population_from_points(
            net, people_ll[:, 0], people_ll[:, 1], count, max_snap_m=500.0, on_far="drop",
            rule=rule), repeat)
        t_st, st = best_of(lambda rule=rule: stations(rule), repeat)
        t_cov, cov = best_of(lambda pop=pop, st=st: compute_coverage(net, st, pop,
                                                                     settings=SETTINGS), repeat)
        times[label] = {"people": t_pop, "stations": t_st, "coverage": t_cov,
                        "total": t_pop + t_st + t_cov}
        results[label] = (pop, cov)
    old_cov = results["old"][1]
    new_pop, new_cov = results["new"]
    joins = len(new_pop.snapped.all_joins()) / len(new_pop)
    old_covered = old_cov.summary().iloc[-1]
    new_covered = new_cov.summary().iloc[-1]
    print(f"\n{name}: {len(new_pop):,} units, {len(new_cov.stations)} stations, "
          f"{net.n_nodes:,} nodes; {joins:.2f} joins per unit with the rule, "
          f"{new_pop.fallback_units:,} fallback units")
    rows = []
    for step in ("people", "stations", "coverage", "total"):
        o, n = times["old"][step], times["new"][step]
        rows.append({"step": step, "old nearest-edge s": round(o, 3), "new rule s": round(n, 3),
                     "new/old": round(n / o, 2)})
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"covered within 15 min: {old_covered['covered']:,.0f} -> "
          f"{new_covered['covered']:,.0f}; cross-covered {old_covered['cross_covered']:,.0f} -> "
          f"{new_covered['cross_covered']:,.0f} of {new_covered['population']:,.0f}")


def generated(name: str, path: Path, n_people: int, n_stations: int) -> None:
    net = load_network(path)
    rng = np.random.default_rng(2026)
    ll = points_near_streets(net, n_people, rng, spread_m=40)
    count = rng.integers(1, 100, n_people).astype(float)
    st_ll = points_near_streets(net, n_stations, rng, spread_m=10)

    def stations(rule: SnapRule) -> Any:
        from circle15.geo.inputs.stations import Stations
        from circle15.geo.snapping.placement import place_points

        placed = place_points(net, st_ll[:, 0], st_ll[:, 1], max_snap_m=500.0, rule=rule)
        return Stations(make_stations(net, st_ll).frame, placed.snapped)

    case(name, net, ll, count, stations)


def district(n_stations: int) -> None:
    folder = SHARED / "district"
    net = load_network(folder / "shunyi-synth.osm.pbf")
    pop = pd.read_csv(folder / "population-points.csv")
    ll = pop[["lon", "lat"]].to_numpy(dtype=float)

    def stations(rule: SnapRule) -> Any:
        return read_stations(folder / f"stations-{n_stations}.csv", net, rule=rule,
                             check_crs=False).active()

    case(f"district city, {n_stations} stations", net, ll,
         pop["population"].to_numpy(dtype=float), stations, repeat=2)


def compiled_against_numpy() -> None:
    """The district's 100,000 people under the rule: the compiled loops
    (``geo/many_points``, used from ``snap.MANY_POINTS`` points) against the numpy path
    they replaced for that many (KD-tree k-nearest, tree-against-tree pairs), in
    process with numba already loaded, and whether the answers are the same."""
    from circle15.geo.snapping import snap
    from circle15.geo.snapping.snap import snap_points

    folder = SHARED / "district"
    net = load_network(folder / "shunyi-synth.osm.pbf")
    pop = pd.read_csv(folder / "population-points.csv")
    xy = net.project(pop["lon"].to_numpy(dtype=float), pop["lat"].to_numpy(dtype=float))
    segment_index(net, DEFAULT_RULE.avoid)
    saved = snap.MANY_POINTS

    def run(many: int) -> Any:
        snap.MANY_POINTS = many
        try:
            s = snap_points(net, xy, max_dist_m=500.0, rule=DEFAULT_RULE)
            assert s.joins is not None
            return s, s.joins.ends()  # the ways to the nodes are part of placing people
        finally:
            snap.MANY_POINTS = saved

    run(1)  # numba loaded and the loops read from its cache: not what is timed here
    t_numpy, (a, ends_a) = best_of(lambda: run(10**9))
    t_ours, (b, ends_b) = best_of(lambda: run(1))
    assert a.joins is not None and b.joins is not None
    same = (a.edge.tolist() == b.edge.tolist()
            and a.joins.edge.tolist() == b.joins.edge.tolist()
            and a.joins.point.tolist() == b.joins.point.tolist()
            and float(np.nanmax(np.abs(a.along_m - b.along_m))) <= 1e-9
            and ends_a.node.tolist() == ends_b.node.tolist()
            and float(np.abs(ends_a.extra_m - ends_b.extra_m).max()) <= 1e-9)
    print(f"\ndistrict city, {len(xy):,} people joined under the rule ({len(b.joins):,} joins), "
          "best of 3")
    print(f"  numpy (KD-tree + pair search, then the ends): {t_numpy:.2f} s")
    print(f"  compiled loops (grid ring search, per-point ends): {t_ours:.2f} s "
          f"({t_numpy / t_ours:.1f}x); same joins and ends: {'yes' if same else 'NO'}")


def main() -> None:
    compiled_against_numpy()
    generated("Liechtenstein", SHARED / "osm" / "liechtenstein.osm.pbf", 20_000, 50)
    generated("Andorra", SHARED / "osm" / "andorra.osm.pbf", 20_000, 50)
    district(50)
    district(500)


if __name__ == "__main__":
    main()
