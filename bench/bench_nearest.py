"""Benchmark: the courier's question in process, at district scale (issue 13, item 5).

Run by hand (not in CI):  .venv/bin/python bench/bench_nearest.py [--stations 500]
                                                                  [--questions 500]

On ``../shared/data/district`` with its 500 (or 50) stations and the 100,000
population points, :meth:`NearestIndex.answer` is asked from courier positions
drawn from the population points as ``bench/bench_api.py`` draws them (seed 13),
and the figures are printed twice in the same run:

- the table path (one-point snapping, routes cut from edge shapes kept as
  arrays, answers past the limit read from :class:`ReachTable`, made at load:
  its seconds and megabytes are printed);
- the search path it replaced: the same, but one bounded search from the
  position per answer past the limit (:class:`BeyondSearch`);
- the generic path: the batch snapping asked about one point, shapely's
  ``substring`` for route pieces, and ``walks_from`` (the courier page's
  search) past the limit -- the same answers, byte for byte (checked here too).

Then the parts side by side: snapping one point, cutting route pieces, and the
search past the limit. Questions per second are one thread's; the service's two
workers each answer one question at a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import circle15.geo.courier.nearest as nearest_module  # noqa: E402
from circle15.geo.courier.beyond import BeyondSearch  # noqa: E402
from circle15.geo.courier.grid import walks_from  # noqa: E402
from circle15.geo.courier.nearest import NearestIndex  # noqa: E402
from circle15.geo.coverage.count import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.inputs.stations import read_stations  # noqa: E402
from circle15.geo.network.cache import load_network  # noqa: E402
from circle15.geo.population.points import read_population  # noqa: E402
from circle15.geo.snapping.edge_path import along_edge  # noqa: E402
from circle15.geo.snapping.edge_pieces import along_edge as kept_piece  # noqa: E402
from circle15.geo.snapping.edge_pieces import edge_shapes  # noqa: E402
from circle15.geo.snapping.snap import snap_points  # noqa: E402
from tests.reference import substring_piece, substring_route  # noqa: E402

DISTRICT = ROOT.parent / "shared" / "data" / "district"


def generic_snap(net: Any, x: float, y: float, *, max_dist_m: float, rule: Any) -> Any:
    """The batch snapping asked about one point (how a question was snapped before)."""
    return snap_points(net, np.array([[x, y]]), max_dist_m=max_dist_m, rule=rule)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    t0 = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t0) / repeat, out


def ask_all(index: NearestIndex, points: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Each question's seconds and answer."""
    secs, answers = [], []
    for lon, lat in points:
        t, a = timed(lambda lon=lon, lat=lat: index.answer(lon, lat, k=3))
        secs.append(t)
        answers.append(a)
    return np.array(secs), answers


def report(name: str, secs: np.ndarray, beyond: np.ndarray) -> None:
    p50, p90, p99 = np.percentile(secs, [50, 90, 99]) * 1e3
    print(f"  {name:<13} {1 / secs.mean():7.0f} q/s   mean {secs.mean() * 1e3:5.2f} ms   "
          f"p50 {p50:5.2f}  p90 {p90:5.2f}  p99 {p99:5.2f} ms   "
          f"(within the limit {secs[~beyond].mean() * 1e3:5.2f} ms, "
          f"past it {secs[beyond].mean() * 1e3 if beyond.any() else 0:5.2f} ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, choices=(50, 500), default=500)
    ap.add_argument("--questions", type=int, default=500)
    args = ap.parse_args()
    pbf = DISTRICT / "shunyi-synth.osm.pbf"
    if not pbf.is_file():
        raise SystemExit(f"missing {pbf}: the benchmark needs ../shared/data/district")
    net = load_network(pbf)
    stations = read_stations(DISTRICT / f"stations-{args.stations}.csv", net)
    people = read_population(DISTRICT / "population-points.csv", net)
    cov = compute_coverage(net, stations, people, settings=CoverageSettings())
    t_build, index = timed(lambda: NearestIndex.build(cov))
    t_plain, searched = timed(lambda: NearestIndex.build(cov, table=False))
    assert index.table is not None
    frame = pd.read_csv(DISTRICT / "population-points.csv")
    rng = np.random.default_rng(13)
    points = frame[["lon", "lat"]].to_numpy()[rng.choice(len(frame), args.questions,
                                                          replace=False)]
    for lon, lat in points[:30]:  # warm the paths' caches
        index.answer(lon, lat)
        searched.answer(lon, lat)
    table_mb = (index.table.nbytes + index.node_of.nbytes + index.next_at.nbytes
                + edge_shapes(net).nbytes) / 1e6
    print(f"district, {args.stations} stations, {net.n_nodes:,} nodes; {len(points)} courier "
          f"positions from the population points; index built in {t_build:.1f} s with the "
          f"table past the limit ({index.table.station.size:,} node-station entries, "
          f"{table_mb:.0f} MB with the routes' arrays), {t_plain:.1f} s without it")

    fast_s, fast = ask_all(index, points)
    search_s, search = ask_all(searched, points)
    saved = (nearest_module.snap_one, NearestIndex._route, BeyondSearch.small_disc)
    nearest_module.snap_one = generic_snap  # type: ignore[assignment]
    NearestIndex._route = substring_route  # type: ignore[method-assign]
    BeyondSearch.small_disc = lambda *_: None  # type: ignore[method-assign]
    try:
        slow_s, slow = ask_all(searched, points)
    finally:
        nearest_module.snap_one, NearestIndex._route, BeyondSearch.small_disc = saved
    beyond = np.array([not a.within_limit for a in fast])
    same = all(orjson.dumps(a.as_dict()) == orjson.dumps(b.as_dict()) == orjson.dumps(
        c.as_dict()) for a, b, c in zip(fast, search, slow, strict=True))
    print(f"  {int(beyond.sum())} of {len(points)} answers past the limit; "
          f"same answers (JSON bytes) on all paths: {same}")
    report("table path", fast_s, beyond)
    report("search path", search_s, beyond)
    report("generic path", slow_s, beyond)
    print(f"  ratios: {search_s.mean() / fast_s.mean():.2f}x the search path's questions per "
          f"second, {slow_s.mean() / fast_s.mean():.1f}x the generic path's (target <= 0.4 ms "
          f"per question: {'met' if fast_s.mean() <= 4e-4 else 'NOT met'})")

    # the parts, side by side
    xy = net.project(points[:, 0], points[:, 1])
    rule, limit = index.rule, index.max_snap_m
    one = [timed(lambda x=x, y=y: nearest_module.snap_one(net, x, y, max_dist_m=limit,
                                                           rule=rule))[0] for x, y in xy]
    batch = [timed(lambda x=x, y=y: generic_snap(net, x, y, max_dist_m=limit,
                                                  rule=rule))[0] for x, y in xy]
    print(f"  snapping one point:   one-point {np.mean(one) * 1e3:5.3f} ms, "
          f"batch {np.mean(batch) * 1e3:5.3f} ms ({np.mean(batch) / np.mean(one):.1f}x)")
    edges = rng.choice(net.edge_length_m.size, 2000, replace=False)
    cuts = [(int(e), float(net.edge_length_m[e]) * rng.uniform(), 0.0) for e in edges]
    t_kept, _ = timed(lambda: [kept_piece(net, *c) for c in cuts])
    t_new, _ = timed(lambda: [along_edge(net, *c) for c in cuts])
    t_old, _ = timed(lambda: [substring_piece(net, *c) for c in cuts])
    print(f"  route piece:          kept shapes {t_kept / len(cuts) * 1e3:5.3f} ms, "
          f"interpolation on the geometry {t_new / len(cuts) * 1e3:5.3f} ms "
          f"({t_new / t_kept:.1f}x), shapely substring {t_old / len(cuts) * 1e3:5.3f} ms "
          f"({t_old / t_kept:.1f}x)")
    far = xy[beyond]
    if far.size:
        search, reach = index.beyond, index.reach_m
        snaps = [nearest_module.snap_one(net, x, y, max_dist_m=limit, rule=rule)
                 for x, y in far]
        table, st_joins = index.table, cov.stations.snapped.all_joins()
        t_table, _ = timed(lambda: [list(table.walks(net, s.all_joins(), st_joins,
                                                     index.on_edge, index.limit_m))
                                    for s in snaps])
        t_new, _ = timed(lambda: [search.walks(s, search.small_disc((x, y), reach), reach)
                                  for s, (x, y) in zip(snaps, far, strict=True)])
        t_old, _ = timed(lambda: [walks_from(net, s, cov.stations.snapped, reach, xy=(x, y))
                                  for s, (x, y) in zip(snaps, far, strict=True)])
        print(f"  past the limit:       table {t_table / len(far) * 1e3:5.3f} ms, search "
              f"kept ready {t_new / len(far) * 1e3:5.3f} ms ({t_new / t_table:.1f}x), "
              f"walks_from {t_old / len(far) * 1e3:5.3f} ms ({t_old / t_table:.1f}x)")


if __name__ == "__main__":
    main()
