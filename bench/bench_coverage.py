"""Benchmark: per-person walking coverage against the approaches people use today.

Run by hand (not in CI):  .venv/bin/python bench/bench_coverage.py [--quick]

On the real Liechtenstein extract (../shared/data/osm) and on Porto Alegre with
its real census hexagon grid, for 50 and 500 stations, in one run:

- ours: snap people and stations to edges, one multi-source search for the
  nearest station, batched bounded searches for station counts per person;
- (a) the OSMnx isochrone recipe: ``networkx.ego_graph`` around each station's
  nearest node, polygons from buffered edges and nodes, then people counted by
  point-in-polygon;
- (b) networkx multi-source Dijkstra (nearest station only, nodes snapped);
- (c) pandana: network setup + ``aggregate(decay="flat")`` of stations per node.

It also times the cold build of the network from the PBF and the warm start
from the cache. Ratios are printed against ours, measured in the same run.

First, ``circle15 coverage`` end to end on the district city
(../shared/data/district: 314k walkable nodes, 100,000 population points,
27 towns) with 50 and 500 stations, each run in its own process: cold (an empty
network cache) and warm (the cache filled), with the peak memory of the
process (``ru_maxrss``), against the figures recorded before the end-to-end
work (warm 9.4 s, cold 17 s at 500 stations; targets 5 s and 12 s).
``--district-only`` stops after that part.
With ``--quick`` the OSMnx recipe for 500 stations is timed on 50 of them
and scaled up (and says so).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.coverage.count import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.network.cache import load_network  # noqa: E402
from circle15.geo.network.graph import Network  # noqa: E402
from circle15.geo.population.points import population_from_points  # noqa: E402
from circle15.geo.snapping.segment_index import segment_index  # noqa: E402
from tests.helpers import make_stations, points_near_streets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SETTINGS = CoverageSettings()  # 15 min at 4 km/h = 1,000 m


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def osmnx_recipe_documented(G: nx.Graph, centre_nodes: np.ndarray, people_xy: np.ndarray,
                            pop: np.ndarray, limit_m: float) -> float:
    """The isochrone recipe as OSMnx's example notebook lays it out.

    Per station: ``ego_graph`` by length, a GeoDataFrame of node points, one
    LineString per subgraph edge looked up through the node frame, buffered
    nodes (50 m) and edges (25 m) unioned into a polygon; then people counted
    by point-in-polygon.
    """
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    polys = []
    for c in centre_nodes.tolist():
        sub = nx.ego_graph(G, c, radius=limit_m, distance="length")
        node_points = [Point((data["x"], data["y"])) for _, data in sub.nodes(data=True)]
        nodes_gdf = gpd.GeoDataFrame({"id": list(sub.nodes)}, geometry=node_points)
        nodes_gdf = nodes_gdf.set_index("id")
        edge_lines = []
        for n_fr, n_to in sub.edges():
            f = nodes_gdf.loc[n_fr].geometry
            t = nodes_gdf.loc[n_to].geometry
            edge_lines.append(LineString([f, t]))
        n = nodes_gdf.buffer(50).geometry
        e = gpd.GeoSeries(edge_lines).buffer(25).geometry
        polys.append(gpd.GeoSeries(list(n) + list(e)).union_all())
    tree = shapely.STRtree(polys)
    p_idx, _ = tree.query(shapely.points(people_xy), predicate="within")
    counts = np.bincount(p_idx, minlength=len(pop))
    return float(pop[counts >= 1].sum())


def osmnx_recipe(net: Network, G: nx.Graph, centre_nodes: np.ndarray, people_xy: np.ndarray,
                 pop: np.ndarray, limit_m: float) -> float:
    """The same recipe with the polygon step vectorised (shapely arrays)."""
    polys = []
    for c in centre_nodes.tolist():
        sub = nx.ego_graph(G, c, radius=limit_m, distance="length")
        nodes = np.fromiter(sub.nodes, dtype=np.int64)
        edges = np.array(list(sub.edges), dtype=np.int64).reshape(-1, 2)
        lines = shapely.linestrings(
            np.stack([net.node_xy[edges[:, 0]], net.node_xy[edges[:, 1]]], axis=1))
        parts = np.concatenate([shapely.buffer(lines, 25.0),
                                shapely.buffer(shapely.points(net.node_xy[nodes]), 50.0)])
        polys.append(shapely.union_all(parts))
    tree = shapely.STRtree(polys)
    p_idx, _ = tree.query(shapely.points(people_xy), predicate="within")
    counts = np.bincount(p_idx, minlength=len(pop))
    return float(pop[counts >= 1].sum())


def nx_multisource(G: nx.Graph, centre_nodes: np.ndarray, people_node: np.ndarray,
                   pop: np.ndarray, limit_m: float) -> float:
    d = nx.multi_source_dijkstra_path_length(G, set(centre_nodes.tolist()), cutoff=limit_m,
                                             weight="length")
    reached = np.array([n in d for n in people_node.tolist()])
    return float(pop[reached].sum())


def pandana_setup(net: Network, limit_m: float) -> Any:
    import pandana

    u, v = net.edge_u, net.edge_v
    keep = u != v
    nodes = pd.DataFrame({"x": net.node_xy[:, 0], "y": net.node_xy[:, 1]})
    edges = pd.DataFrame({"from": u[keep], "to": v[keep], "w": net.edge_length_m[keep]})
    pn = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["w"]],
                         twoway=True)
    pn.precompute(limit_m)
    return pn


def pandana_count(pn: Any, station_xy: np.ndarray, people_xy: np.ndarray, pop: np.ndarray,
                  limit_m: float) -> float:
    s_nodes = pn.get_node_ids(station_xy[:, 0], station_xy[:, 1])
    pn.set(s_nodes, variable=np.ones(len(s_nodes)), name="stations")
    per_node = pn.aggregate(limit_m, type="sum", decay="flat", name="stations")
    p_nodes = pn.get_node_ids(people_xy[:, 0], people_xy[:, 1])
    counts = per_node.loc[p_nodes].to_numpy()
    return float(pop[counts >= 1].sum())


def run_case(name: str, net: Network, people_ll: np.ndarray, pop: np.ndarray,
             station_counts: tuple[int, ...], quick: bool) -> None:
    rng = np.random.default_rng(50)
    limit = SETTINGS.limit_m
    G = net.to_networkx()
    nx.set_node_attributes(G, dict(enumerate(net.node_xy[:, 0].tolist())), "x")
    nx.set_node_attributes(G, dict(enumerate(net.node_xy[:, 1].tolist())), "y")
    t_setup_pd, pn = best_of(lambda: pandana_setup(net, limit), repeat=1)
    t_people, people = best_of(lambda: population_from_points(
        net, people_ll[:, 0], people_ll[:, 1], pop, on_far="drop"))
    for n_st in station_counts:
        st_ll = points_near_streets(net, n_st, rng, spread_m=10)
        run_stations(name, net, G, pn, t_setup_pd, people, t_people, st_ll, quick)


def run_stations(name: str, net: Network, G: nx.Graph, pn: Any, t_setup_pd: float,
                 people: Any, t_people: float, st_ll: np.ndarray, quick: bool) -> None:
    limit = SETTINGS.limit_m
    n_st = len(st_ll)

    def ours() -> Any:
        return compute_coverage(net, make_stations(net, st_ll), people, settings=SETTINGS)

    ours_total, cov = best_of(ours, repeat=5)
    stations = cov.stations
    covered = float(cov.summary()["covered"].iloc[-1])
    people_xy = people.frame.geometry.get_coordinates().to_numpy()
    p_pop = people.count
    station_xy = stations.frame.geometry.get_coordinates().to_numpy()
    node_tree = shapely.STRtree(shapely.points(net.node_xy))
    centre = np.asarray(node_tree.query_nearest(shapely.points(station_xy), all_matches=False))[1]
    p_node = np.asarray(node_tree.query_nearest(shapely.points(people_xy), all_matches=False))[1]
    if quick and n_st > 50:
        t_doc, _ = best_of(lambda: osmnx_recipe_documented(
            G, centre[:50], people_xy, p_pop, limit), repeat=1)
        t_doc *= n_st / 50
        doc_cov, doc_note = float("nan"), " [50 timed, scaled]"
    else:
        t_doc, doc_cov = best_of(lambda: osmnx_recipe_documented(
            G, centre, people_xy, p_pop, limit), repeat=1)
        doc_note = ""
    t_rec, rec_cov = best_of(lambda: osmnx_recipe(net, G, centre, people_xy, p_pop, limit),
                             repeat=1)
    t_nx, nx_cov = best_of(lambda: nx_multisource(G, centre, p_node, p_pop, limit), repeat=1)
    t_pd, pd_cov = best_of(lambda: pandana_count(pn, station_xy, people_xy, p_pop, limit))
    print(f"\n{name}: {n_st} stations, {len(people):,} population units, "
          f"{people.total:,.0f} people, limit {limit:,.0f} m")
    rows = [
        ("ours: stations placed + coverage (nearest, counts, 3 bands)", ours_total, covered),
        ("ours: placing the people (once per population layer)", t_people, covered),
        ("(a) OSMnx isochrone recipe as documented" + doc_note, t_doc, doc_cov),
        ("(a') same recipe, polygons vectorised by us", t_rec, rec_cov),
        ("(b) networkx multi-source Dijkstra, node-snapped", t_nx, nx_cov),
        ("(c) pandana aggregate (flat), node-snapped", t_pd, pd_cov),
        ("(c) pandana incl. its setup", t_pd + t_setup_pd, pd_cov),
    ]
    print(f"  {'approach':<62}{'seconds':>10}{'vs ours':>10}{'covered people':>16}")
    for label, t, c in rows:
        print(f"  {label:<62}{t:>10.4f}{t / ours_total:>9.1f}x{c:>16,.0f}")


#: ``circle15 coverage`` on the district at 500 stations before this work (issue 13)
OLD_E2E_S = {"warm": 9.4, "cold": 17.0}
TARGET_E2E_S = {"warm": 5.0, "cold": 12.0}


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GB) of one ``circle15`` process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "circle15", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"circle15 {' '.join(args)} failed:\n{err.decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024**2  # kB on Linux


def district_end_to_end() -> None:
    folder = SHARED / "district"
    if not (folder / "shunyi-synth.osm.pbf").is_file():
        raise SystemExit(f"missing {folder}: the benchmark needs ../shared/data/district")
    print("circle15 coverage end to end, district city (100,000 population points, 27 towns), "
          "each run its own process")
    print(f"  {'stations':>8} {'run':<6}{'seconds':>9}{'peak GB':>9}{'old s':>8}{'vs old':>8}"
          f"{'target s':>10}")
    for n in (50, 500):
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, CIRCLE15_CACHE_DIR=str(Path(tmp) / "cache"))
            args = ["coverage", "--network", str(folder / "shunyi-synth.osm.pbf"),
                    "--population", str(folder / "population-points.csv"),
                    "--stations", str(folder / f"stations-{n}.csv"),
                    "--areas", str(folder / "towns.geojson"), "--out", str(Path(tmp) / "out")]
            for run in ("cold", "warm"):
                t, gb = run_cli(args, env)
                if run == "warm":  # best of two warm runs
                    t = min(t, run_cli(args, env)[0])
                old = OLD_E2E_S[run] if n == 500 else float("nan")
                print(f"  {n:>8} {run:<6}{t:>9.2f}{gb:>9.2f}{old:>8.1f}{old / t:>7.1f}x"
                      f"{TARGET_E2E_S[run] if n == 500 else float('nan'):>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="scale the 500-station recipe")
    parser.add_argument("--district-only", action="store_true",
                        help="only circle15 coverage end to end on the district city")
    args = parser.parse_args()
    district_end_to_end()
    if args.district_only:
        return
    pbf = SHARED / "osm" / "liechtenstein.osm.pbf"
    if not pbf.is_file():
        raise SystemExit(f"missing {pbf}: the benchmark needs ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        t_cold, net = best_of(lambda: load_network(pbf, cache_dir=Path(tmp), use_cache=False),
                              repeat=1)
        load_network(pbf, cache_dir=Path(tmp))

        def warm() -> Network:
            n = load_network(pbf, cache_dir=Path(tmp))
            _ = n.csr, segment_index(n)
            return n

        t_warm, _ = best_of(warm)
    print(f"Liechtenstein: {net.summary()}")
    print(f"  cold build from the PBF: {t_cold:.2f} s (target <= 15 s); "
          f"warm start from the cache incl. CSR and spatial index: {t_warm:.3f} s "
          f"(target <= 1 s)")
    rng = np.random.default_rng(7)
    people_ll = points_near_streets(net, 20_000, rng, spread_m=40)
    pop = rng.integers(1, 60, len(people_ll)).astype(float)
    run_case("Liechtenstein (synthetic people near streets)", net, people_ll, pop, (50, 500),
             args.quick)

    pa = SHARED / "osm" / "porto-alegre.osm.pbf"
    grid = SHARED / "population" / "porto-alegre-hexgrid.csv"
    if pa.is_file() and grid.is_file():
        net_pa = load_network(pa)
        cells = pd.read_csv(grid)
        run_case("Porto Alegre (real census hexagons)", net_pa,
                 cells[["lon", "lat"]].to_numpy(float), cells["population"].to_numpy(float),
                 (50,), args.quick)


if __name__ == "__main__":
    main()
