"""The command line at night and for Chinese map platforms: --at, --by-hour,
--unknown-hours, --out-crs, CSVs with a byte-order mark and the run's workbook."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest

from circle15.cli import main
from circle15.geo.crs import gcj02_to_wgs84
from tests.conftest import shared
from tests.helpers import points_near_streets

#: S0 closes at night, S5 gives no hours; the rest never close
HOURS = ["Mo-Su 08:00-20:00", "24/7", "24/7", "24/7", "24/7", ""]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, longgang):
    tmp = tmp_path_factory.mktemp("outputs-cli")
    rng = np.random.default_rng(21)
    st = points_near_streets(longgang, len(HOURS), rng, spread_m=5)
    pd.DataFrame({"id": [f"S{i}" for i in range(len(HOURS))],
                  "name": [f"驿站{i}" for i in range(len(HOURS))],
                  "lon": st[:, 0], "lat": st[:, 1], "opening_hours": HOURS}
                 ).to_csv(tmp / "st.csv", index=False)
    pp = points_near_streets(longgang, 500, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1],
                  "pop": rng.integers(1, 100, 500)}).to_csv(tmp / "pop.csv", index=False)
    west, south, east, north = longgang.bounds_lonlat or (114.186, 22.673, 114.232, 22.702)
    mid = (west + east) / 2
    towns = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name}, "geometry": {
            "type": "Polygon", "coordinates": [[[a, south], [b, south], [b, north], [a, north],
                                                [a, south]]]}}
        for name, a, b in (("龙城街道", west, mid), ("横岗街道", mid, east))]}
    (tmp / "towns.geojson").write_text(json.dumps(towns, ensure_ascii=False), encoding="utf-8")
    return tmp


def _run(inputs, out, *extra: str) -> int:
    return main(["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--stations", str(inputs / "st.csv"), "--population", str(inputs / "pop.csv"),
                 "--areas", str(inputs / "towns.geojson"), "--out", str(out), *extra])


def test_by_hour_in_gcj02_writes_table_chart_and_workbook(inputs, tmp_path, capsys,
                                                          monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    assert _run(inputs, tmp_path / "wgs", "--by-hour") == 0
    out = tmp_path / "gcj"
    assert _run(inputs, out, "--by-hour", "Tu", "--out-crs", "gcj02") == 0
    printed = capsys.readouterr().out
    assert "Coverage by hour" in printed and "1 stations without usable opening_hours" in printed

    table = pd.read_csv(out / "by-hour.csv")
    assert (out / "by-hour.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (table.groupby("area").size() == 24).all()
    assert {"龙城街道", "横岗街道", "(all)"} <= set(table["area"])
    assert table["covered_residents_share"].between(0, 1).all()
    assert (table["weekday"] == "Tu").all()
    assert (out / "by-hour.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (out / "by-hour.svg").read_bytes()[:2000]

    wb = openpyxl.load_workbook(out / "coverage-report.xlsx", read_only=True)
    assert wb.sheetnames == ["summary", "towns", "stations", "by-hour"]
    rows = list(wb["by-hour"].iter_rows(values_only=True))
    assert len(rows) - 1 == len(table)
    wb.close()
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["out_crs"] == "gcj02").all()
    # the same stations, in GCJ-02 here and WGS84 there, within a metre after converting back
    ref = gpd.read_file(tmp_path / "wgs" / "coverage.gpkg", layer="stations")
    got = gpd.read_file(out / "coverage.gpkg", layer="stations")
    lon, lat = gcj02_to_wgs84(got.geometry.x.to_numpy(), got.geometry.y.to_numpy())
    np.testing.assert_allclose(lon, ref.geometry.x, atol=1e-5 / 1.1)  # ~1 m
    np.testing.assert_allclose(lat, ref.geometry.y, atol=1e-5 / 1.1)


def test_at_night_counts_open_stations_and_says_how_unknown_hours_count(
        inputs, tmp_path, capsys, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    covered = {}
    for how in ("open", "closed"):
        assert _run(inputs, tmp_path / how, "--at", "Tu 02:00", "--unknown-hours", how) == 0
        printed = capsys.readouterr().out
        n_open = 5 if how == "open" else 4  # four never close, S0 has closed, S5 as told
        assert f"{n_open} of 6 stations open" in printed and f"counted as {how}" in printed
        summary = pd.read_csv(tmp_path / how / "summary.csv")
        covered[how] = summary["covered"].iloc[-1]
        assert summary["stations"].iloc[-1] == n_open
        assert summary["at"].iloc[-1].endswith("02:00:00+08:00")  # the files say when
        assert summary["unknown_hours"].iloc[-1].endswith(f"counted as {how}")
    assert covered["closed"] <= covered["open"]
    assert _run(inputs, tmp_path / "day", "--at", "Tu 12:00") == 0
    day = pd.read_csv(tmp_path / "day" / "summary.csv")["covered"].iloc[-1]
    assert day >= covered["open"]
    assert _run(inputs, tmp_path / "bad", "--at", "Tu 25:00") == 2
    assert "--at" in capsys.readouterr().err
    assert not (tmp_path / "bad" / "summary.csv").exists()
