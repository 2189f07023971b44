"""Written results: CSV numbers at their units' precision, console tables that
line up with Chinese area names."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from circle15.geo.coverage.count import Areas, CoverageSettings, compute_coverage
from circle15.geo.output.export import (
    csv_decimals,
    display_width,
    format_summary,
    write_coverage,
    write_frames,
)
from circle15.geo.output.gpkg_points import write_points
from circle15.geo.output.out_crs import frame_in
from circle15.geo.population.points import population_from_points
from tests.conftest import make_network, metres_to_lonlat
from tests.helpers import make_stations

# 0 -- 1 -- 2 -- 3 along y = 0, 100 m apart
NODES = [(0, 0), (100, 0), (200, 0), (300, 0)]
EDGES = [(0, 1), (1, 2), (2, 3)]
# 10 m/min: minutes are tens of metres
SETTINGS = CoverageSettings(bands_min=(5, 15), speed_kmh=0.6)


def _numbers_part(line: str) -> str:
    """The six right-aligned number columns (62 characters, ASCII) of a row."""
    return line[-62:]


def test_display_width_counts_wide_characters_twice():
    assert display_width("abc") == 3
    assert display_width("仁和镇") == 6
    assert display_width("Ｂ区（东）") == 10  # fullwidth letters and brackets
    assert display_width("e\u0301") == 1  # e + combining acute accent


def test_area_table_lines_up_with_chinese_names():
    table = pd.DataFrame({
        "name": ["仁和镇", "Example district", "胜利街道（含空港）",
                 "后沙峪镇后沙峪镇后沙峪镇后沙峪镇", "zero"],
        "population": [12_345.6, 800.0, 123_456.0, 9_999.0, 0.0],
        "covered": [10_000.2, 800.0, 100_000.0, 0.0, 0.0],
        "cross_covered": [5_000.0, 0.0, 64_000.0, 0.0, 0.0],
        "uncovered": [2_345.4, 0.0, 23_456.0, 9_999.0, 0.0],
        "covered_share": [0.81, 1.0, 0.81, 0.0, np.nan],
        "cross_share": [0.405, 0.0, 0.518, 0.0, np.nan],
    })
    text = format_summary(table, title="By area, within 15 min")
    title, head, *rows = text.splitlines()
    assert title == "By area, within 15 min"
    assert len(rows) == 5
    # every row is as wide on screen as the header, and the numbers (ASCII) fill
    # the same last columns, so each number sits under its header
    assert {display_width(row) for row in rows} == {display_width(head)}
    assert all(_numbers_part(row).isascii() for row in rows)
    assert head.endswith("population     covered      %       cross      %   uncovered")
    assert rows[0].startswith("仁和镇 ")
    assert _numbers_part(rows[0]).split() == ["12,346", "10,000", "81.0", "5,000", "40.5", "2,345"]
    # a name too long for the label column is cut, on a character boundary, and marked
    assert rows[3].startswith("后沙峪镇后沙峪镇后沙峪镇..")
    assert display_width(rows[3][:-62]) == display_width(rows[0][:-62])
    # an area without people shows no share rather than 0 %
    assert _numbers_part(rows[4]).split() == ["0", "0", "nan", "0", "nan", "0"]


def test_band_table_keeps_its_layout():
    table = pd.DataFrame({"minutes": [5.0, 15.0], "population": [60_000.0] * 2,
                          "covered": [10_896.0, 56_941.0], "cross_covered": [0.0, 40_687.0],
                          "uncovered": [49_104.0, 3_059.0], "covered_share": [0.1816, 0.949],
                          "cross_share": [0.0, 0.6781]})
    lines = format_summary(table).splitlines()
    assert lines[1] == ("within 5 min                      60,000      10,896   18.2           0"
                        "    0.0      49,104")
    assert lines[2].startswith("within 15 min ")


@pytest.mark.parametrize(("column", "decimals"), [
    ("population", 1), ("covered", 1), ("cross_covered", 1), ("uncovered", 1),
    ("population_nearest", 1), ("marginal_gain", 1), ("objective_value", 1),
    ("covered_share", 4), ("cross_share", 4), ("gap", 4),
    ("minutes", 2), ("walk_min", 2), ("nearest_walk_min", 2),
    ("off_network_m", 1), ("area_km2", 4), ("lon", 7), ("lat", 7),
    ("solve_time_s", 3), ("speed_kmh", 2), ("name", None), ("units", None),
])
def test_csv_decimals_follow_the_unit_in_the_name(column, decimals):
    assert csv_decimals(column) == decimals


def _read_rows(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_frames_csv_is_rounded_and_gpkg_keeps_full_precision(tmp_path):
    lon, lat = 116.65432198765, 40.12345678901
    gdf = gpd.GeoDataFrame(
        {"rank": [1], "name": ["仁和镇"], "population": [1234.56789], "units": [7],
         "covered_share": [0.123456789], "nearest_walk_min": [3.14159265],
         "off_network_m": [12.3456], "area_km2": [0.0123456], "lon": [lon], "lat": [lat]},
        geometry=[shapely.Point(lon, lat)], crs=4326)
    table = pd.DataFrame({"k": [0, 1], "covered": [10.04, 20.06], "cross_share": [1 / 3, 2 / 3],
                          "solve_time_s": [0.123456, 1.0], "uncovered": [-1e-12, 0.0]})
    write_frames(tmp_path, "gaps", {"gaps": gdf}, tables={"curve": table})
    (row,) = _read_rows(tmp_path / "gaps.csv")
    assert row == {"rank": "1", "name": "仁和镇", "population": "1234.6", "units": "7",
                   "covered_share": "0.1235", "nearest_walk_min": "3.14",
                   "off_network_m": "12.3", "area_km2": "0.0123",
                   "lon": "116.654322", "lat": "40.1234568", "coord_crs": "wgs84"}
    curve = _read_rows(tmp_path / "curve.csv")
    assert [r["covered"] for r in curve] == ["10.0", "20.1"]
    assert [r["cross_share"] for r in curve] == ["0.3333", "0.6667"]
    assert [r["solve_time_s"] for r in curve] == ["0.123", "1.0"]
    assert [r["uncovered"] for r in curve] == ["0.0", "0.0"]  # no "-0.0" from float noise
    back = gpd.read_file(tmp_path / "gaps.gpkg", layer="gaps")
    assert back["population"].iloc[0] == pytest.approx(1234.56789, abs=1e-9)


def test_coverage_csv_is_rounded(tmp_path):
    net = make_network(NODES, EDGES)
    stations = make_stations(net, metres_to_lonlat(np.array([[30.0, 10.0]])), max_snap_m=100)
    # thirds of a person make shares and sums with long decimals
    pp_ll = metres_to_lonlat(np.array([[60.0, 5.0], [150.0, 5.0], [290.0, 5.0]]))
    people = population_from_points(net, pp_ll[:, 0], pp_ll[:, 1],
                                    np.array([10 / 3, 20 / 3, 1 / 3]), max_snap_m=100)
    cov = compute_coverage(net, stations, people, settings=SETTINGS)
    areas = Areas(gpd.GeoDataFrame({"name": ["仁和镇"]}, geometry=[net.hull.buffer(100)],
                                   crs=net.crs))
    write_coverage(cov, tmp_path, areas=areas)
    summary = _read_rows(tmp_path / "summary.csv")
    for row, exp in zip(summary, cov.summary().to_dict("records"), strict=True):
        for col in ("population", "covered", "cross_covered", "uncovered"):
            assert row[col] == str(round(exp[col], 1))
        for col in ("covered_share", "cross_share"):
            assert row[col] == str(round(exp[col], 4))
        assert row["speed_kmh"] == "0.6"
    assert summary[0]["population"] == "10.3"
    (area,) = _read_rows(tmp_path / "areas.csv")
    assert area["name"] == "仁和镇" and area["population"] == "10.3"
    assert len(area["covered_share"].split(".")[1]) <= 4


_WRITE_IN_A_FRESH_PROCESS = """
import sys
import geopandas as gpd, numpy as np
from circle15.geo.coverage.count import Areas, CoverageSettings, compute_coverage
from circle15.geo.output.export import write_coverage
from circle15.geo.forked import can_fork
from circle15.geo.population.points import population_from_points
from tests.conftest import make_network, metres_to_lonlat
from tests.helpers import make_stations
net = make_network([(0, 0), (100, 0), (200, 0), (300, 0)], [(0, 1), (1, 2), (2, 3)])
stations = make_stations(net, metres_to_lonlat(np.array([[30.0, 10.0]])), max_snap_m=100)
pp = metres_to_lonlat(np.array([[60.0, 5.0], [150.0, 5.0], [290.0, 5.0]]))
people = population_from_points(net, pp[:, 0], pp[:, 1], np.array([1.0, 2.0, 3.0]),
                                max_snap_m=100)
cov = compute_coverage(net, stations, people,
                       settings=CoverageSettings(bands_min=(5, 15), speed_kmh=0.6))
areas = Areas(gpd.GeoDataFrame({"name": ["town"]}, geometry=[net.hull.buffer(100)],
                               crs=net.crs))
assert can_fork(), "a fresh interpreter should write the GeoPackage in a child"
write_coverage(cov, sys.argv[1], areas=areas)
"""


def test_the_geopackage_written_by_a_child_holds_every_layer(tmp_path):
    # the command line writes the GeoPackage in a forked child while it writes the
    # tables (this test run has threads, where it is written on a thread instead)
    out = subprocess.run([sys.executable, "-c", _WRITE_IN_A_FRESH_PROCESS, str(tmp_path)],
                         capture_output=True, text=True, timeout=300, check=False,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    people = gpd.read_file(tmp_path / "coverage.gpkg", layer="population")
    assert sorted(people["population"]) == [1.0, 2.0, 3.0]
    assert len(gpd.read_file(tmp_path / "coverage.gpkg", layer="stations")) == 1
    assert gpd.read_file(tmp_path / "coverage.gpkg", layer="areas")["name"].tolist() == ["town"]
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "coverage-report.xlsx").is_file()


def test_a_failure_while_the_geopackage_is_written_loses_no_file(tmp_path):
    # the command line prints its tables while the GeoPackage is written: should that
    # fail, the coverage files are still all there, and the error is still said
    net = make_network(NODES, EDGES)
    stations = make_stations(net, metres_to_lonlat(np.array([[30.0, 10.0]])), max_snap_m=100)
    pp_ll = metres_to_lonlat(np.array([[60.0, 5.0], [290.0, 5.0]]))
    people = population_from_points(net, pp_ll[:, 0], pp_ll[:, 1], np.array([4.0, 6.0]),
                                    max_snap_m=100)
    cov = compute_coverage(net, stations, people, settings=SETTINGS)
    seen = []

    def meanwhile() -> None:
        seen.append(sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")))
        raise ValueError("the terminal went away")

    with pytest.raises(ValueError, match="terminal went away"):
        write_coverage(cov, tmp_path, meanwhile=meanwhile)
    assert seen == [[]]  # called before anything was moved into place
    assert {"coverage.gpkg", "summary.csv", "coverage-report.xlsx"} <= {
        p.name for p in tmp_path.iterdir()}
    assert sorted(gpd.read_file(tmp_path / "coverage.gpkg", layer="population")["population"]) \
        == [4.0, 6.0]


@pytest.mark.parametrize("out_crs", ["wgs84", "gcj02"])
def test_point_layers_from_lon_lat_are_what_geopandas_writes(tmp_path, out_crs):
    """A point layer written from its lon/lat columns reads back as the reprojected
    frame written by geopandas: columns, types, values, CRS and points."""
    rng = np.random.default_rng(3)
    lon, lat = 116.6 + rng.uniform(0, 0.2, 500), 40.1 + rng.uniform(0, 0.2, 500)
    frame = gpd.GeoDataFrame(
        {"unit": [f"u{i}" for i in range(500)], "population": rng.uniform(0, 50, 500),
         "lon": lon, "lat": lat, "covered": rng.uniform(size=500) < 0.5,
         "nearest_station": [None if i % 7 == 0 else f"S{i % 13}" for i in range(500)]},
        geometry=gpd.points_from_xy(lon, lat), crs=4326).to_crs(32650)
    fast, slow = tmp_path / "fast.gpkg", tmp_path / "slow.gpkg"
    assert write_points(fast, "people", frame, out_crs)
    frame_in(frame, out_crs).to_file(slow, layer="people", driver="GPKG", engine="pyogrio")
    got, want = (pyogrio.read_dataframe(p, layer="people") for p in (fast, slow))
    assert list(got.columns) == list(want.columns) and got.crs == want.crs
    pd.testing.assert_frame_equal(got.drop(columns="geometry"), want.drop(columns="geometry"))
    np.testing.assert_allclose(shapely.get_coordinates(got.geometry.to_numpy()),
                               shapely.get_coordinates(want.geometry.to_numpy()), atol=1e-9)
    # lon/lat that are not the geometry (moved points, polygons): the general way
    moved = frame.assign(lon=frame["lon"] + 0.001)
    assert not write_points(tmp_path / "moved.gpkg", "people", moved, out_crs)
    cells = frame.assign(geometry=frame.buffer(50))
    assert not write_points(tmp_path / "cells.gpkg", "people", cells, out_crs)
    assert not (tmp_path / "moved.gpkg").exists() and not (tmp_path / "cells.gpkg").exists()
