"""E-bike and bicycle reach: the riding network, its one-way rules, and the modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from circle15.geo.coverage.reach import nearest_sources
from circle15.geo.errors import SettingsError
from circle15.geo.modes import TravelMode
from circle15.geo.network.cache import load_network
from circle15.geo.network.graph import Network
from circle15.geo.network.osm_tags import bicycle_oneway, is_rideable
from circle15.geo.snapping.snap import DEFAULT_RULE, snap_points

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
    with pytest.raises(SettingsError, match="mode: unknown travel mode"):
        TravelMode.of("car")
    with pytest.raises(SettingsError, match="speed_kmh: the"):
        TravelMode.of("ebike", 90)
    from circle15.geo.coverage.count import CoverageSettings

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


def test_settings_must_match_the_network(tmp_path):
    from circle15.geo.coverage.count import CoverageSettings, compute_coverage

    net = load_city(tmp_path, "ebike", {})
    with pytest.raises(SettingsError, match="mode='walk'"):
        compute_coverage(net, None, None, settings=CoverageSettings())  # type: ignore[arg-type]


def test_isochrone_of_a_one_way_street_lies_behind_the_station():
    from circle15.geo.coverage.count import CoverageSettings, compute_coverage
    from circle15.geo.coverage.isochrones import isochrones
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


def test_nearest_station_for_a_rider_on_a_one_way_street(tmp_path):
    from circle15.geo.courier.nearest import NearestIndex
    from circle15.geo.coverage.count import CoverageSettings, compute_coverage
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
    from circle15.geo.network.clip import clip_network

    net = load_city(tmp_path, "ebike", {"oneway": "yes"})
    cut = clip_network(net, shapely.box(*net.project(np.array([114.199, 114.211]),
                                                     np.array([22.699, 22.701])).ravel()))
    assert cut.mode == "ebike" and cut.directed and cut.n_edges < net.n_edges
    assert cut.edge_oneway is not None
    assert set(cut.edge_way[cut.edge_oneway].tolist()) == {MAIN}


def test_osmnx_graph_as_riding_network_keeps_one_way(tmp_path):
    import osmnx as ox

    from circle15.geo.network.osm_read import network_from_graphml

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


def test_maps_word_riding_as_riding():
    """An e-bike coverage's planner map speaks of riding in its title line, band names and
    legend, in both languages — a planner must not read e-bike reach as a walk."""
    from circle15.geo.coverage.count import CoverageSettings, compute_coverage
    from circle15.maps.planner import planner_page
    from tests.conftest import make_network, metres_to_lonlat
    from tests.helpers import make_population, make_stations

    pts = [(float(x), 0.0) for x in range(0, 2001, 100)]
    edges = [(i, i + 1) for i in range(len(pts) - 1)]
    net = make_network(pts, edges, edge_oneway=np.ones(len(edges), dtype=bool), mode="ebike")
    stations = make_stations(net, metres_to_lonlat(np.array([[1000.0, 5.0]])))
    people = make_population(net, metres_to_lonlat(np.array([[300.0, 20.0]])),
                             np.random.default_rng(0))
    cov = compute_coverage(net, stations, people, settings=CoverageSettings.of(5, mode="ebike"))
    zh = planner_page(cov, basemap="blank", lang="zh")
    en = planner_page(cov, basemap="blank", lang="en")
    assert "骑电动车 5 分钟" in zh and "车速 15" in zh and "步行" not in zh
    assert "5 min by e-bike" in en and "Walking" not in en and "min walk" not in en
