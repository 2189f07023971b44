"""One question, one answer: the command line's files and the service's JSON give the
same numbers for the same question (demand layer, moment, hours of a day), because both
go through circle15.usecases.questions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from pydantic import SecretStr

from circle15.api.app import create_app
from circle15.api.settings import Settings
from circle15.cli import main
from circle15.geo.snapping.placement import place_points
from tests.conftest import shared
from tests.helpers import points_near_streets

#: stations with hours that differ at night, so that ?at= changes who counts
HOURS = ["24/7", "Mo-Su 07:00-22:00", "Mo-Fr 09:00-18:00", "24/7", "Mo-Su 06:00-23:00",
         "", "Mo-Su 00:00-24:00", "Tu 01:00-03:00"]
QUESTIONS = [
    {"demand": "workers", "at": "Tu 02:00"},
    {"demand": "residents", "at": "Tu 12:00"},
    {"demand": "mix"},
    {"demand": "workers", "at": "Tu 02:00", "unknown_hours": "closed"},
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, longgang) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("parity")
    rng = np.random.default_rng(23)
    pp = points_near_streets(longgang, 600, rng, spread_m=30)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1],
                  "population": rng.integers(1, 60, len(pp))}).to_csv(folder / "pop.csv",
                                                                       index=False)
    ww = points_near_streets(longgang, 150, rng, spread_m=20)
    pd.DataFrame({"lon": ww[:, 0], "lat": ww[:, 1],
                  "workers": rng.integers(1, 9, len(ww))}).to_csv(folder / "workers.csv",
                                                                  index=False)
    pts = points_near_streets(longgang, 4 * len(HOURS), rng, spread_m=5)
    placed = place_points(longgang, pts[:, 0], pts[:, 1], max_snap_m=200.0, strict=True)
    refused = {p.row - 1 for p in placed.problems if p.row is not None}
    st = np.array([p for i, p in enumerate(pts) if i not in refused])[:len(HOURS)]
    pd.DataFrame({"id": [f"P{i + 1}" for i in range(len(HOURS))],
                  "name": [f"驿站{i + 1}" for i in range(len(HOURS))],
                  "lon": st[:, 0], "lat": st[:, 1],
                  "opening_hours": HOURS}).to_csv(folder / "stations.csv", index=False)
    west, south, east, north = (*pp.min(axis=0), *pp.max(axis=0))
    mid = (west + east) / 2
    areas = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name},
         "geometry": json.loads(shapely.to_geojson(shapely.box(a, south - 0.01, b,
                                                               north + 0.01)))}
        for name, a, b in (("西区", west - 0.01, mid), ("东区", mid, east + 0.01))]}
    (folder / "areas.geojson").write_text(json.dumps(areas, ensure_ascii=False))
    return {"folder": folder, "pop": folder / "pop.csv", "workers": folder / "workers.csv",
            "stations": folder / "stations.csv", "areas": folder / "areas.geojson"}


@pytest.fixture(scope="module")
def client(inputs, tmp_path_factory, cache_dir) -> TestClient:
    mp = pytest.MonkeyPatch()
    mp.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    settings = Settings(
        network=str(shared("osm/shenzhen-longgang.osm")), population=str(inputs["pop"]),
        stations_seed=str(inputs["stations"]), areas=str(inputs["areas"]),
        workers=str(inputs["workers"]), data_dir=tmp_path_factory.mktemp("service"),
        planner_token=SecretStr("parity-token-0123456789"))
    with TestClient(create_app(settings)) as c:
        yield c
    mp.undo()


def _cli(inputs: dict[str, Path], out: Path, question: dict[str, str], *extra: str) -> Path:
    argv = ["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
            "--population", str(inputs["pop"]), "--stations", str(inputs["stations"]),
            "--areas", str(inputs["areas"]), "--workers", str(inputs["workers"]),
            "--drop-far-population", "--out", str(out), "-q",
            "--demand", question["demand"],
            "--unknown-hours", question.get("unknown_hours", "open"), *extra]
    if "at" in question:
        argv += ["--at", question["at"]]
    assert main(argv) == 0
    return out


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.select_dtypes("number").astype(float).round(1).reset_index(drop=True)


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: "-".join(q.values()))
def test_the_cli_and_the_service_count_the_same_people(question, inputs, client, tmp_path,
                                                        cache_dir, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    out = _cli(inputs, tmp_path / "out", question)
    summary = pd.read_csv(out / "summary.csv")
    served = client.get("/coverage/summary", params=question)
    assert served.status_code == 200, served.text
    body = served.json()
    bands = pd.DataFrame(body["bands"])[[c for c in summary.columns if c in body["bands"][0]]]
    numbers = _numbers(summary[bands.columns])
    assert len(numbers) == 3 and numbers["population"].iloc[0] > 0
    pd.testing.assert_frame_equal(numbers, _numbers(bands))
    assert body["notes"]["demand"] == question["demand"]
    if "at" in question:  # the moment is said, and it is the same moment
        assert body["notes"]["at"] == summary["at"].iloc[0]
        assert body["notes"]["stations_open_at"] == summary["stations_open_at"].iloc[0]

    areas_cli = pd.read_csv(out / "areas.csv")
    served = client.get("/coverage/areas", params=question).json()["areas"]
    areas_api = pd.DataFrame(served)
    cols = [c for c in areas_cli.select_dtypes("number").columns if c in areas_api.columns]
    assert "covered" in cols
    pd.testing.assert_frame_equal(_numbers(areas_cli[cols]), _numbers(areas_api[cols]))


def test_a_moment_changes_the_answer_the_same_way(inputs, client):
    # the question is really asked: at 02:00 fewer stations are open than at noon
    night = client.get("/coverage/summary", params={"at": "Tu 02:00"}).json()
    noon = client.get("/coverage/summary", params={"at": "Tu 12:00"}).json()
    assert night["stations"] < noon["stations"] <= len(HOURS)
    assert night["bands"][-1]["covered"] < noon["bands"][-1]["covered"]


@pytest.mark.parametrize("demand", ["workers", "mix"])
def test_hours_of_a_day_are_the_same_table(demand, inputs, client, tmp_path, cache_dir,
                                           monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    # --at and --by-hour together: the table counts every station by its hours
    out = _cli(inputs, tmp_path / "out", {"demand": demand, "at": "Tu 02:00"}, "--by-hour",
               "Tu")
    table = pd.read_csv(out / "by-hour.csv")
    served = client.get("/coverage/by-hour", params={"demand": demand, "day": "Tu"}).json()
    rows = pd.DataFrame(served["rows"])
    assert list(served["layers"]) == (["residents", "workers"] if demand == "workers"
                                      else ["residents", "workers", "mix"])
    cols = [c for c in table.select_dtypes("number").columns if c in rows.columns]
    assert f"covered_{demand}" in cols and len(table) == 24 * 3
    pd.testing.assert_frame_equal(_numbers(table[cols]), _numbers(rows[cols]))
    # at night the stations that close are missing from the count
    whole = rows[rows["area"] == rows["area"].iloc[-1]]
    assert whole["stations_open"].min() < whole["stations_open"].max()


def test_a_wrong_word_is_refused_with_the_words_that_work(client):
    bad = client.get("/coverage/summary", params={"demand": "couriers"})
    assert bad.status_code == 422
    assert "residents" in bad.text and "workers" in bad.text
    bad = client.get("/coverage/summary", params={"at": "Tu 25:00"})
    assert bad.status_code == 422
    assert "at 'Tu 25:00'" in bad.json()["detail"]
