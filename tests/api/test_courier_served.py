"""The courier page as the service serves it: it asks /nearest over real HTTP."""

from __future__ import annotations

import numpy as np
import pandas as pd

from circle15.api.app import create_app
from circle15.api.settings import Settings
from circle15.geo.placement import place_points
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
                  "amenities": ["water", "charger"] * 4}).to_csv(tmp_path / "seed.csv",
                                                                 index=False)
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
        import json
        import urllib.request

        with urllib.request.urlopen(f"{base}/nearest?lon={tap[0]}&lat={tap[1]}&k=3") as r:
            answer = json.load(r)
        with urllib.request.urlopen(
                f"{base}/nearest?lon={tap[0]}&lat={tap[1]}&k=3&amenity=charger") as r:
            answer_charger = json.load(r)
    assert requests.blocked == []
    assert any("/nearest?" in u for u in requests.local)  # the page asked the service
    assert [r["id"] for r in rows] == [s["id"] for s in answer["stations"]] and rows
    np.testing.assert_allclose([r["walk_min"] for r in rows],
                               [s["walk_min"] for s in answer["stations"]], atol=0.01)
    assert routes == 1
    assert charger == [s["id"] for s in answer_charger["stations"]]
    assert size < 400_000  # no network inside: the page stays small at any area size
