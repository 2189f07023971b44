"""The courier page in a real headless browser: nearest stations, times, route, filters."""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import numpy as np
import pytest
import shapely
from circle15.geo.hours import is_open
from circle15.geo.layers import Stations
from circle15.geo.network import haversine_m
from circle15.maps.courier import courier_page, save_courier_page
from scipy.sparse import csgraph

from tests.browser import browser_page
from tests.helpers import make_stations, points_near_streets

HOURS = ["24/7", "Mo-Fr 08:00-18:00", "Sa,Su 09:00-12:00", "Mo-Su 20:00-02:00", "sometimes"]
AMENITIES = ["water;charger", "water", "charger;first_aid", "toilet", "water;first_aid"]


@pytest.fixture(scope="module")
def stations(longgang) -> Stations:
    rng = np.random.default_rng(51)
    st = make_stations(longgang, points_near_streets(longgang, 10, rng))
    frame = st.frame.copy()
    frame["name"] = [f"站点{i + 1}" for i in range(len(frame))]
    frame["opening_hours"] = [HOURS[i % len(HOURS)] for i in range(len(frame))]
    frame["amenities"] = [AMENITIES[i % len(AMENITIES)] for i in range(len(frame))]
    frame["address"] = ""
    return Stations(gpd.GeoDataFrame(frame, geometry="geometry", crs=longgang.crs), st.snapped)


def _expected(net, stations, lon, lat, limit_m):
    d_node = haversine_m(np.full(net.n_nodes, lon), np.full(net.n_nodes, lat),
                         net.node_lonlat[:, 0], net.node_lonlat[:, 1])
    src = int(np.argmin(d_node))
    d = csgraph.dijkstra(net.csr, indices=src)
    sn = stations.snapped
    m = d_node[src] + np.minimum(d[sn.u] + sn.off_m + sn.to_u_m, d[sn.v] + sn.off_m + sn.to_v_m)
    order = np.argsort(m)
    return [(stations.ids[i], m[i]) for i in order if m[i] <= limit_m]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_nearest_stations_times_and_route(tmp_path, longgang, stations, lang):
    page_html = courier_page(longgang, stations, lang=lang, limit_min=30, k=3, basemap="blank")
    path = save_courier_page(page_html, tmp_path / f"courier-{lang}.html")
    # a spot 40 m off the street near the middle of the stations
    centre = np.median(stations.frame[["lon", "lat"]].to_numpy(), axis=0)
    tap = centre + np.array([0.0004, 0.0])
    when = "2026-11-24T10:30:00"  # a Tuesday morning
    with browser_page(tmp_path) as (page, requests):
        page.goto(path.as_uri() + f"?now={when}")
        page.wait_for_selector(".leaflet-container")
        rows = page.evaluate(f"() => c15.show({tap[1]}, {tap[0]})")
        route_paths = page.evaluate("() => document.querySelectorAll('path.c15-route').length")
        items = page.evaluate("() => Array.from(document.querySelectorAll('.c15-item'))"
                              ".map(e => e.innerText)")
        page.screenshot(path=str(tmp_path / f"courier-{lang}.png"))
        # filters: an amenity, then open now
        page.select_option("#amenity", "first_aid")
        first_aid = page.evaluate("() => Array.from(document.querySelectorAll('.c15-item'))"
                                  ".map(e => e.dataset.id)")
        page.select_option("#amenity", "")
        page.check("#opennow")
        open_ids = page.evaluate("() => Array.from(document.querySelectorAll('.c15-item'))"
                                 ".map(e => e.dataset.id)")
    assert requests.blocked == []
    expected = _expected(longgang, stations, tap[0], tap[1], 30 * 4000 / 60)
    assert len(rows) == 3
    assert [r["id"] for r in rows] == [e[0] for e in expected[:3]]
    np.testing.assert_allclose([r["minutes"] for r in rows],
                               [e[1] / (4000 / 60) for e in expected[:3]], atol=0.05)
    assert route_paths == 1 and len(items) == len(rows)
    assert ("分钟" if lang == "zh" else "min") in items[0]
    by_id = stations.frame.set_index("id")
    order = [e[0] for e in expected]
    want_aid = [i for i in order if "first_aid" in by_id.loc[i, "amenities"]][:3]
    assert first_aid == want_aid
    now = datetime.fromisoformat(when)
    want_open = [i for i in order if is_open(by_id.loc[i, "opening_hours"], now) is True][:3]
    assert open_ids == want_open
    assert want_aid and want_open and want_open != [e[0] for e in expected[:3]]


def test_hours_agree_between_python_and_the_page(tmp_path, longgang, stations):
    specs = [*HOURS, "Mo-Fr 08:00-12:00,13:00-18:00; Sa 10:00-14:00; Su off", "Fr-Mo 10:00-16:00"]
    times = ["2026-11-23T07:59:00", "2026-11-23T08:00:00", "2026-11-24T12:30:00",
             "2026-11-28T11:00:00", "2026-11-29T13:00:00", "2026-11-25T01:30:00",
             "2026-11-30T12:00:00", "2026-11-27T17:59:00"]
    path = save_courier_page(courier_page(longgang, stations, basemap="blank"),
                             tmp_path / "c.html")
    with browser_page(tmp_path) as (page, _):
        page.goto(path.as_uri())
        got = page.evaluate("([specs, times]) => specs.map(s => times.map(t => c15.isOpen(s, t)))",
                            [specs, times])
    want = [[is_open(s, datetime.fromisoformat(t)) for t in times] for s in specs]
    assert got == want
    assert want[-2][0] is False and want[3][5] is True  # a closed morning; open past midnight
    assert all(v is None for v in want[4])  # not understood: unknown, never guessed


def test_hours_parser():
    from circle15.geo.hours import parse_hours

    week = parse_hours("Mo-Fr 08:00-18:00; Sa 09:00-12:00")
    assert week is not None and week[0] == [(480, 1080)] and week[6] == []
    assert parse_hours("Mo-Xx 08:00-18:00") is None
    assert is_open("24/7", datetime(2026, 11, 29, 3, 0)) is True
    assert shapely is not None
