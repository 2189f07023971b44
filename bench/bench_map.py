"""Benchmark: building the planner map, against the OSMnx isochrone recipe.

Run by hand (not in CI):  .venv/bin/python bench/bench_map.py

On the real Liechtenstein extract with 50 stations (15 min at 4 km/h), in one
run: our isochrones (per station, and the union in 5/10/15-minute bands) plus
the whole planner map written to HTML, next to the OSMnx recipe (per station:
``ego_graph``, node and edge buffers, union) and to the same recipe with its
polygon step vectorised. Also prints the size of the HTML file.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_coverage import osmnx_recipe, osmnx_recipe_documented  # noqa: E402
from circle15.geo.coverage import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.gaps import find_gaps  # noqa: E402
from circle15.geo.isochrones import isochrones  # noqa: E402
from circle15.geo.network_cache import load_network  # noqa: E402
from circle15.maps.courier import courier_page  # noqa: E402
from circle15.maps.planner import planner_map, save_map  # noqa: E402
from tests.helpers import make_population, make_stations, points_near_streets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    pbf = SHARED / "osm" / "liechtenstein.osm.pbf"
    if not pbf.is_file():
        raise SystemExit(f"missing {pbf}: the benchmark needs ../shared/data")
    net = load_network(pbf)
    rng = np.random.default_rng(50)
    stations = make_stations(net, points_near_streets(net, 50, rng, spread_m=10))
    people = make_population(net, points_near_streets(net, 20_000, rng, spread_m=40), rng)
    settings = CoverageSettings()
    t0 = time.perf_counter()
    cov = compute_coverage(net, stations, people, settings=settings)
    t_cov = time.perf_counter() - t0
    t0 = time.perf_counter()
    iso = isochrones(cov)
    t_iso = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        m = planner_map(cov, gaps=find_gaps(cov), iso=iso, basemap="osm")
        path = save_map(m, Path(tmp) / "planner.html")
        t_html = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        courier = courier_page(net, cov.stations)
        t_courier = time.perf_counter() - t0
    ours = t_iso + t_html

    G = net.to_networkx()
    nx.set_node_attributes(G, dict(enumerate(net.node_xy[:, 0].tolist())), "x")
    nx.set_node_attributes(G, dict(enumerate(net.node_xy[:, 1].tolist())), "y")
    xy = stations.frame.geometry.get_coordinates().to_numpy()
    centre = np.asarray(shapely.STRtree(shapely.points(net.node_xy)).query_nearest(
        shapely.points(xy), all_matches=False))[1]
    none = np.empty((0, 2))
    t0 = time.perf_counter()
    osmnx_recipe_documented(G, centre, none, np.empty(0), settings.limit_m)
    t_doc = time.perf_counter() - t0
    t0 = time.perf_counter()
    osmnx_recipe(net, G, centre, none, np.empty(0), settings.limit_m)
    t_vec = time.perf_counter() - t0

    print(f"Liechtenstein: {net.summary()}; 50 stations, {len(people):,} population units")
    print(f"  coverage (for reference, not in the map time): {t_cov:.3f} s")
    rows = [
        ("ours: isochrones (50 stations + 3 union bands)", t_iso),
        ("ours: planner map HTML (all layers, gaps)", t_html),
        ("ours: isochrones + planner map", ours),
        ("OSMnx recipe as documented (ego_graph + buffers + union)", t_doc),
        ("same recipe, polygons vectorised", t_vec),
    ]
    print(f"  {'step':<60}{'seconds':>10}{'recipe / ours':>15}")
    for label, t in rows:
        print(f"  {label:<60}{t:>10.3f}{t_doc / t if 'ours' in label else t / ours:>14.1f}x")
    print(f"  planner map HTML: {size_mb:.2f} MB (target <= 3 MB); courier page: "
          f"{len(courier.encode()) / 1e6:.2f} MB, built in {t_courier:.3f} s")


if __name__ == "__main__":
    main()
