"""A catalogue of bad requests: each gets a 4xx with a clear message, and nothing is stored."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from circle15.api.app import create_app
from circle15.api.settings import Settings
from circle15.geo.crs import wgs84_to_gcj02
from tests.conftest import shared
from tests.helpers import points_near_streets

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 50_000


@pytest.fixture(scope="module")
def client(tmp_path_factory, longgang, cache_dir):
    import os

    os.environ["CIRCLE15_CACHE_DIR"] = str(cache_dir)
    folder = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(81)
    pp = points_near_streets(longgang, 300, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "population": 10}).to_csv(
        folder / "pop.csv", index=False)
    st = points_near_streets(longgang, 4, rng, spread_m=5)
    pd.DataFrame({"id": ["LG-1", "LG-2", "LG-3", "LG-4"], "name": "驿站", "lon": st[:, 0],
                  "lat": st[:, 1]}).to_csv(folder / "seed.csv", index=False)
    settings = Settings(network=str(shared("osm/shenzhen-longgang.osm")),
                        population=str(folder / "pop.csv"), stations_seed=str(folder / "seed.csv"),
                        data_dir=folder, planner_token=SecretStr(TOKEN), max_upload_bytes=LIMIT)
    with TestClient(create_app(settings)) as c:
        c.street = points_near_streets(longgang, 6, rng, spread_m=3)  # type: ignore[attr-defined]
        yield c


def _ok_station(c, **over):
    lon, lat = c.street[0]
    return {"id": "OK-1", "name": "好站", "lon": float(lon), "lat": float(lat), **over}


def _csv(rows) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode()


def _upload(name, data, ctype="text/csv"):
    return {"files": {"file": (name, data, ctype)}, "headers": AUTH}


def cases(c):
    lon, lat = (float(v) for v in c.street[1])
    g_lon, g_lat = wgs84_to_gcj02(c.street[:, 0], c.street[:, 1])
    gcj_rows = [{"id": f"G{i}", "name": "g", "lon": x, "lat": y}
                for i, (x, y) in enumerate(zip(g_lon, g_lat, strict=True))]
    big = b"id,name,lon,lat\n" + b"A,b,114.2,22.69\n" * 5000
    return {
        "malformed json": ("post", "/stations", {"content": b"{not json", "headers": {
            **AUTH, "content-type": "application/json"}}, 422, "json"),
        "json array not object": ("post", "/stations", {"json": [1, 2], "headers": AUTH},
                                  422, "object"),
        "missing name": ("post", "/stations", {"json": {"id": "A", "lon": lon, "lat": lat},
                                               "headers": AUTH}, 422, "name"),
        "lon not a number": ("post", "/stations", {"json": _ok_station(c, lon="east"),
                                                   "headers": AUTH}, 422, "lon"),
        "lon NaN": ("post", "/stations", {"content": json.dumps(_ok_station(c)).replace(
            str(_ok_station(c)["lon"]), "NaN").encode(), "headers": {
            **AUTH, "content-type": "application/json"}}, 422, "lon"),
        "lat infinite": ("post", "/stations", {"content": json.dumps(_ok_station(c)).replace(
            str(_ok_station(c)["lat"]), "1e999").encode(), "headers": {
            **AUTH, "content-type": "application/json"}}, 422, "lat"),
        "lat out of range": ("post", "/stations", {"json": _ok_station(c, lat=95.0),
                                                   "headers": AUTH}, 422, "lat"),
        "lon out of range": ("post", "/stations", {"json": _ok_station(c, lon=200.0),
                                                   "headers": AUTH}, 422, "lon"),
        "swapped lon/lat": ("post", "/stations", {"json": _ok_station(c, lon=lat, lat=lon),
                                                  "headers": AUTH}, 422, "lat"),
        "outside the area": ("post", "/stations", {"json": _ok_station(c, lon=116.65,
                                                                       lat=40.13),
                                                   "headers": AUTH}, 422,
                             "outside the network area"),
        "unknown crs": ("post", "/stations?crs=utm", {"json": _ok_station(c), "headers": AUTH},
                        422, "crs"),
        "unknown status": ("post", "/stations", {"json": _ok_station(c, status="demolished"),
                                                 "headers": AUTH}, 422, "status"),
        "unknown amenity": ("post", "/stations", {"json": _ok_station(c, amenities=["sauna"]),
                                                  "headers": AUTH}, 422, "unknown amenity"),
        "extra field": ("post", "/stations", {"json": _ok_station(c, colour="red"),
                                              "headers": AUTH}, 422, "colour"),
        "bad id characters": ("post", "/stations", {"json": _ok_station(c, id="a b/c"),
                                                    "headers": AUTH}, 422, "id"),
        "id too long": ("post", "/stations", {"json": _ok_station(c, id="x" * 65),
                                              "headers": AUTH}, 422, "id"),
        "empty name": ("post", "/stations", {"json": _ok_station(c, name=""),
                                             "headers": AUTH}, 422, "name"),
        "duplicate id": ("post", "/stations", {"json": _ok_station(c, id="LG-1"),
                                               "headers": AUTH}, 409, "LG-1"),
        "update unknown id": ("put", "/stations/NOPE", {"json": {"name": "n", "lon": lon,
                                                                 "lat": lat},
                                                        "headers": AUTH}, 404, "NOPE"),
        "delete unknown id": ("delete", "/stations/NOPE", {"headers": AUTH}, 404, "NOPE"),
        "get unknown id": ("get", "/stations/NOPE", {}, 404, "NOPE"),
        "huge body": ("post", "/stations", {"content": b"{" + b" " * (LIMIT + 10) + b"}",
                                            "headers": {**AUTH,
                                                        "content-type": "application/json"}},
                      413, "limit"),
        "import garbage bytes": ("post", "/stations/import",
                                 _upload("s.csv", bytes(range(256)) * 20), 422, "s.csv"),
        "import unsupported type": ("post", "/stations/import",
                                    _upload("s.pdf", b"%PDF-1.4", "application/pdf"), 422,
                                    "unsupported file type"),
        "import malformed geojson": ("post", "/stations/import",
                                     _upload("s.geojson", b'{"type": "FeatureCollection", ',
                                             "application/geo+json"), 422, "s.geojson"),
        "import missing columns": ("post", "/stations/import",
                                   _upload("s.csv", b"code,label\n1,x\n"), 422, "missing"),
        "import duplicate ids": ("post", "/stations/import",
                                 _upload("s.csv", _csv([_ok_station(c), _ok_station(c)])), 422,
                                 "duplicate station id"),
        "import huge file": ("post", "/stations/import", _upload("s.csv", big), 413, "limit"),
        "import gcj02 as wgs84": ("post", "/stations/import", _upload("s.csv", _csv(gcj_rows)),
                                  422, "GCJ-02"),
        "nearest missing lat": ("get", f"/nearest?lon={lon}", {}, 422, "lat"),
        "nearest lon out of range": ("get", "/nearest?lon=500&lat=22.7", {}, 422, "lon"),
        "nearest k zero": ("get", f"/nearest?lon={lon}&lat={lat}&k=0", {}, 422, "k"),
        "nearest k huge": ("get", f"/nearest?lon={lon}&lat={lat}&k=1000", {}, 422, "k"),
        "nearest unknown amenity": ("get", f"/nearest?lon={lon}&lat={lat}&amenity=spa", {},
                                    422, "amenity"),
        "nearest unknown crs": ("get", f"/nearest?lon={lon}&lat={lat}&crs=mars", {}, 422,
                                "crs"),
        "nearest far away": ("get", "/nearest?lon=116.65&lat=40.13", {}, 422,
                             "nearest walkable street"),
        "nearest lon NaN": ("get", "/nearest?lon=nan&lat=22.7", {}, 422, "lon"),
        "siting k zero": ("post", "/siting", {"json": {"k": 0}}, 422, "k"),
        "siting k above the cap": ("post", "/siting", {"json": {"k": 51}}, 422,
                                   "less than or equal to 50"),
        "siting nodes too dense": ("post", "/siting", {"json": {"node_spacing_m": 20}}, 422,
                                   "node_spacing_m"),
        "siting k above candidates": ("post", "/siting", {"json": {"k": 50,
                                                                   "node_spacing_m": 5000}},
                                      422, "candidate"),
        "siting target above 100%": ("post", "/siting", {"json": {"objective": "target",
                                                                  "target": 1.5}}, 422,
                                     "target"),
        "siting unknown objective": ("post", "/siting", {"json": {"objective": "fastest"}},
                                     422, "objective"),
        "whatif unknown id": ("post", "/whatif", {"json": {"remove": ["NOPE"]}}, 422, "NOPE"),
        "whatif clashing id": ("post", "/whatif", {"json": {"add": [_ok_station(c, id="LG-2")]}},
                               422, "LG-2"),
        "gaps negative hexagon": ("get", "/gaps?hex_m=-5", {}, 422, "hex_m"),
        "isochrones not a band": ("get", "/isochrones?minutes=7", {}, 422, "bands"),
        "isochrones unknown station": ("get", "/isochrones?station=NOPE", {}, 404, "NOPE"),
        "summary unknown format": ("get", "/coverage/summary?format=xml", {}, 422, "format"),
    }




def test_catalogue_has_at_least_30_cases(client):
    assert len(cases(client)) >= 30


@pytest.mark.parametrize("name", [
    "malformed json", "json array not object", "missing name", "lon not a number", "lon NaN",
    "lat infinite", "lat out of range", "lon out of range", "swapped lon/lat",
    "outside the area", "unknown crs", "unknown status", "unknown amenity", "extra field",
    "bad id characters", "id too long", "empty name", "duplicate id", "update unknown id",
    "delete unknown id", "get unknown id", "huge body", "import garbage bytes",
    "import unsupported type", "import malformed geojson", "import missing columns",
    "import duplicate ids", "import huge file", "import gcj02 as wgs84", "nearest missing lat",
    "nearest lon out of range", "nearest k zero", "nearest k huge", "nearest unknown amenity",
    "nearest unknown crs", "nearest far away", "nearest lon NaN", "siting k zero",
    "siting k above candidates", "siting target above 100%", "siting unknown objective",
    "whatif unknown id", "whatif clashing id", "gaps negative hexagon", "isochrones not a band",
    "isochrones unknown station", "summary unknown format",
])
def test_bad_request(client: TestClient, name: str):
    method, path, kwargs, status, words = cases(client)[name]
    before = client.get("/stations").json()
    r = client.request(method.upper(), path, **kwargs)
    assert r.status_code == status, r.text
    detail = json.dumps(r.json(), ensure_ascii=False)
    assert words.lower() in detail.lower(), detail
    assert client.get("/stations").json() == before  # nothing stored or changed
