"""E-bike reach on the real extracts: Longgang's one-way streets and the district city."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
from scipy.sparse import csgraph

from circle15.geo.coverage.reach import nearest_sources
from circle15.geo.forked import finish_background
from circle15.geo.network.cache import load_network
from circle15.geo.network.graph import Network
from circle15.geo.snapping.snap import DEFAULT_RULE, snap_points
from circle15.usecases.area import AreaSpec, cover, load_area, read_station_file
from tests.conftest import shared

DISTRICT = "district/subsets/city-10k.osm.pbf"


@pytest.fixture(scope="module")
def longgang_ebike(cache_dir: Path) -> Network:
    return load_network(shared("osm/shenzhen-longgang.osm"), cache_dir=cache_dir, mode="ebike")


def _ways_of(path: Path, highways: set[str]) -> set[int]:
    return {w.id for w in osmium.FileProcessor(str(path), osmium.osm.WAY)
            if w.tags.get("highway") in highways}


def test_longgang_ebike_network_has_no_motorway_and_routes_obey_one_way(longgang_ebike):
    net = longgang_ebike
    motorways = _ways_of(shared("osm/shenzhen-longgang.osm"), {"motorway", "motorway_link"})
    assert len(motorways) > 50  # the extract has them: the test would be empty otherwise
    assert not np.isin(net.edge_way, list(motorways)).any()
    assert net.directed and net.edge_oneway is not None and net.edge_oneway.sum() > 500
    # foot-only ways are walked, not ridden; cycleways are ridden
    src = shared("osm/shenzhen-longgang.osm")
    foot_only = {w.id for w in osmium.FileProcessor(str(src), osmium.osm.WAY)
                 if w.tags.get("highway") in ("footway", "steps", "pedestrian")
                 and w.tags.get("bicycle") not in ("yes", "designated")}
    walk = load_network(src, use_cache=False)
    assert np.isin(walk.edge_way, list(foot_only)).sum() > 100
    assert not np.isin(net.edge_way, list(foot_only)).any()
    assert np.isin(net.edge_way, list(_ways_of(src, {"cycleway"}))).sum() > 20
    # ride arcs (tail -> head) the network allows
    one = net.edge_oneway
    allowed = set(zip(net.edge_u.tolist(), net.edge_v.tolist(), strict=True))
    allowed |= set(zip(net.edge_v[~one].tolist(), net.edge_u[~one].tolist(), strict=True))
    rng = np.random.default_rng(14)
    targets = rng.choice(net.n_nodes, 25, replace=False)
    _, pred = csgraph.dijkstra(net.csr, indices=targets, return_predecessors=True)
    # the search from a station runs reversed: pred[node] is the next node a rider
    # at ``node`` takes towards the station; every step must be a ridable arc
    steps = 0
    for row in pred:
        reached = np.flatnonzero(row >= 0)
        for node in reached.tolist():
            assert (node, int(row[node])) in allowed
        steps += reached.size
    assert steps > 10_000
    # and the reversed search agrees with networkx riding from each node
    G = net.to_networkx()
    assert isinstance(G, nx.DiGraph)
    dist = csgraph.dijkstra(net.csr, indices=targets[:3])
    for i, t in enumerate(targets[:3].tolist()):
        ref = nx.single_source_dijkstra_path_length(G.reverse(copy=False), t, weight="length")
        nodes = np.array(list(ref))
        np.testing.assert_allclose(dist[i, nodes], [ref[n] for n in nodes.tolist()], rtol=1e-9)
        assert np.isinf(np.delete(dist[i], nodes)).all()


def test_district_ebike_covers_more_than_walking(cache_dir: Path, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    covered, minutes = {}, {}
    for mode in ("walk", "ebike"):
        area = load_area(AreaSpec(network=str(shared(DISTRICT)),
                                  population=str(shared("district/subsets/pop-10k.csv")),
                                  mode=mode, minutes=5, bands=(), drop_far_population=True))
        stations = read_station_file(area, shared("district/subsets/stations-10k.csv"))
        cov = cover(area, stations)
        assert cov.settings.mode == mode == cov.network.mode
        assert cov.settings.speed_kmh == {"walk": 4.0, "ebike": 15.0}[mode]
        covered[mode] = cov.summary()["covered"].iloc[-1]
        total = cov.population.count.sum()
        minutes[mode] = cov.nearest_any.target_dist_m / cov.settings.metres_per_minute
    # 5 minutes: 1,250 m on an e-bike against 333 m on foot
    assert 0 < covered["walk"] < 0.9 * covered["ebike"] and covered["ebike"] <= total
    # the time to the nearest station, person by person, is far shorter riding
    assert np.isfinite(minutes["ebike"]).all()
    assert np.median(minutes["ebike"]) < 0.5 * np.median(minutes["walk"])
    # the district's motorway is in neither network, so no route can use it
    motorways = _ways_of(shared(DISTRICT), {"motorway", "motorway_link"})
    assert motorways and not np.isin(cov.network.edge_way, list(motorways)).any()


def test_cache_keeps_one_file_per_mode(tmp_path):
    src = shared("osm/shenzhen-longgang.osm")
    cache = tmp_path / "cache"
    built = {m: load_network(src, cache_dir=cache, mode=m) for m in ("walk", "ebike", "bike")}
    finish_background()  # the caches are written by children while the caller goes on
    files = sorted(p.name for p in cache.glob("network-*.npz"))
    assert len(files) == 3
    assert sum(f.startswith("network-ebike-") for f in files) == 1
    for mode, net in built.items():
        again = load_network(src, cache_dir=cache, mode=mode)
        assert "from_cache" in again.info and again.mode == mode
        assert again.directed == net.directed == (mode != "walk")
        np.testing.assert_array_equal(again.edge_way, net.edge_way)
        if net.edge_oneway is not None:
            assert again.edge_oneway is not None
            np.testing.assert_array_equal(again.edge_oneway, net.edge_oneway)
    assert built["walk"].n_edges != built["ebike"].n_edges


def test_coverage_command_rides_with_mode_ebike(longgang_ebike, tmp_path, capsys, monkeypatch,
                                                 cache_dir):
    import pandas as pd

    from circle15.cli import main
    from circle15.geo.coverage.count import CoverageSettings, compute_coverage
    from circle15.geo.inputs.stations import read_stations
    from circle15.geo.population.points import read_population
    from tests.helpers import points_near_streets

    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    net = longgang_ebike
    rng = np.random.default_rng(7)
    st = points_near_streets(net, 6, rng, spread_m=5)
    pd.DataFrame({"id": [f"S{i}" for i in range(6)], "name": "s", "lon": st[:, 0],
                  "lat": st[:, 1]}).to_csv(tmp_path / "st.csv", index=False)
    pp = points_near_streets(net, 400, rng, spread_m=30)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "pop": rng.integers(1, 100, 400)}).to_csv(
        tmp_path / "pop.csv", index=False)
    out = tmp_path / "out"
    code = main(["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--stations", str(tmp_path / "st.csv"), "--population", str(tmp_path / "pop.csv"),
                 "--mode", "ebike", "--minutes", "4", "--out", str(out), "-q"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "e-bike at 15 km/h" in printed
    expected = compute_coverage(net, read_stations(tmp_path / "st.csv", net),
                                read_population(tmp_path / "pop.csv", net),
                                settings=CoverageSettings.of(4, mode="ebike")).summary()
    summary = pd.read_csv(out / "summary.csv")
    np.testing.assert_allclose(summary["covered"], expected["covered"])


def test_search_from_a_courier_agrees_with_the_search_from_stations(longgang_ebike):
    from circle15.geo.coverage.reach import directed_ends, outward_graph, same_edge_pairs
    from tests.helpers import points_near_streets

    net = longgang_ebike
    rng = np.random.default_rng(3)
    rule = DEFAULT_RULE
    st = snap_points(net, net.project(*points_near_streets(net, 40, rng, spread_m=10).T),
                     max_dist_m=200, rule=rule)
    people = snap_points(net, net.project(*points_near_streets(net, 30, rng, spread_m=30).T),
                         max_dist_m=500, rule=rule)
    # from the stations (reversed riding graph): each person's time to their nearest
    reference = nearest_sources(net, st, people)
    ends = directed_ends(net, st.all_joins(), "source")
    graph = outward_graph(net, people)
    n = net.n_nodes
    dist = csgraph.dijkstra(graph, directed=True, indices=np.arange(n, n + len(people)))
    via_net = dist[:, ends.node] + ends.extra_m  # person x station arrival
    best = via_net.min(axis=1)
    who, _, d, _ = same_edge_pairs(people, st, net, outward=True)
    np.minimum.at(best, who, d)
    np.testing.assert_allclose(best, reference.target_dist_m, rtol=1e-9)
    # and riding differs from walking somewhere: the one-way rules matter here
    walk_like = nearest_sources(dataclasses.replace(net, edge_oneway=None), st, people)
    assert (walk_like.target_dist_m < reference.target_dist_m - 1).any()


def test_person_to_station_times_match_networkx_on_longgang(longgang_ebike):
    """Riding times from people to their nearest station, against networkx on the
    riding graph with each person's and station's position written out by hand."""
    from tests.helpers import points_near_streets

    net = longgang_ebike
    one = net.edge_oneway
    assert one is not None
    rng = np.random.default_rng(21)
    st = snap_points(net, net.project(*points_near_streets(net, 12, rng, spread_m=5).T),
                     max_dist_m=200, rule=DEFAULT_RULE)
    people = snap_points(net, net.project(*points_near_streets(net, 40, rng, spread_m=30).T),
                         max_dist_m=500, rule=DEFAULT_RULE)
    got = nearest_sources(net, st, people).target_dist_m
    G = net.to_networkx()
    sj, pj = st.all_joins(), people.all_joins()
    # a station is reached from the tail of its edge, or from either end of a two-way one
    arrive: dict[int, float] = {}
    for k in range(len(sj)):
        e = int(sj.edge[k])
        for node, m in ((int(sj.u[k]), sj.along_m[k]), (int(sj.v[k]), sj.to_v_m[k])):
            if node == int(sj.v[k]) and one[e]:
                continue
            cost = float(sj.off_m[k] + m)
            arrive[node] = min(arrive.get(node, np.inf), cost)
    # every node's riding distance to its nearest station: one search from a sink
    # that each arrival leads into, on the reversed graph
    G.add_edges_from((node, "sink", {"length": cost}) for node, cost in arrive.items())
    to_station = nx.single_source_dijkstra_path_length(G.reverse(copy=False), "sink",
                                                       weight="length")
    for i in range(len(people)):
        rows = np.flatnonzero(pj.point == i)
        best = np.inf
        for k in rows.tolist():
            e = int(pj.edge[k])
            starts = [(int(pj.v[k]), float(pj.to_v_m[k]))]
            if not one[e]:
                starts.append((int(pj.u[k]), float(pj.along_m[k])))
            for node, m in starts:
                best = min(best, pj.off_m[k] + m + to_station.get(node, np.inf))
            # a station on the same street, ahead (or either way on a two-way street)
            for s in np.flatnonzero(sj.edge == e).tolist():
                if one[e] and sj.along_m[s] < pj.along_m[k]:
                    continue
                best = min(best, pj.off_m[k] + abs(sj.along_m[s] - pj.along_m[k]) + sj.off_m[s])
        assert got[i] == pytest.approx(best, abs=1e-6)
