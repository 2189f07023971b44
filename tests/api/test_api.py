"""The service over the real Longgang extract, on SQLite and on PostgreSQL/PostGIS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from circle15.geo.snapping.snap import DEFAULT_RULE, snap_points
from tests.api.conftest import AUTH, make_client
from tests.helpers import points_near_streets
from tests.reference import split_graph, within


def _count(client: TestClient) -> int:
    return len(client.get("/stations").json()["features"])


def test_crud_round_trip(client, area):
    lon, lat = area["spare"][0]
    body = {"id": "NEW-1", "name": "新驿站", "lon": lon, "lat": lat, "address": "路 1 号",
            "amenities": ["饮水", "charger"], "opening_hours": "Mo-Fr 08:00-18:00"}
    r = client.post("/stations", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["amenities"] == ["water", "charger"]
    got = client.get("/stations/NEW-1").json()
    assert got["name"] == "新驿站" and got["lon"] == pytest.approx(lon)
    lon2, lat2 = area["spare"][1]
    r = client.put("/stations/NEW-1", json={**{k: v for k, v in body.items() if k != "id"},
                                            "lon": lon2, "lat": lat2, "status": "planned"},
                   headers=AUTH)
    assert r.status_code == 200, r.text
    assert client.get("/stations/NEW-1").json()["status"] == "planned"
    listing = client.get("/stations")
    assert listing.headers["content-type"] == "application/geo+json"
    assert {f["properties"]["id"] for f in listing.json()["features"]} >= {"NEW-1", "LG-1"}
    assert client.delete("/stations/NEW-1", headers=AUTH).status_code == 204
    assert client.get("/stations/NEW-1").status_code == 404
    store = client.app.state.circle15.store
    if store.is_postgres:  # PostGIS keeps a real geometry in step
        points = dict(store.postgis_points())
        row = store.get("LG-1")
        assert points["LG-1"] == f"POINT({row['lon']} {row['lat']})"


def test_import_with_one_bad_row_stores_nothing(client, area):
    before = _count(client)
    good = area["spare"][2:6]
    rows = [{"id": f"IMP-{i}", "name": f"导入{i}", "lon": x, "lat": y}
            for i, (x, y) in enumerate(good)]
    rows[2]["lat"] = "north"
    csv = pd.DataFrame(rows).to_csv(index=False).encode()
    r = client.post("/stations/import", files={"file": ("batch.csv", csv, "text/csv")},
                    headers=AUTH)
    assert r.status_code == 422
    body = r.json()
    assert body["problems"][0]["row"] == 3 and "latitude" in body["problems"][0]["message"]
    assert _count(client) == before
    rows[2]["lat"] = good[2][1]
    csv = pd.DataFrame(rows).to_csv(index=False).encode()
    r = client.post("/stations/import", files={"file": ("batch.csv", csv, "text/csv")},
                    headers=AUTH)
    assert r.status_code == 201 and r.json()["imported"] == 4
    assert _count(client) == before + 4
    # importing the same ids again clashes: nothing more is stored
    r = client.post("/stations/import", files={"file": ("batch.csv", csv, "text/csv")},
                    headers=AUTH)
    assert r.status_code == 409 and "IMP-0" in r.json()["detail"]
    assert _count(client) == before + 4


def test_a_new_station_changes_coverage_and_nearest(client, area, longgang):
    before = client.get("/coverage/summary").json()["bands"][-1]
    # put a station where the nearest one is far away
    far = client.get("/gaps").json()["features"][0]["properties"]
    r = client.post("/stations", json={"id": "GAP-1", "name": "补缺", "lon": far["lon"],
                                       "lat": far["lat"]}, headers=AUTH)
    if r.status_code == 422:  # the gap centre may be off the streets: use a street spot
        lon, lat = area["spare"][10]
        r = client.post("/stations", json={"id": "GAP-1", "name": "补缺", "lon": lon,
                                           "lat": lat}, headers=AUTH)
    assert r.status_code == 201, r.text
    st = r.json()
    after = client.get("/coverage/summary").json()["bands"][-1]
    assert after["covered"] >= before["covered"]
    assert after["cross_covered"] + after["covered"] > before["cross_covered"] + before["covered"]
    near = client.get(f"/nearest?lon={st['lon']}&lat={st['lat']}&k=1").json()
    assert near["stations"][0]["id"] == "GAP-1"
    # standing at the station: to its street and back, no more
    off_m = client.app.state.circle15.coverage().stations.frame.set_index("id").loc[
        "GAP-1", "off_network_m"]
    assert near["stations"][0]["distance_m"] == pytest.approx(2 * off_m, abs=0.2)


def test_writes_need_the_token(client):
    body = {"id": "X-1", "name": "x", "lon": 114.2, "lat": 22.69}
    assert client.post("/stations", json=body).status_code == 401
    r = client.post("/stations", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert client.delete("/stations/LG-1").status_code == 401
    assert client.put("/stations/LG-1", json={"name": "y", "lon": 114.2, "lat": 22.69}
                      ).status_code == 401
    assert client.get("/stations/LG-1").status_code == 200  # reading is open


def test_nearest_agrees_with_independent_shortest_paths(client, longgang):
    cov = client.app.state.circle15.coverage()
    rng = np.random.default_rng(8)
    for lon, lat in points_near_streets(longgang, 4, rng, spread_m=20):
        r = client.get(f"/nearest?lon={lon}&lat={lat}&k=3")
        assert r.status_code == 200
        got = r.json()["stations"]
        q = snap_points(longgang, longgang.project(np.array([lon]), np.array([lat])),
                        max_dist_m=1e4, rule=DEFAULT_RULE)
        G = split_graph(longgang, {"st": cov.stations.snapped, "q": q}, targets=frozenset({"st"}))
        # within the limit; when none is, the nearest up to twice it (and it says so)
        ref = within(G, ("q", 0), 2 * cov.settings.limit_m)
        every = sorted((d, cov.stations.ids[j]) for (key, d) in ref.items()
                       if isinstance(key, tuple) and key[0] == "st" for j in [key[1]])
        want = [w for w in every if w[0] <= cov.settings.limit_m][:3] or every[:3]
        assert r.json()["within_limit"] == (bool(every) and every[0][0] <= cov.settings.limit_m)
        assert r.json()["mode"] == "walk"
        assert [g["id"] for g in got] == [w[1] for w in want]
        np.testing.assert_allclose([g["distance_m"] for g in got], [w[0] for w in want],
                                   atol=0.2)
        assert all(g["route"]["type"] == "LineString" for g in got)


def test_planner_reads(client):
    csv = client.get("/coverage/summary?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode())  # Excel in China reads it as UTF-8
    bands = client.get("/coverage/summary").json()["bands"]
    loads = client.get("/coverage/stations").json()["stations"]
    # every covered person is carried by exactly one station: their nearest
    assert sum(s["residents_nearest"] for s in loads) == pytest.approx(bands[-1]["covered"],
                                                                       abs=1)
    assert {s["id"] for s in loads} >= {"LG-1"} and all(not s["overloaded"] for s in loads)
    iso = client.get("/isochrones?minutes=15")
    assert iso.status_code == 200 and iso.headers["content-type"] == "application/geo+json"
    one = client.get("/isochrones?station=LG-1").json()["features"]
    assert [f["properties"]["minutes"] for f in one] == [5.0, 10.0, 15.0]
    assert {f["properties"]["station"] for f in one} == {"LG-1"}
    units = client.get("/population").json()["features"]
    assert len(units) == 800 and "walk_min" in units[0]["properties"]
    siting = client.post("/siting", json={"k": 2, "node_spacing_m": 300}).json()
    assert siting["summary"]["sites"] <= 2 and len(siting["curve"]) >= 2
    what = client.post("/whatif", json={"remove": ["LG-1"]}).json()
    assert what["delta"]["newly_covered"] == 0 and what["delta"]["lost_coverage"] >= 0
    assert "<html" in client.get("/maps/planner?basemap=blank").text
    courier = client.get("/maps/courier?basemap=blank").text
    assert "<html" in courier and "龙岗驿站2" in courier  # the stations are on the page
    r = client.options("/stations", headers={"Origin": "http://example.test",
                                             "Access-Control-Request-Method": "GET"})
    assert r.headers.get("access-control-allow-origin") == "http://example.test"
    assert client.get("/coverage/areas").status_code == 404


def test_the_store_persists_across_restarts(area, tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    lon, lat = area["spare"][12]
    with make_client(area, tmp_path, None) as c:
        assert c.post("/stations", json={"id": "KEEP", "name": "k", "lon": lon, "lat": lat},
                      headers=AUTH).status_code == 201
    with make_client(area, tmp_path, None) as c:
        assert c.get("/stations/KEEP").status_code == 200
    assert (tmp_path / "circle15.db").is_file()


def test_map_pages_follow_the_stations(client, area):
    first = client.get("/maps/courier?basemap=blank").text
    assert client.get("/maps/courier?basemap=blank").text == first  # served again as built
    lon, lat = area["spare"][15]
    assert client.post("/stations", json={"id": "MAP-1", "name": "地图站", "lon": lon,
                                          "lat": lat}, headers=AUTH).status_code == 201
    after = client.get("/maps/courier?basemap=blank").text
    assert "地图站" in after and "地图站" not in first


def test_a_second_process_sees_every_write(client, area):
    # two app instances on one database stand for two worker processes
    state = client.app.state.circle15
    from circle15.api.store import StationStore

    other = StationStore(state.store.url)
    before = other.revision
    lon, lat = area["spare"][16]
    assert client.post("/stations", json={"id": "W-2", "name": "w", "lon": lon, "lat": lat},
                       headers=AUTH).status_code == 201
    assert other.revision == before + 1 and other.get("W-2") is not None
    other.close()


def test_a_workers_service_counts_workers_and_shows_each_stations_load(area, tmp_path,
                                                                         monkeypatch, cache_dir):
    """CIRCLE15_DEMAND=mix: the service counts the mix, gives each station's residents
    and workers side by side, flags stations above CIRCLE15_MAX_LOAD, and its planner
    map's popups carry the load."""
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    with make_client(area, tmp_path, None, demand="mix", max_load=1.0) as c:
        loads = c.get("/coverage/stations").json()
        page = c.get("/maps/planner?basemap=blank").text
        summary = c.get("/coverage/summary").json()
    rows = loads["stations"]
    assert loads["max_load"] == 1.0 and rows
    assert all(r["workers_nearest"] >= 0 and r["residents_nearest"] >= 0 for r in rows)
    assert sum(r["workers_nearest"] for r in rows) > 0  # Longgang has shops and offices
    assert [r["overloaded"] for r in rows] == [r["load"] > 1.0 for r in rows]
    # the counted layer is the mix: it totals the residents by definition
    assert sum(r["mix_nearest"] for r in rows) == pytest.approx(summary["bands"][-1]["covered"],
                                                               abs=1)
    assert "超负荷" in page
