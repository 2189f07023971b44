"""The service's coverage by hour and night layer, on the Longgang extract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from circle15.api.app import create_app
from circle15.api.routers import hours
from circle15.api.settings import Settings
from tests.conftest import shared
from tests.helpers import points_near_streets


@pytest.fixture(scope="module")
def client(tmp_path_factory, longgang, cache_dir):
    import os

    os.environ["CIRCLE15_CACHE_DIR"] = str(cache_dir)
    folder = tmp_path_factory.mktemp("hours-api")
    rng = np.random.default_rng(33)
    pp = points_near_streets(longgang, 300, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "population": 10}).to_csv(
        folder / "pop.csv", index=False)
    st = points_near_streets(longgang, 4, rng, spread_m=5)
    pd.DataFrame({"id": ["N-1", "N-2", "N-3", "N-4"], "name": "驿站", "lon": st[:, 0],
                  "lat": st[:, 1], "opening_hours": ["Mo-Su 08:00-20:00", "24/7", "24/7", ""]}
                 ).to_csv(folder / "seed.csv", index=False)
    app = create_app(Settings(network=str(shared("osm/shenzhen-longgang.osm")),
                              population=str(folder / "pop.csv"),
                              stations_seed=str(folder / "seed.csv"), data_dir=folder))
    if not any(getattr(r, "path", "") == "/coverage/by-hour" for r in app.routes):
        app.include_router(hours.router)  # until the app lists the router itself
    with TestClient(app) as c:
        yield c


def test_by_hour_json_and_csv(client):
    body = client.get("/coverage/by-hour", params={"day": "2026-11-24"}).json()
    assert body["day"] == "2026-11-24" and body["stations_without_hours"] == 1
    rows = body["rows"]
    assert len(rows) == 24 and [r["hour"] for r in rows] == list(range(24))
    assert rows[2]["stations_open"] == 3 and rows[12]["stations_open"] == 4
    closed = client.get("/coverage/by-hour", params={"unknown_hours": "closed"}).json()
    assert closed["rows"][2]["stations_open"] == 2
    csv = client.get("/coverage/by-hour", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 25
    assert client.get("/coverage/by-hour", params={"day": "Xx"}).status_code == 422


def test_night_layer_geojson(client):
    r = client.get("/coverage/night", params={"at": "Tu 02:00", "unknown_hours": "closed"})
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["properties"]["stations_open"] == 2
    states = {f["properties"]["id"]: f["properties"]["state"] for f in fc["features"]
              if f["properties"]["kind"] == "station"}
    assert states == {"N-1": "closed", "N-2": "open", "N-3": "open", "N-4": "unknown"}
    assert client.get("/coverage/night", params={"at": "Tu 25:00"}).status_code == 422
