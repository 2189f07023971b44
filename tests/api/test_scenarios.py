"""The planner's workbench API: scenarios from the register, edits under If-Match,
roles, undo, adoption, exports; and the scenario's numbers equal circle15 coverage's
for its station list."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from circle15.api.guards.users import add_user
from circle15.cli import main
from circle15.geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from tests.api.conftest import AUTH, make_client
from tests.conftest import shared


@pytest.fixture
def people(tmp_path):
    users = tmp_path / "users.json"
    return {"file": users, **{role: {"Authorization": f"Bearer {add_user(users, role, role)}"}
                              for role in ("viewer", "planner", "admin")}}


@pytest.fixture
def client(area, tmp_path, people, cache_dir, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    with make_client(area, tmp_path, None, users=people["file"]) as c:
        yield c


def _new(client, headers, name="plan A"):
    r = client.post("/scenarios", json={"name": name, "from": "register"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["ETag"]


def test_roles_decide_who_may_do_what(client, people):
    assert client.post("/scenarios", json={"name": "x"}).status_code == 401
    r = client.post("/scenarios", json={"name": "x"}, headers=people["viewer"])
    assert r.status_code == 403 and "viewer" in r.json()["detail"]
    sid, tag = _new(client, people["planner"])
    r = client.post(f"/scenarios/{sid}/edits", json={"op": "remove", "station_id": "LG-1"},
                    headers={**people["viewer"], "If-Match": tag})
    assert r.status_code == 403
    assert client.get("/scenarios", headers=people["viewer"]).status_code == 200
    r = client.post(f"/scenarios/{sid}/adopt", headers=people["planner"])
    assert r.status_code == 403  # adopting is an admin's
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/scenarios", headers=bad).status_code == 401
    # the planner token still works, as one admin
    assert client.post("/scenarios", json={"name": "y"}, headers=AUTH).status_code == 201


def test_a_stale_version_gets_412_and_loses_nothing(client, people):
    sid, tag = _new(client, people["planner"])
    one = client.post(f"/scenarios/{sid}/edits", json={"op": "remove", "station_id": "LG-1"},
                      headers={**people["planner"], "If-Match": tag})
    assert one.status_code == 200 and one.headers["ETag"] != tag
    two = client.post(f"/scenarios/{sid}/edits", json={"op": "remove", "station_id": "LG-2"},
                      headers={**people["planner"], "If-Match": tag})
    assert two.status_code == 412 and one.headers["ETag"] in two.json()["detail"]
    none = client.post(f"/scenarios/{sid}/edits", json={"op": "remove", "station_id": "LG-2"},
                       headers=people["planner"])
    assert none.status_code == 412
    got = client.get(f"/scenarios/{sid}", headers=people["viewer"]).json()
    assert [e["station_id"] for e in got["edits"]] == ["LG-1"]


def test_edits_answer_the_coverage_circle15_coverage_gives(client, people, area, tmp_path):
    sid, tag = _new(client, people["planner"])
    spare = area["spare"]
    glon, glat = wgs84_to_gcj02(spare[:3, 0], spare[:3, 1])
    edits = [({"op": "add", "station": {"id": f"NEW-{i}", "name": f"新{i}",
                                        "lon": float(glon[i]), "lat": float(glat[i])}},
              {"crs": "gcj02"}) for i in range(3)]
    edits += [({"op": "remove", "station_id": "LG-2"}, {}),
              ({"op": "remove", "station_id": "LG-5"}, {}),
              ({"op": "move", "station_id": "LG-3", "lon": float(spare[5, 0]),
                "lat": float(spare[5, 1])}, {})]
    answer = None
    for body, params in edits:
        r = client.post(f"/scenarios/{sid}/edits", json=body, params=params,
                        headers={**people["planner"], "If-Match": tag})
        assert r.status_code == 200, r.text
        tag, answer = r.headers["ETag"], r.json()
    assert answer is not None and answer["stations"] == 6 - 2 + 3
    # the same station list through the command line
    csv = client.get(f"/scenarios/{sid}/stations", headers=people["viewer"])
    assert csv.content.startswith(b"\xef\xbb\xbf")
    listed = pd.read_csv(io.BytesIO(csv.content))
    assert sorted(listed["id"]) == sorted(["LG-1", "LG-3", "LG-4", "LG-6", "NEW-0", "NEW-1",
                                           "NEW-2"])
    listed.to_csv(tmp_path / "scenario.csv", index=False)
    assert main(["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--population", str(area["folder"] / "pop.csv"), "--stations",
                 str(tmp_path / "scenario.csv"), "--drop-far-population",
                 "--out", str(tmp_path / "cli"), "-q"]) == 0
    cli = pd.read_csv(tmp_path / "cli" / "summary.csv")
    served = pd.DataFrame(answer["bands"])
    for col in ("population", "covered", "cross_covered", "uncovered"):
        assert cli[col].round(1).tolist() == served[col].round(1).tolist(), col
    register = client.get("/coverage/summary").json()["bands"][-1]
    assert answer["delta"]["covered"] == pytest.approx(
        served["covered"].iloc[-1] - register["covered"], abs=0.05)
    # and in GCJ-02 for Amap: the added stations come back where they were given
    gcj = pd.read_csv(io.BytesIO(client.get(f"/scenarios/{sid}/stations",
                                            params={"out_crs": "gcj02"}).content))
    new = gcj.set_index("id").loc[["NEW-0", "NEW-1", "NEW-2"]]
    assert (gcj["coord_crs"] == "gcj02").all()
    assert new["lon"].to_numpy() == pytest.approx(glon, abs=1e-6)
    back = gcj02_to_wgs84(new["lon"].to_numpy(), new["lat"].to_numpy())
    assert back[0] == pytest.approx(spare[:3, 0], abs=1e-5)


def test_undo_and_adopt(client, people):
    sid, tag = _new(client, people["planner"])
    r = client.post(f"/scenarios/{sid}/edits", json={"op": "remove", "station_id": "LG-4"},
                    headers={**people["planner"], "If-Match": tag})
    removed = r.json()["stations"]
    r = client.post(f"/scenarios/{sid}/undo",
                    headers={**people["planner"], "If-Match": r.headers["ETag"]})
    assert r.status_code == 200 and r.json()["stations"] == removed + 1
    r = client.post(f"/scenarios/{sid}/edits", json={"op": "remove", "station_id": "LG-6"},
                    headers={**people["planner"], "If-Match": r.headers["ETag"]})
    assert client.post(f"/scenarios/{sid}/adopt", headers={
        **people["admin"], "If-Match": r.headers["ETag"]}).status_code == 200
    ids = sorted(f["properties"]["id"] for f in client.get("/stations").json()["features"])
    assert ids == ["LG-1", "LG-2", "LG-3", "LG-4", "LG-5"]
    history = client.get(f"/scenarios/{sid}/history", headers=people["viewer"]).json()
    actions = [(h["action"], h["user"], h["undone"]) for h in history["history"]]
    assert actions == [("create", "planner", False), ("remove", "planner", True),
                       ("undo", "planner", False), ("remove", "planner", False),
                       ("adopt", "admin", False)]
    # the register's coverage is the adopted scenario's
    assert client.get("/coverage/summary").json()["stations"] == 5


def test_a_bad_edit_is_refused_and_stores_nothing(client, people):
    sid, tag = _new(client, people["planner"])
    for body in ({"op": "remove", "station_id": "NOPE"},
                 {"op": "add", "station": {"id": "FAR", "name": "far", "lon": 116.6,
                                           "lat": 40.1}},
                 {"op": "move", "station_id": "LG-1"}):
        r = client.post(f"/scenarios/{sid}/edits", json=body,
                        headers={**people["planner"], "If-Match": tag})
        assert r.status_code in (404, 422), r.text
    got = client.get(f"/scenarios/{sid}", headers=people["planner"])
    assert got.json()["edits"] == [] and got.headers["ETag"] == tag


def test_reads_can_be_private(area, tmp_path, people, cache_dir, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    with make_client(area, tmp_path, None, users=people["file"], public_read=False) as c:
        lon, lat = area["spare"][0]
        for url in ("/coverage/summary", "/stations", f"/nearest?lon={lon}&lat={lat}"):
            assert c.get(url).status_code == 401, url
            assert c.get(url, headers=people["viewer"]).status_code == 200, url


def test_compare_and_suggest(client, people):
    a, _ = _new(client, people["planner"], "keep all")
    b, tag_b = _new(client, people["planner"], "close two")
    for sid in ("LG-1", "LG-2"):
        r = client.post(f"/scenarios/{b}/edits", json={"op": "remove", "station_id": sid},
                        headers={**people["planner"], "If-Match": tag_b})
        tag_b = r.headers["ETag"]
    got = client.get("/scenarios/compare", params={"ids": f"{a},{b}"},
                     headers=people["viewer"]).json()["scenarios"]
    assert [g["stations"] for g in got] == [6, 4]
    assert got[0]["covered_change"] == 0 and got[1]["covered_change"] <= 0
    assert got[1]["covered"] == pytest.approx(got[0]["covered"] + got[1]["covered_change"])
    r = client.post(f"/scenarios/{b}/suggest", params={"k": 2, "node_spacing_m": 300},
                    headers=people["planner"])
    assert r.status_code == 200, r.text
    sites = r.json()["sites"]
    assert [s["rank"] for s in sites] == [1, 2] and sites[0]["marginal_gain"] > 0
    # adding the first suggestion raises the scenario's coverage by its gain
    before = client.get(f"/scenarios/{b}/coverage", headers=people["viewer"]).json()
    r = client.post(f"/scenarios/{b}/edits", headers={**people["planner"], "If-Match": tag_b},
                    json={"op": "add", "station": {"id": "SUG-1", "name": "建议1",
                                                   "lon": sites[0]["lon"],
                                                   "lat": sites[0]["lat"]}})
    gain = r.json()["bands"][-1]["covered"] - before["bands"][-1]["covered"]
    # (the site is re-joined to the street from its lon/lat, as any added station is)
    assert gain == pytest.approx(sites[0]["marginal_gain"], rel=0.02)
    assert client.post(f"/scenarios/{b}/suggest", headers=people["viewer"]).status_code == 403


def test_suggest_widens_the_spacing_to_fit_the_budget(area, tmp_path, people, cache_dir,
                                                      monkeypatch):
    # at district scale the default node spacing passed the budget, and "Suggest 5" failed
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    with make_client(area, tmp_path, None, users=people["file"],
                     siting_max_candidates=40) as c:
        sid, _ = _new(c, people["planner"])
        r = c.post(f"/scenarios/{sid}/suggest", params={"k": 2, "node_spacing_m": 50},
                   headers=people["planner"])
        assert r.status_code == 200, r.text
        assert r.json()["node_spacing_m"] > 50 and len(r.json()["sites"]) >= 1


def test_every_download_holds_the_scenarios_stations_in_gcj02(client, people, tmp_path):
    import geopandas as gpd

    sid, tag = _new(client, people["planner"])
    r = client.post(f"/scenarios/{sid}/edits", json={"op": "remove", "station_id": "LG-2"},
                    headers={**people["planner"], "If-Match": tag})
    assert r.status_code == 200
    listed = client.get(f"/scenarios/{sid}", headers=people["viewer"]).json()
    wgs = {f["properties"]["id"]: f["geometry"]["coordinates"]
           for f in listed["stations"]["features"]}
    ids = sorted(wgs)
    glon, glat = wgs84_to_gcj02(*(pd.DataFrame([wgs[i] for i in ids]).to_numpy().T))
    got = {}
    for fmt in ("csv", "xlsx", "geojson", "gpkg"):
        r = client.get(f"/scenarios/{sid}/stations", params={"format": fmt,
                                                             "out_crs": "gcj02"})
        assert r.status_code == 200, (fmt, r.text)
        if fmt == "csv":
            assert r.content.startswith("\ufeff".encode())  # Excel in China reads it as UTF-8
            got[fmt] = pd.read_csv(io.BytesIO(r.content))[["id", "lon", "lat"]]
        elif fmt == "xlsx":
            got[fmt] = pd.read_excel(io.BytesIO(r.content))[["id", "lon", "lat"]]
        else:
            path = tmp_path / f"s.{fmt}"
            path.write_bytes(r.content)
            frame = gpd.read_file(path)
            got[fmt] = pd.DataFrame({"id": frame["id"], "lon": frame.geometry.x,
                                     "lat": frame.geometry.y})
    for fmt, frame in got.items():
        frame = frame.sort_values("id")
        assert frame["id"].tolist() == ids == ["LG-1", "LG-3", "LG-4", "LG-5", "LG-6"], fmt
        assert frame["lon"].to_numpy() == pytest.approx(glon, abs=1e-6), fmt
        assert frame["lat"].to_numpy() == pytest.approx(glat, abs=1e-6), fmt
    # the comparison downloads as a workbook with the same totals as its JSON
    b, _ = _new(client, people["planner"], "plan B")
    cmp = client.get("/scenarios/compare", params={"ids": f"{sid},{b}"}).json()
    book = pd.read_excel(io.BytesIO(client.get("/scenarios/compare", params={
        "ids": f"{sid},{b}", "format": "xlsx"}).content), sheet_name=None)
    assert book["scenarios"]["stations"].tolist() == [5, 6]
    assert book["scenarios"]["covered"].round(1).tolist() == [
        round(s["covered"], 1) for s in cmp["scenarios"]]


def test_a_scenarios_report_says_what_its_coverage_says(client, people, area):
    import pypdf

    sid, tag = _new(client, people["planner"], "两站方案")
    h = {**people["planner"]}
    for i, (lon, lat) in enumerate(area["spare"][4:6]):
        r = client.post(f"/scenarios/{sid}/edits", headers={**h, "If-Match": tag}, json={
            "op": "add", "station": {"id": f"R-{i}", "name": f"报告新站{i}", "lon": lon,
                                     "lat": lat}})
        assert r.status_code == 200, r.text
        tag, gain = r.headers["ETag"], r.json()["this_edit"]["covered"]
        assert gain >= 0
    r = client.post(f"/scenarios/{sid}/edits", headers={**h, "If-Match": tag},
                    json={"op": "remove", "station_id": "LG-3"})
    answer = r.json()
    now = client.get("/coverage/summary").json()["bands"][-1]
    after = answer["bands"][-1]
    html = client.get(f"/scenarios/{sid}/report.html", headers=people["viewer"])
    assert html.status_code == 200 and "两站方案" in html.text
    assert "报告新站0" in html.text and "报告新站1" in html.text and "LG-3" in html.text
    # the data source is named by its file, never by the server's path to it
    assert "shenzhen-longgang.osm" in html.text
    assert str(shared("osm/shenzhen-longgang.osm").parent) not in html.text
    assert "驿站数 6 → 7" in html.text  # the register's stations, then the scenario's
    pdf = client.get(f"/scenarios/{sid}/report.pdf", headers=people["viewer"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    # the headline figures are the register's and the scenario's, as the API answers them
    assert f"{now['covered']:,.0f}" in text and f"{after['covered']:,.0f}" in text
    assert "报告新站0" in text
    # the same version is not drawn twice; a reader without a token may not when private
    again = client.get(f"/scenarios/{sid}/report.pdf", headers=people["viewer"])
    assert again.content == pdf.content
    assert client.get(f"/scenarios/{sid}/report.pdf?lang=xx").status_code == 422
    assert client.get("/scenarios/nope/report.html").status_code == 404


def test_the_workbench_gets_the_networks_own_streets(client):
    """Offline the workbench page draws the network file's streets (no tiles)."""
    r = client.get("/maps/streets.json")
    assert r.status_code == 200
    layer = r.json()
    assert sum(len(roads[3]) for roads in layer["roads"]) > 100  # Longgang's streets
    assert client.get("/maps/plan?basemap=amap").status_code == 422  # GCJ-02 tiles: no
