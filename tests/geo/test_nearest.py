"""Nearest stations for a courier agree with an independent networkx search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import pytest

from circle15.geo.coverage import CoverageSettings, compute_coverage
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.errors import InputError
from circle15.geo.nearest import NearestIndex
from circle15.geo.snap import DEFAULT_RULE, snap_points
from circle15.geo.stations import Stations
from tests.helpers import make_population, make_stations, points_near_streets
from tests.reference import split_graph, within


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
                          "open_now", "open_24h", "lon", "lat", "route", "nav"}
    assert body["within_limit"] is True
    assert set(first["nav"]) == {"amap", "baidu", "gcj02", "wgs84"}
    assert first["route"]["type"] == "LineString"
    assert first["route"]["coordinates"][-1] == [first["lon"], first["lat"]]
    assert first["open_now"] is True  # 24/7 or a weekday morning
    assert first["distance_m"] == round(answer.stations[0].distance_m, 1)
