"""The courier page as the service serves it: it asks /nearest over real HTTP; and
/nearest beyond the limit agrees with the offline page."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import quote

import numpy as np
import pandas as pd

from circle15.api.app import create_app
from circle15.api.settings import Settings
from circle15.geo.crs import gcj02_to_wgs84
from circle15.geo.network.graph import haversine_m
from circle15.geo.snapping.placement import place_points
from circle15.usecases import courier_page_html
from tests.api.server import serving
from tests.browser import browser_page
from tests.conftest import shared
from tests.helpers import points_near_streets


def _usable_stations(net, k, rng):
    """k points the service accepts as stations (some streets, e.g. trunk roads or
    islands of the network, cannot take one)."""
    pts = points_near_streets(net, 5 * k, rng, spread_m=5)
    placed = place_points(net, pts[:, 0], pts[:, 1], max_snap_m=500.0, strict=True)
    refused = {p.row - 1 for p in placed.problems if p.row is not None}
    usable = [p for i, p in enumerate(pts) if i not in refused]
    assert len(usable) >= k
    return np.array(usable[:k])


def test_served_courier_page_uses_the_service(tmp_path, longgang, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    rng = np.random.default_rng(101)
    pp = points_near_streets(longgang, 300, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "population": 5}).to_csv(
        tmp_path / "pop.csv", index=False)
    st = _usable_stations(longgang, 8, rng)
    pd.DataFrame({"id": [f"C{i}" for i in range(8)], "name": [f"站{i}" for i in range(8)],
                  "lon": st[:, 0], "lat": st[:, 1],
                  "amenities": ["water", "charger;换电"] * 4,
                  "opening_hours": ["24/7", "Mo-Fr 08:00-18:00"] * 4}).to_csv(
        tmp_path / "seed.csv", index=False)
    app = create_app(Settings(network=str(shared("osm/shenzhen-longgang.osm")),
                              population=str(tmp_path / "pop.csv"),
                              stations_seed=str(tmp_path / "seed.csv"), data_dir=tmp_path))
    with serving(app) as base:
        tap = np.median(st, axis=0) + np.array([0.0003, 0.0])
        with browser_page(tmp_path, allow=("file:", "data:", base)) as (page, requests):
            page.goto(f"{base}/maps/courier?basemap=blank&lang=en")
            page.wait_for_selector(".leaflet-container")
            size = page.evaluate("() => document.documentElement.outerHTML.length")
            rows = page.evaluate(f"() => c15.show({tap[1]}, {tap[0]})")
            routes = page.evaluate("() => document.querySelectorAll('path.c15-route').length")
            page.select_option("#amenity", "charger")
            page.wait_for_timeout(300)
            charger = page.evaluate("() => Array.from(document.querySelectorAll('.c15-item'))"
                                    ".map(e => e.dataset.id)")
            page.screenshot(path=str(tmp_path / "courier-served.png"))
        answer = _get(f"{base}/nearest?lon={tap[0]}&lat={tap[1]}&k=3")
        answer_charger = _get(f"{base}/nearest?lon={tap[0]}&lat={tap[1]}&k=3&amenity=charger")
        # battery swap, by its key or its Chinese word, and open round the clock
        swap = _get(f"{base}/nearest?lon={tap[0]}&lat={tap[1]}&k=3&amenity=battery_swap")
        swap_zh = _get(f"{base}/nearest?lon={tap[0]}&lat={tap[1]}&k=3&amenity="
                       + quote("换电"))
        h24 = _get(f"{base}/nearest?lon={tap[0]}&lat={tap[1]}&k=3&open_24h=true")
    assert requests.blocked == []
    assert any("/nearest?" in u for u in requests.local)  # the page asked the service
    assert [r["id"] for r in rows] == [s["id"] for s in answer["stations"]] and rows
    np.testing.assert_allclose([r["walk_min"] for r in rows],
                               [s["walk_min"] for s in answer["stations"]], atol=0.01)
    assert routes == 1
    assert charger == [s["id"] for s in answer_charger["stations"]]
    assert size < 400_000  # no network inside: the page stays small at any area size
    assert swap == swap_zh and swap["stations"]
    assert all("battery_swap" in s["amenities"] for s in swap["stations"])
    assert h24["stations"] and all(s["opening_hours"] == "24/7" and s["open_24h"]
                                   for s in h24["stations"])
    # every answer carries links that open at the station's GCJ-02 position
    seed = pd.read_csv(tmp_path / "seed.csv").set_index("id")
    for s in answer["stations"]:
        nav = s["nav"]
        g_lon, g_lat = nav["gcj02"]
        assert f"to={g_lon:.6f},{g_lat:.6f}," in nav["amap"] and "mode=walk" in nav["amap"]
        assert f"latlng:{g_lat:.6f},{g_lon:.6f}|name:" in nav["baidu"]
        w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
        assert haversine_m(w_lon, w_lat, *seed.loc[s["id"], ["lon", "lat"]]) < 1.0


def _get(url):
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def test_beyond_the_limit_the_service_and_the_offline_page_agree(tmp_path, longgang,
                                                                  monkeypatch, cache_dir):
    """Where no station is within 15 minutes, /nearest says so and lists the nearest up
    to 30, and the offline page (at its cell's centre) says and lists the same."""
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    rng = np.random.default_rng(202)
    pp = points_near_streets(longgang, 200, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "population": 5}).to_csv(
        tmp_path / "pop.csv", index=False)
    st = _usable_stations(longgang, 4, rng)
    pd.DataFrame({"id": [f"B{i}" for i in range(4)], "name": [f"站{i}" for i in range(4)],
                  "lon": st[:, 0], "lat": st[:, 1]}).to_csv(tmp_path / "seed.csv", index=False)
    app = create_app(Settings(network=str(shared("osm/shenzhen-longgang.osm")),
                              population=str(tmp_path / "pop.csv"),
                              stations_seed=str(tmp_path / "seed.csv"), data_dir=tmp_path))
    with serving(app) as base:
        _, cov = app.state.circle15.snapshot()
        offline = tmp_path / "offline.html"
        offline.write_text(courier_page_html(longgang, cov, basemap="blank"), encoding="utf-8")
        with browser_page(tmp_path, allow=("file:", "data:", base)) as (page, requests):
            page.goto(offline.as_uri())
            page.wait_for_selector(".leaflet-container")
            spots = points_near_streets(longgang, 300, rng, spread_m=10)
            centres = page.evaluate("(pts) => pts.map(p => c15.cellCentre(p[1], p[0]))",
                                    spots.tolist())
            found = None
            for lat, lon in centres:
                api = _get(f"{base}/nearest?lon={lon}&lat={lat}&k=3")
                if not api["within_limit"] and len(api["stations"]) >= 2:
                    found = (lat, lon, api)
                    break
            assert found, "no place beyond the limit among the samples"
            lat, lon, api = found
            page.evaluate(f"() => c15.show({lat}, {lon})")
            beyond = page.inner_text(".c15-beyond")
            offline_answer = page.evaluate("() => c15.answer()")
            # the served page, asking the service, says the same
            page.goto(f"{base}/maps/courier?basemap=blank")
            page.wait_for_selector(".leaflet-container")
            page.evaluate(f"() => c15.show({lat}, {lon})")
            page.wait_for_selector(".c15-beyond")
            served = page.evaluate("() => Array.from(document.querySelectorAll('.c15-item'))"
                                   ".map(e => e.dataset.id)")
    assert requests.blocked == []
    assert api["limit_min"] == 15 and api["reach_min"] == 30
    assert "15 分钟内没有符合条件的驿站" in beyond
    assert offline_answer["within_limit"] is False
    ids = [s["id"] for s in api["stations"]]
    assert [s["id"] for s in offline_answer["stations"]] == ids == served
    np.testing.assert_allclose([s["walk_min"] for s in offline_answer["stations"]],
                               [s["walk_min"] for s in api["stations"]], atol=0.1)
    assert all(15 < s["walk_min"] <= 30 for s in api["stations"])
