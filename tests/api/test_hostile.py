"""Hostile input and faults: each finding of the security review, as it was found.

Every test names the finding it holds down. Writes that must be refused are
refused with a 4xx/503 that says why, nothing half-stored, and every read
endpoint keeps answering.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pytest
import shapely

from circle15.api.store import StationStore
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.errors import InputError, StorageError
from circle15.geo.output.export import csv_text
from tests.api.conftest import AUTH, make_client
from tests.api.server import serving
from tests.pg import postgres_database

READS = ["/stations", "/coverage/summary", "/population", "/gaps", "/maps/planner?basemap=blank",
         "/maps/courier?basemap=blank", "/nearest?lon=114.21&lat=22.69"]


def _reads_ok(client) -> None:
    for url in READS:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])


def _csv(rows: list[dict]) -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode()


# 1. one write took the whole service down ------------------------------------------


def test_a_coordinate_out_of_range_after_conversion_is_refused_everywhere(client):
    body = {"id": "BAD-1", "name": "x", "lon": -180, "lat": 40}
    r = client.post("/stations?crs=bd09", json=body, headers=AUTH)
    assert r.status_code == 422 and "out of range" in r.text
    r = client.put("/stations/LG-1?crs=bd09", json={"name": "x", "lon": -180, "lat": 40},
                   headers=AUTH)
    assert r.status_code == 422
    r = client.post("/stations/import?crs=bd09", headers=AUTH,
                    files={"file": ("s.csv", _csv([body]), "text/csv")})
    assert r.status_code == 422
    r = client.post("/whatif", json={"add": [body], "crs": "bd09"})
    assert r.status_code == 422
    assert client.get("/stations/BAD-1").status_code == 404
    _reads_ok(client)


def test_the_database_itself_refuses_rows_that_could_never_be_read(client):
    store: StationStore = client.app.state.circle15.store
    row = {"id": "RAW-1", "name": "x", "address": "", "amenities": "", "opening_hours": "",
           "status": "existing", "lon": -180.0065, "lat": 40.0}
    with pytest.raises(InputError, match="refused"):
        store.insert_many([row])
    with pytest.raises(InputError):
        store.insert_many([{**row, "lon": 116.0, "name": "n" * 201}])
    assert store.get("RAW-1") is None


def test_a_bad_row_already_stored_is_skipped_not_fatal(area, tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    with make_client(area, tmp_path, None) as c:
        _reads_ok(c)
    # a row written by hand, around the constraints (as an older version could have)
    with sqlite3.connect(tmp_path / "circle15.db") as db:
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute("INSERT INTO stations VALUES ('OLD-1', 'old', '', '', '', 'existing', "
                   "-180.0065, 40, '2024-01-01')")
        db.execute("UPDATE station_revision SET value = value + 1")
    with make_client(area, tmp_path, None) as c:
        _reads_ok(c)
        assert any(s.startswith("OLD-1") for s in c.app.state.circle15.skipped)


# 3. deleting the database file lost every later write silently ----------------------


def test_a_deleted_database_refuses_writes_with_503(area, tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    lon, lat = area["spare"][3]
    with make_client(area, tmp_path, None) as c:
        for f in tmp_path.glob("circle15.db*"):
            f.unlink()
        r = c.post("/stations", json={"id": "LOST-1", "name": "x", "lon": lon, "lat": lat},
                   headers=AUTH)
        assert r.status_code == 503 and "was deleted" in r.json()["detail"]
        assert c.delete("/stations/LG-2", headers=AUTH).status_code == 503
        assert "deleted" in c.get("/health").json()["storage"]


# 5. concurrent POSTs of the same new id gave 500 -------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_posts_of_one_id_give_one_201_and_409s(backend, area, tmp_path,
                                                          monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    lon, lat = area["spare"][4]

    def run(url: str | None) -> list[int]:
        with make_client(area, tmp_path, url) as c, serving(c.app) as base:
            body = {"id": "RACE-1", "name": "race", "lon": lon, "lat": lat}

            def post(_: int) -> int:
                return httpx.post(f"{base}/stations", json=body, headers=AUTH,
                                  timeout=30).status_code

            with ThreadPoolExecutor(16) as pool:
                return list(pool.map(post, range(48)))

    if backend == "sqlite":
        codes = run(None)
    else:
        with postgres_database() as url:
            codes = run(url)
    assert sorted(set(codes)) == [201, 409] and codes.count(201) == 1


# 6. PostgreSQL 500s for a NUL byte or long texts -------------------------------------


def test_nul_bytes_and_long_texts_are_422_on_every_backend(client, area):
    lon, lat = area["spare"][5]
    base = {"id": "TXT-1", "name": "x", "lon": float(lon), "lat": float(lat)}
    assert client.post("/stations", json={**base, "name": "a\x00b"},
                       headers=AUTH).status_code == 422
    rows = [{**base, "name": "n" * 201}, {**base, "id": "I" * 65},
            {**base, "id": "TXT-3", "opening_hours": "Mo-Fr " + "08:00-09:00," * 30}]
    r = client.post("/stations/import", headers=AUTH,
                    files={"file": ("s.csv", _csv(rows), "text/csv")})
    assert r.status_code == 422
    text = r.json()["detail"]
    assert "at most 200" in text and "at most 64" in text
    assert client.get("/stations/TXT-1").status_code == 404


# 7. import skipped the id rules that POST applies ------------------------------------


def test_import_applies_the_id_rule(client, area):
    lon, lat = area["spare"][6]
    rows = [{"id": i, "name": "x", "lon": lon, "lat": lat}
            for i in ("a/b", "../../etc/passwd", "..", "ok-1")]
    r = client.post("/stations/import", headers=AUTH,
                    files={"file": ("s.csv", _csv(rows), "text/csv")})
    assert r.status_code == 422
    bad = {p["row"] for p in r.json()["problems"] if "is not allowed" in p["message"]}
    assert bad == {1, 2, 3}
    assert client.get("/stations/ok-1").status_code == 404  # all or nothing


# 8. spreadsheet formula injection ----------------------------------------------------


def test_csv_cells_never_start_a_formula(area, tmp_path, monkeypatch, cache_dir, longgang):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    hull = shapely.buffer(longgang.hull, 10)
    minx, miny, maxx, maxy = hull.bounds
    mid = (minx + maxx) / 2
    names = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)", "-2+3"]
    boxes = [shapely.box(minx, miny, mid, maxy), shapely.box(mid, miny, maxx, maxy),
             shapely.box(maxx + 10, miny, maxx + 20, maxy)]
    gpd.GeoDataFrame({"name": names}, geometry=boxes, crs=longgang.crs).to_crs(4326).to_file(
        tmp_path / "areas.geojson", driver="GeoJSON")
    with make_client(area, tmp_path, None, areas=str(tmp_path / "areas.geojson")) as c:
        text = c.get("/coverage/areas?format=csv").text
    cells = [cell for line in text.splitlines()[1:] for cell in line.split(",")]
    assert "'=HYPERLINK(\"\"http://evil.example\"\"" in text and "'@SUM(1+1)" in text
    assert "'-2+3" in text
    assert not any(cell.lstrip('"').startswith(("=", "@", "+")) for cell in cells)
    # numbers stay numbers
    assert csv_text(pd.DataFrame({"x": [-2.5], "name": ["-x"]})).splitlines()[1] == "-2.5,'-x"


# 9. an import froze the whole server --------------------------------------------------


def test_the_service_answers_while_a_large_import_is_parsed(area, tmp_path, monkeypatch,
                                                           cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    n = 40_000
    rows = pd.DataFrame({"id": [f"B{i}" for i in range(n)], "name": "bulk",
                         "lon": 116.0 + np.arange(n) * 1e-6, "lat": 40.0})
    data = rows.to_csv(index=False).encode()
    with make_client(area, tmp_path, None, max_upload_bytes=5_000_000) as c, \
            serving(c.app) as base:
        result: dict[str, object] = {}

        def do_import() -> None:
            t0 = time.perf_counter()
            r = httpx.post(f"{base}/stations/import", headers=AUTH, timeout=120,
                           files={"file": ("big.csv", data, "text/csv")})
            result["status"], result["seconds"] = r.status_code, time.perf_counter() - t0

        # the maps drawn at start-up first: the import is the only load measured
        assert c.get("/maps/planner").status_code == c.get("/maps/courier").status_code == 200
        worker = threading.Thread(target=do_import)
        worker.start()
        slowest = 0.0
        while worker.is_alive():
            t0 = time.perf_counter()
            assert httpx.get(f"{base}/health", timeout=30).status_code == 200
            slowest = max(slowest, time.perf_counter() - t0)
            time.sleep(0.05)
        worker.join()
    assert result["status"] == 422  # every row is far outside Longgang
    assert slowest < 1.0, (f"/health waited {slowest:.2f} s during a "
                           f"{result['seconds']:.1f} s import")


# 10. storage failures were 500; an unopenable database gave a long traceback -----------


def _tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=True, capture_output=True, timeout=30)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.fail(f"this fault test mounts a small tmpfs and needs root ({exc})")


def test_full_disk_and_read_only_database_are_503(area, tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    disk = tmp_path / "disk"
    _tmpfs(disk, "600k")
    try:
        lon, lat = area["spare"][7]
        with make_client(area, disk, None) as c:
            before = len(c.get("/stations").json()["features"])
            # fill the disk
            with (disk / "filler").open("wb") as fh:
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                except OSError:
                    pass
            body = {"id": "FULL-1", "name": "x" * 150, "address": "y" * 400,
                    "lon": lon, "lat": lat}
            # (each write is checkpointed out of the log, so the log's pages are reused
            # and more writes fit than before; they go on until the disk refuses one)
            codes: list[int] = []
            while 503 not in codes and len(codes) < 3_000:
                codes.append(c.post("/stations", json={**body, "id": f"FULL-{len(codes)}"},
                                    headers=AUTH).status_code)
            r = c.post("/stations", json={**body, "id": "FULL-LAST"}, headers=AUTH)
            assert 503 in codes and r.status_code == 503, codes
            assert "full" in r.json()["detail"] and "station database" in r.json()["detail"]
            stored = len(c.get("/stations").json()["features"])
            assert stored - before == codes.count(201)  # nothing reported done was lost
            _reads_ok(c)
            (disk / "filler").unlink()
        # the disk made read-only: the service refuses to start on it, in one line
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, timeout=30)
        with pytest.raises(StorageError, match=f"cannot open the station database {disk}"):
            StationStore(f"sqlite:///{disk / 'circle15.db'}")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=30)


def test_an_unopenable_database_is_one_clear_line(tmp_path):
    with pytest.raises(StorageError, match=str(tmp_path / "nowhere")):
        StationStore(f"sqlite:///{tmp_path / 'nowhere' / 'c.db'}")
    proc = subprocess.run(
        [sys.executable, "-m", "circle15", "serve", "--port", "0"],
        env={"CIRCLE15_DATABASE_URL": f"sqlite:///{tmp_path / 'nowhere' / 'c.db'}",
             "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert str(tmp_path / "nowhere") in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 3


# 11. GCJ-02 detection only covered files of 3+ rows ----------------------------------


def test_a_single_gcj02_point_posted_as_wgs84_is_caught(client, longgang):
    # a spot right on a street, shifted the way Amap shifts it (~500 m here)
    centre = np.median(longgang.node_xy, axis=0)
    middle = int(np.argmin(np.hypot(*(longgang.node_xy - centre).T)))
    on_street = longgang.unproject(longgang.node_xy[[middle]])[0]
    lon, lat = (float(v[0]) for v in wgs84_to_gcj02(on_street[:1], on_street[1:]))
    body = {"id": "AMAP-1", "name": "from amap", "lon": lon, "lat": lat}
    r = client.post("/stations", json=body, headers=AUTH)
    if r.status_code == 201:
        pytest.fail(f"a GCJ-02 point declared WGS84 was stored: {r.text}")
    assert r.status_code == 422 and "GCJ-02" in r.text and "trust_crs" in r.text
    assert client.post("/stations?crs=gcj02", json=body, headers=AUTH).status_code == 201


# 13. smaller findings -----------------------------------------------------------------


def test_invalid_opening_hours_are_refused(client, area):
    lon, lat = area["spare"][8]
    r = client.post("/stations", json={"id": "H-1", "name": "x", "lon": lon, "lat": lat,
                                       "opening_hours": "Mo-Xx 25:00-99:99"}, headers=AUTH)
    assert r.status_code == 422 and "opening_hours" in r.text


def test_upload_oddities_are_named_plainly(client, area):
    lon, lat = area["spare"][9]
    good = _csv([{"id": "U-1", "name": "x", "lon": lon, "lat": lat}])
    two = client.post("/stations/import", headers=AUTH,
                      files=[("file", ("a.csv", good, "text/csv")),
                             ("file", ("b.csv", good, "text/csv"))])
    assert two.status_code == 422 and "exactly one file" in two.text
    cases = {
        "garbage.csv": (bytes(range(256)) * 4, "binary data"),
        "fake.fgb": (b"not a flatgeobuf at all", "not a FlatGeobuf file"),
        "table.xlsx": (good, "save it as .csv"),
        "bad.geojson": (b'{"type": "FeatureCollection", "features": [', "not a readable"),
    }
    for name, (data, says) in cases.items():
        r = client.post("/stations/import", headers=AUTH,
                        files={"file": (name, io.BytesIO(data), "application/octet-stream")})
        assert r.status_code == 422, (name, r.text)
        assert says in r.text and name in r.text, (name, r.text)
        assert "/tmp" not in r.text, (name, r.text)  # no server paths in answers


@pytest.mark.parametrize(("given", "stored_as"), [
    ("Ａ１", "A1"), ("\u212a1", "K1"), ("\ufb01x", "fix"), ("S\uff10\uff11", "S01")])
def test_look_alike_ids_are_one_id(given, stored_as, area, tmp_path):
    # NFKC normalisation: full-width letters, the Kelvin sign and ligatures are the ASCII
    # id they look like, by POST, by import and in the URL
    with make_client(area, tmp_path, None) as client:
        spare = area["spare"]
        first = {"id": stored_as, "name": "a", "lon": float(spare[0, 0]),
                 "lat": float(spare[0, 1])}
        assert client.post("/stations", json=first, headers=AUTH).status_code == 201
        again = {**first, "id": given, "lon": float(spare[1, 0]), "lat": float(spare[1, 1])}
        assert client.post("/stations", json=again, headers=AUTH).status_code == 409
        r = client.post("/stations/import", headers=AUTH, files={"file": (
            "s.csv", f"id,name,lon,lat\n{given},b,{spare[2, 0]},{spare[2, 1]}\n".encode(),
            "text/csv")})
        assert r.status_code == 409
        assert client.get(f"/stations/{given}").json()["id"] == stored_as


@pytest.mark.parametrize("sid", ["\u04101", "\u03911", "S\u0661\u0662", "A\u200b1", "A 1"])
def test_ids_in_other_scripts_are_refused_by_every_way_in(sid, area, tmp_path):
    # Cyrillic А, Greek Α, Arabic-Indic digits, a zero-width space: one rule for all
    with make_client(area, tmp_path, None) as client:
        spare = area["spare"]
        body = {"id": sid, "name": "a", "lon": float(spare[0, 0]), "lat": float(spare[0, 1])}
        r = client.post("/stations", json=body, headers=AUTH)
        assert r.status_code == 422 and "is not allowed" in r.text
        r = client.post("/stations/import", headers=AUTH, files={"file": (
            "s.csv", f"id,name,lon,lat\n{sid},b,{spare[0, 0]},{spare[0, 1]}\n".encode(),
            "text/csv")})
        assert r.status_code == 422 and "is not allowed" in r.text


@pytest.mark.parametrize(("name", "why"), [
    ("\u200b\u200c\u200d", "no visible character"), ("\u2060\ufeff ", "no visible character"),
    ("\u0301\u0308", "no visible character"), ("站\u202e点", "reorders text"),
    ("A\u2067B\u2069", "reorders text")])
def test_names_must_be_visible_and_in_order(name, why, area, tmp_path):
    with make_client(area, tmp_path, None) as client:
        spare = area["spare"]
        body = {"id": "V1", "name": name, "lon": float(spare[0, 0]), "lat": float(spare[0, 1])}
        r = client.post("/stations", json=body, headers=AUTH)
        assert r.status_code == 422 and why in r.text
        r = client.post("/stations/import", headers=AUTH, files={"file": (
            "s.csv", f"id,name,lon,lat\nV1,{name},{spare[0, 0]},{spare[0, 1]}\n".encode(),
            "text/csv")})
        assert r.status_code == 422 and why in r.text


def test_nearest_says_503_like_the_writes_while_postgres_is_unreachable(area, tmp_path,
                                                                         monkeypatch,
                                                                         cache_dir):
    # the quick path's storage error escaped every handler as a 500
    from tests.pg import _psql

    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    lon, lat = area["spare"][4]
    with postgres_database() as url, make_client(area, tmp_path, url) as c:
        assert c.get(f"/nearest?lon={lon}&lat={lat}").status_code == 200
        name = url.rsplit("/", 1)[1]
        _psql(f"ALTER ROLE {name} NOLOGIN")
        _psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = "
              f"'{name}'")
        try:
            time.sleep(0.6)  # past the revision's polling interval
            for url_ in (f"/nearest?lon={lon}&lat={lat}", f"/nearest?lon={lon}&lat={lat}&k=2"):
                r = c.get(url_)
                assert r.status_code == 503, r.text
                assert "station database" in r.json()["detail"]
            r = c.post("/stations", json={"id": "PG-1", "name": "x", "lon": lon, "lat": lat},
                       headers=AUTH)
            assert r.status_code == 503
        finally:
            _psql(f"ALTER ROLE {name} LOGIN")


def test_a_database_of_another_area_is_refused_in_one_line(area, tmp_path, cache_dir):
    # the demo's stations in data/circle15.db silently won over the district's seed file
    import os

    from tests.conftest import shared

    env = {**os.environ, "CIRCLE15_DATA_DIR": str(tmp_path), "CIRCLE15_CACHE_DIR": str(cache_dir),
           "CIRCLE15_PLANNER_TOKEN": "x" * 20}
    env.pop("CIRCLE15_NETWORK", None)
    # a register of another area: the demo's own Helsinki stations
    with make_client(area, tmp_path, None) as c:
        assert c.get("/health").json()["status"] == "ok"
    store = StationStore(f"sqlite:///{tmp_path / 'circle15.db'}")
    for rec in store.all():
        store.delete(rec["id"])
    store.insert_many([{"id": f"H{i}", "name": "helsinki", "address": "", "amenities": "",
                        "opening_hours": "", "status": "existing", "lon": 24.94 + i * 1e-3,
                        "lat": 60.17} for i in range(6)])
    store.close()
    env.update({"CIRCLE15_NETWORK": str(shared("osm/shenzhen-longgang.osm")),
                "CIRCLE15_POPULATION": str(area["folder"] / "pop.csv"),
                "CIRCLE15_STATIONS_SEED": str(area["folder"] / "seed.csv")})
    run = subprocess.run([sys.executable, "-m", "circle15", "serve", "--port", "1"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    err = run.stderr.strip().splitlines()
    line = [ln for ln in err if ln.startswith("circle15 serve:")]
    assert len(line) == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    text = line[0]
    assert "CIRCLE15_DATABASE_URL" in text and str(tmp_path / "circle15.db") in text
    assert "holds 6 stations, none of them in this area" in text
    assert "seed.csv" in text and "was not imported" in text
