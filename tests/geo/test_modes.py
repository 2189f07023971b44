"""E-bike and bicycle reach: the riding network, its one-way rules, and the modes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from scipy.sparse import csgraph

from circle15.geo.errors import SettingsError
from circle15.geo.modes import TravelMode
from circle15.geo.network import Network
from circle15.geo.network_cache import load_network
from circle15.geo.osm_tags import bicycle_oneway, is_rideable
from circle15.geo.reach import nearest_sources
from circle15.geo.snap import DEFAULT_RULE, snap_points
from circle15.usecases.area import AreaSpec, cover, load_area, read_station_file
from tests.conftest import shared

DISTRICT = "district/subsets/city-10k.osm.pbf"

# ---------------------------------------------------------------------------
# a small hand-made city (OSM XML): a 1 km main street A-M-B, a 3.2 km two-way
# detour B-C-T-D-A round it, a footway M-T across, a cycleway spur D-E, and a
# motorway F-G with a link G-B

_NODES = {
    1: (114.200, 22.700),  # A
    2: (114.205, 22.700),  # M
    3: (114.210, 22.700),  # B
    4: (114.210, 22.710),  # C
    5: (114.205, 22.710),  # T
    6: (114.200, 22.710),  # D
    7: (114.195, 22.710),  # E
    8: (114.190, 22.690),  # F
    9: (114.220, 22.690),  # G
}
MAIN, DETOUR, FOOT, CYCLE, MOTORWAY, LINK = 101, 102, 103, 104, 105, 106


def city_xml(main_tags: dict[str, str], foot_tags: dict[str, str] | None = None) -> str:
    ways = {
        MAIN: ([1, 2, 3], {"highway": "residential", **main_tags}),
        DETOUR: ([3, 4, 5, 6, 1], {"highway": "residential"}),
        FOOT: ([2, 5], foot_tags or {"highway": "footway"}),
        CYCLE: ([6, 7], {"highway": "cycleway"}),
        MOTORWAY: ([8, 9], {"highway": "motorway", "oneway": "yes"}),
        LINK: ([9, 3], {"highway": "motorway_link"}),
    }
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    lines += [f'<node id="{i}" version="1" lat="{lat}" lon="{lon}"/>'
              for i, (lon, lat) in _NODES.items()]
    for wid, (refs, tags) in ways.items():
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    return "\n".join(lines)


def load_city(tmp_path: Path, mode: str, main_tags: dict[str, str],
              foot_tags: dict[str, str] | None = None) -> Network:
    path = tmp_path / f"city-{abs(hash((mode, str(main_tags), str(foot_tags))))}.osm"
    path.write_text(city_xml(main_tags, foot_tags), encoding="utf-8")
    return load_network(path, mode=mode, use_cache=False, keep_all_components=True)


def ride_m(net: Network, start: tuple[float, float], end: tuple[float, float]) -> float:
    """Metres from a person at ``start`` to a station at ``end`` (lon, lat), 10 m off
    the street, by the library's search."""
    def snap(lonlat: tuple[float, float]):  # type: ignore[no-untyped-def]
        xy = net.project(np.array([lonlat[0]]), np.array([lonlat[1] + 0.0001]))
        snapped = snap_points(net, xy, max_dist_m=100, rule=DEFAULT_RULE)
        assert snapped.ok.all()
        return snapped

    return float(nearest_sources(net, snap(end), snap(start)).target_dist_m[0])


A_SIDE, B_SIDE = (114.2005, 22.700), (114.2095, 22.700)  # 51 m from A, 51 m from B


def test_one_way_street_reach_differs_by_direction(tmp_path):
    walk = load_city(tmp_path, "walk", {"oneway": "yes"})
    ebike = load_city(tmp_path, "ebike", {"oneway": "yes"})
    assert not walk.directed and ebike.directed
    # walkers ignore one-way signs: the same ~900 m both ways
    there, back = ride_m(walk, A_SIDE, B_SIDE), ride_m(walk, B_SIDE, A_SIDE)
    assert 900 < there < 960 and back == pytest.approx(there, abs=0.5)
    # a rider from A's end rides the street; from B's end must take the 3.2 km detour
    # (the footway across is closed to bicycles)
    forward, against = ride_m(ebike, A_SIDE, B_SIDE), ride_m(ebike, B_SIDE, A_SIDE)
    assert forward == pytest.approx(there, abs=1.0)
    assert against > 3_200
    # oneway=-1 turns the rule round
    rev = load_city(tmp_path, "ebike", {"oneway": "-1"})
    assert ride_m(rev, B_SIDE, A_SIDE) == pytest.approx(forward, abs=1.0)
    assert ride_m(rev, A_SIDE, B_SIDE) > 3_200


@pytest.mark.parametrize("lift", [{"oneway:bicycle": "no"}, {"cycleway": "opposite_lane"}])
def test_contraflow_for_bicycles_lifts_the_one_way_rule(tmp_path, lift):
    net = load_city(tmp_path, "ebike", {"oneway": "yes", **lift})
    assert not net.directed
    assert ride_m(net, B_SIDE, A_SIDE) == pytest.approx(ride_m(net, A_SIDE, B_SIDE), abs=0.5)
    assert ride_m(net, B_SIDE, A_SIDE) < 960


def test_same_street_one_way_meets_only_ahead(tmp_path):
    ebike = load_city(tmp_path, "ebike", {"oneway": "yes"})
    behind, ahead = (114.202, 22.700), (114.204, 22.700)  # ~205 m apart on A-M
    # ahead: straight along the street, as a walker would go
    assert ride_m(ebike, behind, ahead) == pytest.approx(
        ride_m(load_city(tmp_path, "walk", {}), behind, ahead), abs=0.5)
    assert ride_m(ebike, behind, ahead) < 250
    assert ride_m(ebike, ahead, behind) > 3_000


def test_roundabout_is_one_way_for_riders(tmp_path):
    net = load_city(tmp_path, "ebike", {"junction": "roundabout"})
    assert ride_m(net, B_SIDE, A_SIDE) > 3_200 > ride_m(net, A_SIDE, B_SIDE)


def test_riding_network_ways(tmp_path):
    walk = load_city(tmp_path, "walk", {})
    ebike = load_city(tmp_path, "ebike", {})
    ways = {m: set(net.edge_way.tolist()) for m, net in (("walk", walk), ("ebike", ebike))}
    # footway: walked, not ridden; cycleway: ridden, not walked; motorways: neither
    assert FOOT in ways["walk"] and FOOT not in ways["ebike"]
    assert CYCLE in ways["ebike"] and CYCLE not in ways["walk"]
    assert not {MOTORWAY, LINK} & (ways["walk"] | ways["ebike"])
    # without the footway a rider from M to T goes round: longer than walking across
    m_side, t_side = (114.2052, 22.7000), (114.2052, 22.7099)
    assert ride_m(ebike, m_side, t_side) > ride_m(walk, m_side, t_side) + 400
    # a footway open to bicycles is ridden
    shared_path = load_city(tmp_path, "ebike", {}, {"highway": "footway", "bicycle": "yes"})
    assert FOOT in set(shared_path.edge_way.tolist())


def test_tag_rules():
    assert is_rideable({"highway": "cycleway"}) and is_rideable({"highway": "primary"})
    for closed in ({"highway": "motorway"}, {"highway": "motorway_link"},
                   {"highway": "steps"}, {"highway": "pedestrian"},
                   {"highway": "residential", "bicycle": "no"},
                   {"highway": "service", "access": "private"},
                   {"highway": "trunk", "motorroad": "yes"}):
        assert not is_rideable(closed), closed
    assert is_rideable({"highway": "pedestrian", "bicycle": "designated"})
    assert is_rideable({"highway": "service", "access": "private", "bicycle": "yes"})
    assert bicycle_oneway({"oneway": "true"}) == 1
    assert bicycle_oneway({"oneway": "reverse"}) == -1
    assert bicycle_oneway({"junction": "roundabout", "oneway": "no"}) == 0
    assert bicycle_oneway({"highway": "motorway_link"}) == 1
    assert bicycle_oneway({"oneway": "yes", "cycleway:left": "opposite_track"}) == 0


def test_travel_modes():
    assert TravelMode.of().speed_kmh == 4.0 and TravelMode.of("ebike").speed_kmh == 15.0
    assert TravelMode.of("bike").speed_kmh == 12.0
    assert TravelMode.of("ebike", 20).metres_per_minute == pytest.approx(333.33, abs=0.01)
    with pytest.raises(SettingsError, match="--mode"):
        TravelMode.of("car")
    with pytest.raises(SettingsError, match="--speed-kmh"):
        TravelMode.of("ebike", 90)
    from circle15.geo.coverage import CoverageSettings

    with pytest.raises(SettingsError, match="unknown travel mode 'car'"):
        CoverageSettings(mode="car")
    from circle15.cli import build_parser
    from circle15.cli_options import area_spec

    def settings(*extra: str):  # type: ignore[no-untyped-def]
        args = build_parser().parse_args(["coverage", "--stations", "s.csv", "--out", "o",
                                             *extra])
        return area_spec(args).coverage_settings()

    assert (settings().mode, settings().speed_kmh) == ("walk", 4.0)
    assert (settings("--mode", "ebike").mode, settings("--mode", "ebike").speed_kmh) == (
        "ebike", 15.0)
    assert settings("--mode", "ebike", "--speed-kmh", "20").limit_m == pytest.approx(5_000)


# ---------------------------------------------------------------------------
# real extracts


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


def test_settings_must_match_the_network(tmp_path):
    from circle15.geo.coverage import CoverageSettings, compute_coverage

    net = load_city(tmp_path, "ebike", {})
    with pytest.raises(SettingsError, match="mode='walk'"):
        compute_coverage(net, None, None, settings=CoverageSettings())  # type: ignore[arg-type]


def test_coverage_command_rides_with_mode_ebike(longgang_ebike, tmp_path, capsys, monkeypatch,
                                                 cache_dir):
    import pandas as pd

    from circle15.cli import main
    from circle15.geo.coverage import CoverageSettings, compute_coverage
    from circle15.geo.population_points import read_population
    from circle15.geo.stations import read_stations
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


def test_isochrone_of_a_one_way_street_lies_behind_the_station():
    from circle15.geo.coverage import CoverageSettings, compute_coverage
    from circle15.geo.isochrones import isochrones
    from tests.conftest import ORIGIN_XY, make_network, metres_to_lonlat
    from tests.helpers import make_population, make_stations

    # a 2 km straight street ridden west to east only; a station half-way
    pts = [(float(x), 0.0) for x in range(0, 2001, 100)]
    edges = [(i, i + 1) for i in range(len(pts) - 1)]
    shapes = {}
    for mode, oneway in (("walk", None), ("ebike", np.ones(len(edges), dtype=bool))):
        net = make_network(pts, edges, edge_oneway=oneway, mode=mode)
        stations = make_stations(net, metres_to_lonlat(np.array([[1000.0, 5.0]])))
        people = make_population(net, metres_to_lonlat(np.array([[300.0, 20.0], [1700.0, 20.0]])),
                                 np.random.default_rng(0))
        cov = compute_coverage(net, stations, people,
                               settings=CoverageSettings(bands_min=(2.4,), speed_kmh=15, mode=mode))
        shapes[mode] = isochrones(cov, union=False).geometry.iloc[0]
        # 2.4 min at 15 km/h = 600 m: the person 700 m behind is out, both ways
        assert cov.unit_count[-1].tolist() == [0, 0]

    def covers(mode: str, x: float) -> bool:
        return bool(shapes[mode].contains(shapely.Point(x + ORIGIN_XY[0], ORIGIN_XY[1])))

    assert covers("walk", 500) and covers("walk", 1500)
    # riders west of the station ride to it; riders east of it cannot turn back
    assert covers("ebike", 500) and not covers("ebike", 1500) and not covers("ebike", 1100)
    assert not covers("ebike", 300)  # beyond 600 m behind


def test_search_from_a_courier_agrees_with_the_search_from_stations(longgang_ebike):
    from circle15.geo.reach import directed_ends, outward_graph, same_edge_pairs
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


def test_nearest_station_for_a_rider_on_a_one_way_street(tmp_path):
    from circle15.geo.coverage import CoverageSettings, compute_coverage
    from circle15.geo.nearest import NearestIndex
    from tests.helpers import make_population, make_stations

    courier = (114.2045, 22.7001)  # on A-M, ridden towards M only
    found = {}
    for mode in ("walk", "ebike"):
        net = load_city(tmp_path, mode, {"oneway": "yes"})
        st_ll = np.array([[A_SIDE[0], 22.7001], [B_SIDE[0], 22.7001]])
        stations = make_stations(net, st_ll)
        people = make_population(net, st_ll, np.random.default_rng(0))
        cov = compute_coverage(net, stations, people,
                               settings=CoverageSettings.of(60, speed_kmh=15, mode=mode))
        answer = NearestIndex.build(cov).query(*courier, k=2)
        found[mode] = {a.id: a.distance_m for a in answer}
        # the route drawn is as long as the distance reported
        for a in answer:
            xy = net.project(*np.array(a.route.coordinates).T)
            assert shapely.LineString(xy).length == pytest.approx(a.distance_m, rel=0.02)
    # walking: A's station 400 m back, B's 500 m ahead
    assert found["walk"]["S1"] < found["walk"]["S2"] < 600
    # riding: B's station straight ahead; A's only round the 3.2 km detour
    assert found["ebike"]["S2"] == pytest.approx(found["walk"]["S2"], abs=1)
    assert found["ebike"]["S1"] > 3_500


def test_a_cut_riding_network_keeps_its_one_way_rules(tmp_path):
    from circle15.geo.clip import clip_network

    net = load_city(tmp_path, "ebike", {"oneway": "yes"})
    cut = clip_network(net, shapely.box(*net.project(np.array([114.199, 114.211]),
                                                     np.array([22.699, 22.701])).ravel()))
    assert cut.mode == "ebike" and cut.directed and cut.n_edges < net.n_edges
    assert cut.edge_oneway is not None
    assert set(cut.edge_way[cut.edge_oneway].tolist()) == {MAIN}


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


def test_osmnx_graph_as_riding_network_keeps_one_way(tmp_path):
    import osmnx as ox

    from circle15.geo.osm_read import network_from_graphml

    xml = tmp_path / "city.osm"
    xml.write_text(city_xml({"oneway": "yes"}), encoding="utf-8")
    G = ox.graph_from_xml(xml, bidirectional=False, simplify=False, retain_all=True)
    ox.save_graphml(G, tmp_path / "city.graphml")
    ride = network_from_graphml(tmp_path / "city.graphml", mode="ebike", keep_all_components=True)
    walk = network_from_graphml(tmp_path / "city.graphml", keep_all_components=True)
    assert walk.edge_oneway is None and ride.mode == "ebike"
    assert ride.edge_oneway is not None
    oneway_ways = set(ride.edge_way[ride.edge_oneway].tolist())
    assert oneway_ways == {MAIN, MOTORWAY}  # osmnx keeps one direction of each
    assert ride_m(ride, B_SIDE, A_SIDE) > 3_000 > ride_m(ride, A_SIDE, B_SIDE)
