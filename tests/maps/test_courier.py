"""The courier page in a real headless browser: nearest stations, times, route, filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse import csgraph

from circle15.geo.network import haversine_m
from circle15.geo.station_hours import Hours
from circle15.geo.stations import Stations
from circle15.maps.courier import HOURS_DAYS, courier_page, save_courier_page
from tests.browser import browser_page
from tests.helpers import make_stations, points_near_streets

ZONE = "Asia/Shanghai"  # Longgang, Shenzhen
HOURS = ["24/7", "Mo-Fr 08:00-18:00", "Sa,Su 09:00-12:00", "Mo-Su 20:00-02:00", "sometimes"]
AMENITIES = ["water;charger", "water", "charger;first_aid", "toilet", "water;first_aid"]


@pytest.fixture(scope="module")
def stations(longgang) -> Stations:
    return _stations(longgang, HOURS)


def _stations(longgang, hours: list[str]) -> Stations:
    rng = np.random.default_rng(51)
    st = make_stations(longgang, points_near_streets(longgang, 10, rng))
    frame = st.frame.copy()
    frame["name"] = [f"站点{i + 1}" for i in range(len(frame))]
    frame["opening_hours"] = [hours[i % len(hours)] for i in range(len(frame))]
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
    made = datetime(2026, 11, 24, 9, 0)  # the page is made on a Tuesday morning
    page_html = courier_page(longgang, stations, lang=lang, limit_min=30, k=3, basemap="blank",
                             now=made)
    path = save_courier_page(page_html, tmp_path / f"courier-{lang}.html")
    # a spot 40 m off the street near the middle of the stations
    centre = np.median(stations.frame[["lon", "lat"]].to_numpy(), axis=0)
    tap = centre + np.array([0.0004, 0.0])
    when = "2026-11-24T10:30:00+08:00"  # and used later that morning, Shenzhen time
    with browser_page(tmp_path) as (page, requests):
        page.goto(path.as_uri() + f"?now={quote(when)}")
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
    np.testing.assert_allclose([r["walk_min"] for r in rows],
                               [e[1] / (4000 / 60) for e in expected[:3]], atol=0.05)
    assert route_paths == 1 and len(items) == len(rows)
    assert ("分钟" if lang == "zh" else "min") in items[0]
    by_id = stations.frame.set_index("id")
    order = [e[0] for e in expected]
    want_aid = [i for i in order if "first_aid" in by_id.loc[i, "amenities"]][:3]
    assert first_aid == want_aid
    now = datetime.fromisoformat(when)
    want_open = [i for i in order
                 if Hours.read(by_id.loc[i, "opening_hours"], timezone=ZONE).is_open(now)][:3]
    assert open_ids == want_open
    assert want_aid and want_open and want_open != [e[0] for e in expected[:3]]


def test_hours_agree_between_python_and_the_page(tmp_path, longgang):
    """The page only compares the clock with intervals evaluated in Python: same answers."""
    specs = [*HOURS, "Mo-Fr 08:00-12:00,13:00-18:00; Sa 10:00-14:00; Su off", "Fr-Mo 10:00-16:00",
             "Mo-Fr 10:00-12:00 unknown", "off"]
    stations = _stations(longgang, specs)
    ids = stations.ids  # station i has specs[i % len(specs)]
    made = datetime(2026, 11, 22, 12, 0)  # a Sunday noon in Shenzhen
    times = ["2026-11-23T07:59:00", "2026-11-23T08:00:00", "2026-11-24T12:30:00",
             "2026-11-28T11:00:00", "2026-11-29T11:00:00", "2026-11-25T01:30:00",
             "2026-11-23T11:00:00", "2026-11-27T17:59:00", "2026-11-22T23:00:00"]
    later = (made + timedelta(days=HOURS_DAYS, hours=1)).isoformat() + "+08:00"
    path = save_courier_page(courier_page(longgang, stations, basemap="blank", now=made),
                             tmp_path / "c.html")
    with browser_page(tmp_path) as (page, _):
        page.goto(path.as_uri())
        got = page.evaluate("([ids, times]) => ids.map(i => times.map(t => c15.openAt(i, t)))",
                            [ids, [t + "+08:00" for t in times]])
        after = page.evaluate("([ids, t]) => ids.map(i => c15.openAt(i, t))", [ids, later])
    hours = [Hours.read(s, timezone=ZONE) for s in specs]
    want = [[h.is_open(datetime.fromisoformat(t)) for t in times] for h in hours]
    assert got[:len(specs)] == want and got[len(specs)] == want[0]
    assert want[-4][0] is False and want[3][5] is True  # a closed morning; open past midnight
    assert all(v is None for v in want[4])  # not understood: unknown, never guessed
    assert want[-2][6] is None  # an "unknown" rule
    # after the evaluated days: 24/7 and "off" still hold, the rest is unknown
    assert after == [True, None, None, None, None, None, None, None, False, True]
