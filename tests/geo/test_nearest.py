"""Nearest stations for a courier agree with an independent networkx search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import pytest
import shapely

import circle15.geo.courier.nearest as nearest_module
from circle15.geo.courier.beyond import BeyondSearch
from circle15.geo.courier.nearest import NearestIndex
from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.errors import InputError
from circle15.geo.inputs.stations import Stations
from circle15.geo.snapping.edge_path import along_edge
from circle15.geo.snapping.snap import DEFAULT_RULE, NEAREST_EDGE, SnapRule, snap_one, snap_points
from tests.helpers import make_population, make_stations, points_near_streets
from tests.reference import split_graph, substring_piece, substring_route, within


@pytest.fixture(scope="module")
def index(liechtenstein):
    net = liechtenstein
    rng = np.random.default_rng(61)
    st = make_stations(net, points_near_streets(net, 60, rng))
    frame = st.frame.copy()
    frame["amenities"] = [("water;charger" if i % 2 else "first_aid")
                          + (";battery_swap" if i % 4 == 1 else "") for i in range(len(frame))]
    frame["opening_hours"] = ["24/7" if i % 3 else "Mo-Fr 08:00-18:00" for i in range(len(frame))]
    stations = Stations(gpd.GeoDataFrame(frame, geometry="geometry", crs=net.crs), st.snapped)
    people = make_population(net, points_near_streets(net, 100, rng), rng)
    cov = compute_coverage(net, stations, people, settings=CoverageSettings.of(20))
    return NearestIndex.build(cov)


def _beyond_spots(index, k):
    """Nodes whose nearest station is past the limit but within twice it."""
    d = index.coverage.nearest_any.node_dist_m
    far = np.flatnonzero((d > index.limit_m * 1.1) & (d < index.reach_m * 0.9))
    assert far.size >= k, "the test area needs places beyond the limit"
    return index.coverage.network.node_lonlat[far[:: max(1, far.size // k)][:k]]


def test_matches_networkx(index, liechtenstein):
    """Within the limit the nearest stations; when none is, the nearest up to twice it
    (the one rule of the API and the courier page): both as an independent search finds."""
    net = liechtenstein
    cov = index.coverage
    rng = np.random.default_rng(5)
    queries = np.vstack([points_near_streets(net, 5, rng, spread_m=30), _beyond_spots(index, 3)])
    beyond = 0
    for lon, lat in queries:
        answer = index.answer(lon, lat, k=5)
        got = answer.stations
        q = snap_points(net, net.project(np.array([lon]), np.array([lat])), max_dist_m=1e4,
                        rule=DEFAULT_RULE)
        G = split_graph(net, {"st": cov.stations.snapped, "q": q}, targets=frozenset({"st"}))
        ref = within(G, ("q", 0), index.reach_m)
        everything = sorted((d, j) for (g, j), d in ((key, d) for key, d in ref.items()
                                                   if isinstance(key, tuple) and key[0] == "st"))
        want = [(d, j) for d, j in everything if d <= cov.settings.limit_m][:5]
        assert answer.within_limit == bool(want)
        if not want:
            want = everything[:5]
            beyond += bool(want)
            assert answer.reach_min == 2 * answer.limit_min
        assert [r.id for r in got] == [cov.stations.ids[j] for _, j in want]
        np.testing.assert_allclose([r.distance_m for r in got], [d for d, _ in want], atol=1e-3)
        for r in got:
            # the route starts at the courier and ends at the station, and is drawn as
            # walked: through the courier's and the station's join points, so its length
            # is the distance reported
            line = r.route.coordinates
            assert r.route.type == "LineString"
            assert line[0] == pytest.approx((lon, lat), abs=1e-5)
            assert line[-1] == pytest.approx((r.lon, r.lat))
            xy = net.project(np.array([p[0] for p in line]), np.array([p[1] for p in line]))
            length = np.hypot(*np.diff(xy, axis=0).T).sum()
            assert length == pytest.approx(r.distance_m, rel=0.002, abs=0.5)
    assert beyond >= 3


@pytest.fixture(scope="module")
def busy_spot(index):
    """A spot next to a station with the most other stations within reach."""
    spots = index.coverage.stations.frame[["lon", "lat"]].to_numpy() + np.array([0.0002, 0.0])
    return max(map(tuple, spots), key=lambda p: len(index.query(*p, k=20)))


def test_filters_and_gcj02(index, busy_spot):
    lon, lat = busy_spot
    everything = index.query(lon, lat, k=20)
    assert len(everything) >= 4
    aid = index.query(lon, lat, k=20, amenity="first_aid")
    assert [r.id for r in aid] == [r.id for r in everything if "first_aid" in r.amenities]
    assert aid and len(aid) < len(everything)
    sunday = datetime(2026, 11, 29, 10, 0)
    open_ = index.query(lon, lat, k=20, open_now=True, when=sunday)
    assert [r.id for r in open_] == [r.id for r in everything if r.opening_hours == "24/7"]
    assert open_ and len(open_) < len(everything)
    # open round the clock; battery swapping, by its key or its Chinese word
    assert [r.id for r in index.query(lon, lat, k=20, open_24h=True)] == [r.id for r in open_]
    swap = index.query(lon, lat, k=20, amenity="battery_swap")
    assert [r.id for r in swap] == [r.id for r in everything if "battery_swap" in r.amenities]
    assert swap and [r.id for r in index.query(lon, lat, k=20, amenity="换电")] == [
        r.id for r in swap]
    # a weekday morning in Vaduz, asked as UTC: 08:30 there, 07:30 UTC
    tuesday_utc = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    weekday = index.query(lon, lat, k=20, open_now=True, when=tuesday_utc)
    assert [r.id for r in weekday] == [r.id for r in everything]
    early = index.query(lon, lat, k=20, open_now=True, when=tuesday_utc - timedelta(hours=1))
    assert [r.id for r in early] == [r.id for r in open_]
    # outside China GCJ-02 is WGS84; inside it would shift: the conversion is applied
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    same = index.query(float(g_lon), float(g_lat), k=20, crs="gcj02")
    assert [r.id for r in same] == [r.id for r in everything]


def test_bad_positions(index):
    with pytest.raises(InputError, match="not a valid coordinate"):
        index.query(200.0, 47.1)
    with pytest.raises(InputError, match="from the nearest walkable street"):
        index.query(9.0, 46.0)


def test_one_result_type_serialises_as_the_service_answers(index, busy_spot):
    lon, lat = busy_spot
    answer = index.answer(lon, lat, k=2, when=datetime(2026, 11, 24, 10, 0))
    body = answer.as_dict()
    assert body["crs"] == "wgs84" and body["limit_min"] == 20
    first = body["stations"][0]
    assert set(first) == {"id", "name", "distance_m", "walk_min", "amenities", "opening_hours",
                          "open_now", "open_24h", "opens_at", "lon", "lat", "route", "nav"}
    assert body["within_limit"] is True
    assert set(first["nav"]) == {"amap", "baidu", "gcj02", "wgs84"}
    assert first["route"]["type"] == "LineString"
    assert first["route"]["coordinates"][-1] == [first["lon"], first["lat"]]
    assert first["open_now"] is True  # 24/7 or a weekday morning
    assert first["distance_m"] == round(answer.stations[0].distance_m, 1)


def _generic_snap(net, x, y, *, max_dist_m, rule):
    """The batch snapping asked about one point (the way queries were snapped before)."""
    return snap_points(net, np.array([[x, y]]), max_dist_m=max_dist_m, rule=rule)


def test_one_point_snap_is_the_batch_snap(liechtenstein):
    """A courier's position joins the same streets, at the same places, as the batch
    snapping would join it: near streets, far from them, past the limit, every rule."""
    net = liechtenstein
    rng = np.random.default_rng(17)
    near = net.project(*points_near_streets(net, 100, rng, spread_m=80).T)
    lo, hi = net.node_xy.min(axis=0) - 2_000, net.node_xy.max(axis=0) + 2_000
    anywhere = np.column_stack([rng.uniform(lo[0], hi[0], 60), rng.uniform(lo[1], hi[1], 60)])
    # on bridges and tunnels, with a short limit: no eligible edge near, a fallback
    avoided = np.flatnonzero(net.edge_join_flags != 0)[:40]
    on_avoided = shapely.get_coordinates(shapely.line_interpolate_point(
        net.edge_geometry[avoided], 0.5, normalized=True))
    asks = [(p, 300.0) for p in np.vstack([near, anywhere])] + [(p, 4.0) for p in on_avoided]
    fields = ("edge", "off_m", "along_m", "to_u_m", "to_v_m", "u", "v", "fallback")
    seen = {"joins": 0, "missed": 0, "fallback": 0}
    for rule in (DEFAULT_RULE, NEAREST_EDGE, SnapRule(slack_m=0.0), SnapRule(avoid=())):
        for (x, y), limit in asks:
            fast = snap_one(net, float(x), float(y), max_dist_m=limit, rule=rule)
            slow = _generic_snap(net, float(x), float(y), max_dist_m=limit, rule=rule)
            for f in fields:
                np.testing.assert_allclose(getattr(fast, f), getattr(slow, f), rtol=0,
                                           atol=1e-9, err_msg=f)
            a, b = fast.all_joins(), slow.all_joins()
            for f in ("point", "edge", "off_m", "along_m", "to_v_m", "u", "v"):
                np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=0, atol=1e-9,
                                           err_msg=f)
            seen["joins"] += len(a) > 1
            seen["missed"] += not fast.ok[0]
            seen["fallback"] += bool(fast.fallback[0])
    assert min(seen.values()) > 0, seen


def test_route_pieces_are_shapely_substrings(liechtenstein):
    """Cutting an edge's piece by interpolation draws what shapely's substring draws."""
    net = liechtenstein
    rng = np.random.default_rng(23)
    edges = rng.choice(net.edge_length_m.size, 400, replace=False)
    for e in edges:
        length = float(net.edge_length_m[e])
        for a, b in ((rng.uniform(-5, length + 5), rng.uniform(-5, length + 5)),
                     (0.0, length), (length, 0.0), (length / 3, length / 3)):
            got, want = along_edge(net, int(e), a, b), substring_piece(net, int(e), a, b)
            assert len(got) == len(want)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_fast_answers_are_the_generic_answers(index, monkeypatch):
    """The courier's answers (stations, metres, routes), within the limit and beyond it,
    with filters and in GCJ-02, are those of the generic path: batch snapping, substring
    routes and the shared bounded search."""
    net = index.coverage.network
    rng = np.random.default_rng(29)
    queries = np.vstack([points_near_streets(net, 60, rng, spread_m=60),
                         _beyond_spots(index, 12)])
    when = datetime(2026, 11, 29, 10, 0)
    asks = ({"k": 5}, {"k": 3, "amenity": "water", "open_now": True},
            {"k": 2, "open_24h": True, "crs": "gcj02"})

    def answers():
        return [index.answer(lon, lat, when=when, **ask) for ask in asks
                for lon, lat in queries]

    fast = answers()
    # the beyond answers came from the search on the disc around the courier
    spot = net.project(*_beyond_spots(index, 1).T)[0]
    assert index.beyond.small_disc(tuple(spot), index.reach_m) is not None
    monkeypatch.setattr(nearest_module, "snap_one", _generic_snap)
    monkeypatch.setattr(NearestIndex, "_route", substring_route)
    # past the limit: the courier page's search (walks_from) on the whole network
    monkeypatch.setattr(BeyondSearch, "small_disc", lambda *_: None)
    slow = answers()
    assert sum(not a.within_limit for a in fast) >= 12
    for a, b in zip(fast, slow, strict=True):
        assert a.within_limit == b.within_limit
        assert [s.id for s in a.stations] == [s.id for s in b.stations]
        for s, t in zip(a.stations, b.stations, strict=True):
            assert s.distance_m == pytest.approx(t.distance_m, abs=1e-6)
            assert s.open_now == t.open_now
            np.testing.assert_allclose(s.route.coordinates, t.route.coordinates, atol=2e-6)
