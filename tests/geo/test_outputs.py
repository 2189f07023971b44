"""Outputs for Chinese map platforms on the Longgang extract: GCJ-02/BD-09 geometry and
lon/lat columns, CSV with a byte-order mark, and the per-run Excel workbook."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from circle15.geo.coverage.count import Areas, Coverage, compute_coverage
from circle15.geo.coverage.gaps import find_gaps
from circle15.geo.crs import bd09_to_wgs84, gcj02_to_wgs84
from circle15.geo.network.graph import Network
from circle15.geo.output.export import write_coverage, write_frames
from tests.helpers import make_population, make_stations, points_near_streets

BOM = b"\xef\xbb\xbf"


def _metres(lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
    """Ground distance between WGS84 points a few metres apart (local flat earth)."""
    k = 111_320.0
    return np.hypot((lon_a - lon_b) * k * np.cos(np.radians(lat_a)), (lat_a - lat_b) * k)


@pytest.fixture(scope="module")
def run(longgang: Network) -> tuple[Coverage, Areas]:
    rng = np.random.default_rng(6)
    stations = make_stations(longgang, points_near_streets(longgang, 4, rng, spread_m=5))
    pop = make_population(longgang, points_near_streets(longgang, 300, rng, spread_m=40), rng)
    cov = compute_coverage(longgang, stations, pop)
    west, south, east, north = longgang.hull.bounds
    mid = (west + east) / 2
    areas = Areas(gpd.GeoDataFrame({"name": ["龙城街道", "=横岗街道"]},
                                   geometry=[shapely.box(west, south, mid, north).buffer(-5),
                                             shapely.box(mid, south, east, north)],
                                   crs=longgang.crs))
    return cov, areas


@pytest.mark.parametrize(("kind", "back"), [("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)])
def test_chinese_platform_output_round_trips_to_wgs84_within_a_metre(run, tmp_path, kind, back):
    cov, areas = run
    write_coverage(cov, tmp_path / "wgs84", areas=areas, report=False)
    write_coverage(cov, tmp_path / kind, areas=areas, out_crs=kind, report=False)
    for layer in ("stations", "population", "areas"):
        ref = gpd.read_file(tmp_path / "wgs84" / "coverage.gpkg", layer=layer)
        got = gpd.read_file(tmp_path / kind / "coverage.gpkg", layer=layer)
        assert ref.crs.to_epsg() == 4326
        assert kind.upper()[:2] in got.crs.name and got.crs.to_epsg() is None  # says which
        assert (got["coord_crs"] == kind).all() and (ref["coord_crs"] == "wgs84").all()
        xy_ref = shapely.get_coordinates(ref.geometry.to_numpy())
        xy_got = shapely.get_coordinates(got.geometry.to_numpy())
        assert xy_ref.shape == xy_got.shape  # polygons converted vertex by vertex
        shift = _metres(xy_ref[:, 0], xy_ref[:, 1], xy_got[:, 0], xy_got[:, 1])
        assert shift.min() > 100  # the offset systems are hundreds of metres away here
        lon, lat = back(xy_got[:, 0], xy_got[:, 1])
        assert _metres(xy_ref[:, 0], xy_ref[:, 1], lon, lat).max() < 1.0
        if "lon" in got.columns:
            lon, lat = back(got["lon"].to_numpy(), got["lat"].to_numpy())
            assert _metres(ref["lon"].to_numpy(), ref["lat"].to_numpy(), lon, lat).max() < 1.0
    summary = pd.read_csv(tmp_path / kind / "summary.csv")
    assert (summary["out_crs"] == kind).all()


def test_csv_lon_lat_of_gaps_round_trip_and_start_with_a_bom(run, tmp_path):
    cov, _ = run
    gaps = find_gaps(cov, hex_m=300)
    assert len(gaps) > 0
    for kind in ("wgs84", "gcj02"):
        write_frames(tmp_path / kind, "gaps", {"gaps": gaps}, out_crs=kind,
                     report={"summary": cov.summary(), "gaps": gaps})
    raw = (tmp_path / "gcj02" / "gaps.csv").read_bytes()
    assert raw.startswith(BOM)
    ref = pd.read_csv(tmp_path / "wgs84" / "gaps.csv")
    got = pd.read_csv(tmp_path / "gcj02" / "gaps.csv")
    assert got.columns[0] == "rank"  # pandas reads past the mark
    assert (got["coord_crs"] == "gcj02").all()
    lon, lat = gcj02_to_wgs84(got["lon"].to_numpy(), got["lat"].to_numpy())
    # the CSV keeps 7 decimals (1 cm): the round trip stays far below a metre
    assert _metres(ref["lon"].to_numpy(), ref["lat"].to_numpy(), lon, lat).max() < 1.0
    hexes = gpd.read_file(tmp_path / "gcj02" / "gaps.gpkg")
    ref_hexes = gpd.read_file(tmp_path / "wgs84" / "gaps.gpkg")
    xy = shapely.get_coordinates(hexes.geometry.to_numpy())
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    xy_ref = shapely.get_coordinates(ref_hexes.geometry.to_numpy())
    assert _metres(xy_ref[:, 0], xy_ref[:, 1], lon, lat).max() < 1.0


def _sheet(path: Path, name: str) -> pd.DataFrame:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[name].iter_rows(values_only=True))
    wb.close()
    return pd.DataFrame(rows[1:], columns=rows[0])


def _same(sheet: pd.DataFrame, csv: pd.DataFrame) -> None:
    assert list(sheet.columns) == list(csv.columns)
    assert len(sheet) == len(csv)
    for col in csv.columns:
        a, b = sheet[col], csv[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            np.testing.assert_allclose(a.to_numpy(dtype=float), b.to_numpy(dtype=float),
                                       rtol=0, atol=1e-9, err_msg=col)
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), col


def test_report_workbook_has_the_csv_numbers(run, tmp_path):
    cov, areas = run
    written = write_coverage(cov, tmp_path, areas=areas, out_crs="gcj02")
    book = tmp_path / "coverage-report.xlsx"
    assert book in written
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["summary", "towns", "stations"]
    # a name that starts like a formula stays text
    towns_ws = wb["towns"]
    assert all(c.data_type != "f" for row in towns_ws.iter_rows() for c in row)
    wb.close()
    _same(_sheet(book, "summary"), pd.read_csv(tmp_path / "summary.csv"))
    _same(_sheet(book, "towns"), pd.read_csv(tmp_path / "areas.csv"))
    stations = _sheet(book, "stations")
    assert (stations["coord_crs"] == "gcj02").all()
    gpkg = gpd.read_file(tmp_path / "coverage.gpkg", layer="stations")
    np.testing.assert_allclose(stations["lon"].astype(float), gpkg["lon"].round(7), atol=1e-9)

    gaps = find_gaps(cov, hex_m=300)
    write_frames(tmp_path, "gaps", {"gaps": gaps}, out_crs="gcj02",
                 report={"summary": cov.summary(), "gaps": gaps})
    gbook = tmp_path / "gaps-report.xlsx"
    assert openpyxl.load_workbook(gbook, read_only=True).sheetnames == ["summary", "gaps"]
    _same(_sheet(gbook, "gaps"), pd.read_csv(tmp_path / "gaps.csv"))
