"""Station and population files: what is read, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from circle15.geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from circle15.geo.errors import InputError
from circle15.geo.inputs.stations import parse_amenities, read_stations
from circle15.geo.population.points import read_population
from tests.helpers import points_near_streets


@pytest.fixture(scope="module")
def street_points(longgang):
    return points_near_streets(longgang, 12, np.random.default_rng(7), spread_m=8)


def _write_stations(path: Path, ll: np.ndarray, **extra: list) -> Path:
    n = len(ll)
    frame = pd.DataFrame({"id": [f"S{i + 1}" for i in range(n)],
                          "name": [f"驿站{i + 1}" for i in range(n)],
                          "lon": ll[:, 0], "lat": ll[:, 1]})
    for k, v in extra.items():
        frame[k] = v
    frame.to_csv(path, index=False)
    return path


def test_reads_a_full_station_table(tmp_path, longgang, street_points):
    ll = street_points[:3]
    path = _write_stations(tmp_path / "s.csv", ll, address=["a", "b", "c"],
                           amenities=["water; charger", "饮水、急救", ""],
                           opening_hours=["24/7", "Mo-Fr 08:00-18:00", ""],
                           status=["existing", "规划", "closed"])
    st = read_stations(path, longgang)
    assert st.ids == ["S1", "S2", "S3"]
    assert st.frame["amenities"].tolist() == ["water;charger", "water;first_aid", ""]
    assert st.frame["status"].tolist() == ["existing", "planned", "closed"]
    assert len(st.active()) == 1 and len(st.active(include_planned=True)) == 2
    assert (st.frame["off_network_m"] < 40).all()


def test_reads_chinese_headers_in_gb18030_and_xlsx(tmp_path, longgang, street_points):
    ll = street_points[:2]
    frame = pd.DataFrame({"编号": ["A", "B"], "站点名称": ["一号", "二号"],
                          "经度": ll[:, 0], "纬度": ll[:, 1]})
    frame.to_csv(tmp_path / "gbk.csv", index=False, encoding="gb18030")
    assert read_stations(tmp_path / "gbk.csv", longgang).ids == ["A", "B"]
    frame.to_excel(tmp_path / "s.xlsx", index=False)
    assert read_stations(tmp_path / "s.xlsx", longgang).frame["name"].tolist() == ["一号", "二号"]


def test_reads_geojson_points(tmp_path, longgang, street_points):
    import geopandas as gpd
    import shapely

    gdf = gpd.GeoDataFrame({"id": ["G1", "G2"], "name": ["x", "y"]},
                           geometry=shapely.points(street_points[:2]), crs=4326)
    gdf.to_file(tmp_path / "s.geojson", driver="GeoJSON")
    st = read_stations(tmp_path / "s.geojson", longgang)
    np.testing.assert_allclose(st.frame[["lon", "lat"]].to_numpy(), street_points[:2])


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_chinese_coordinates_are_converted_on_import(tmp_path, longgang, street_points, crs):
    conv = wgs84_to_gcj02 if crs == "gcj02" else wgs84_to_bd09
    shifted = np.column_stack(conv(street_points[:, 0], street_points[:, 1]))
    st = read_stations(_write_stations(tmp_path / "s.csv", shifted), longgang, crs=crs)
    np.testing.assert_allclose(st.frame[["lon", "lat"]].to_numpy(), street_points, atol=1e-8)


def test_gcj02_file_declared_as_wgs84_is_detected(tmp_path, longgang, street_points):
    shifted = np.column_stack(wgs84_to_gcj02(street_points[:, 0], street_points[:, 1]))
    path = _write_stations(tmp_path / "amap.csv", shifted)
    with pytest.raises(InputError, match=r"look like GCJ-02 .* crs='gcj02'"):
        read_stations(path, longgang)


def test_wgs84_file_declared_as_gcj02_is_detected(tmp_path, longgang, street_points):
    path = _write_stations(tmp_path / "gps.csv", street_points)
    with pytest.raises(InputError, match="look like WGS84"):
        read_stations(path, longgang, crs="gcj02")


def _error(path: Path, net, **kw) -> str:
    with pytest.raises(InputError) as info:
        read_stations(path, net, **kw)
    return str(info.value)


def test_missing_columns(tmp_path, longgang):
    (tmp_path / "s.csv").write_text("id,name,x_coord\n1,a,114.2\n")
    msg = _error(tmp_path / "s.csv", longgang)
    assert "missing longitude and latitude" in msg and "x_coord" in msg
    (tmp_path / "t.csv").write_text("code2,lon,lat\n1,114.2,22.69\n")
    assert "missing required column(s) id, name" in _error(tmp_path / "t.csv", longgang)


def test_every_bad_row_is_reported_with_its_number(tmp_path, longgang, street_points):
    ll = street_points[:5].astype(object)
    ll[1, 0] = "east"
    ll[2, 1] = ""
    ll[3, 1] = 95.0
    path = _write_stations(tmp_path / "s.csv", ll)
    frame = pd.read_csv(path, dtype=str)
    frame.loc[4, "id"] = "S1"
    frame.to_csv(path, index=False)
    msg = _error(path, longgang)
    assert "4 problems" in msg
    assert "row 2, column 'lon': longitude is not a finite number ('east')" in msg
    assert "row 3, column 'lat': latitude is empty" in msg
    assert "row 4: coordinate" in msg and "out of range" in msg
    assert "row 5, id 'S1', column 'id': duplicate station id (first used on row 1)" in msg


def test_swapped_coordinates_are_named(tmp_path, longgang, street_points):
    ll = street_points[:3].copy()
    ll[1] = ll[1, ::-1]
    msg = _error(_write_stations(tmp_path / "s.csv", ll), longgang, check_crs=False)
    assert "row 2" in msg and "swapped" in msg


def _off_street_m(net, ll):
    from circle15.geo.snapping.snap import snap_points

    return snap_points(net, net.project(ll[:, 0], ll[:, 1]), max_dist_m=1e4).off_m


def test_station_outside_the_area_or_far_from_streets(tmp_path, longgang, street_points):
    ll = street_points[:6].copy()
    ll[0] = [116.65, 40.13]  # Shunyi, Beijing: 2,000 km away
    off = _off_street_m(longgang, ll[1:])
    far = 1 + int(np.argmax(off))
    limit = round(float(off.max()) / 2, 1)
    msg = _error(_write_stations(tmp_path / "s.csv", ll), longgang, check_crs=False,
                 max_snap_m=limit)
    assert "row 1" in msg and "outside the network area" in msg and "km beyond" in msg
    assert f"row {far + 1}" in msg
    assert f"from the nearest walkable street (the limit is {limit:,.0f} m)" in msg
    assert msg.count("row ") == 1 + int((off > limit).sum())


def test_how_far_outside_is_the_geodesic_distance_to_the_nearest_hull_corner(longgang):
    import shapely

    from circle15.geo.network.graph import haversine_m
    from circle15.geo.snapping.placement import km_beyond

    # Shunyi, Sydney, across the antimeridian, near the pole, next to the area
    lon = np.array([116.65, 151.2, -179.9, 10.0, 114.3])
    lat = np.array([40.13, -33.9, 0.0, 89.0, 22.6])
    corners = longgang.unproject(shapely.get_coordinates(longgang.hull))
    brute = np.array([haversine_m(np.full(len(corners), x), np.full(len(corners), y),
                                  corners[:, 0], corners[:, 1]).min() / 1000
                      for x, y in zip(lon, lat, strict=True)])
    np.testing.assert_allclose(km_beyond(longgang, lon, lat), brute, rtol=1e-12)
    assert 1900 < brute[0] < 2000  # Beijing is ~1,950 km from Shenzhen


def test_unreadable_and_unsupported_files(tmp_path, longgang):
    (tmp_path / "s.csv").write_bytes(b"")
    assert "empty" in _error(tmp_path / "s.csv", longgang)
    (tmp_path / "s.xlsx").write_bytes(b"id,name,lon,lat\n1,a,114.2,22.69\n")
    assert "is not an Excel workbook (it looks like a text table: save it as .csv)" in _error(
        tmp_path / "s.xlsx", longgang)
    (tmp_path / "b.csv").write_bytes(bytes(range(256)) * 8)
    assert "is not a text table (it looks like binary data)" in _error(tmp_path / "b.csv",
                                                                        longgang)
    (tmp_path / "s.fgb").write_bytes(b"\x00\x01 not flatgeobuf")
    assert "is not a FlatGeobuf file" in _error(tmp_path / "s.fgb", longgang)
    (tmp_path / "s.geojson").write_text('{"type": "FeatureCollection", "features": [')
    assert "not a readable vector file" in _error(tmp_path / "s.geojson", longgang)
    (tmp_path / "s.pdf").write_text("x")
    assert "unsupported file type '.pdf'" in _error(tmp_path / "s.pdf", longgang)
    assert "no such file" in _error(tmp_path / "none.csv", longgang)


def test_unknown_status_and_amenity(tmp_path, longgang, street_points):
    path = _write_stations(tmp_path / "s.csv", street_points[:2], status=["open", "demolished"],
                           amenities=["water", "jacuzzi"])
    msg = _error(path, longgang)
    assert "row 2" in msg and "unknown status 'demolished'" in msg
    assert "unknown amenity 'jacuzzi'" in msg


def test_amenity_words():
    assert parse_amenities("Water, 充电宝; toilet") == (["water", "charger", "toilet"], [])


def _write_population(path: Path, ll: np.ndarray, count: list) -> Path:
    pd.DataFrame({"lon": ll[:, 0], "lat": ll[:, 1], "population": count}).to_csv(path,
                                                                                   index=False)
    return path


def test_population_reads_and_keeps_total(tmp_path, longgang, street_points):
    path = _write_population(tmp_path / "p.csv", street_points, list(range(12)))
    pop = read_population(path, longgang)
    assert pop.total == sum(range(12)) and len(pop) == 12


def test_bad_population_values(tmp_path, longgang, street_points):
    path = _write_population(tmp_path / "p.csv", street_points[:4], [5, -3, "nan", "many"])
    with pytest.raises(InputError) as info:
        read_population(path, longgang)
    msg = str(info.value)
    assert "row 2" in msg and "negative" in msg
    assert "row 3, column 'population': population is not a finite number" in msg
    assert "row 4" in msg and "'many'" in msg


def test_people_far_from_streets_fail_or_are_dropped_and_counted(tmp_path, longgang,
                                                                 street_points):
    off = _off_street_m(longgang, street_points)
    order = np.argsort(off)
    ll = street_points[order[-4:]]  # the farthest is last
    limit = float(off[order[-1]] + off[order[-2]]) / 2
    path = _write_population(tmp_path / "p.csv", ll, [1, 2, 3, 40])
    with pytest.raises(InputError, match="row 4"):
        read_population(path, longgang, max_snap_m=limit)
    pop = read_population(path, longgang, max_snap_m=limit, on_far="drop")
    assert pop.total == 6 and pop.dropped_population == 40 and pop.dropped_units == 1
    # empty cells off the streets (water, fields) are no error
    path0 = _write_population(tmp_path / "p0.csv", ll, [1, 2, 3, 0])
    assert read_population(path0, longgang, max_snap_m=limit).total == 6


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"),
                                               ("gbk", b""), ("gbk", b"\xef\xbb\xbf"),
                                               ("gb18030", b"\xef\xbb\xbf")])
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_encoding_and_separator_are_found(tmp_path, encoding, bom, sep):
    # a GBK file saved with a UTF-8 byte-order mark read as "锘縤d" before
    from circle15.geo.inputs.tables import read_table

    text = sep.join(["id", "名称", "lon", "lat"]) + "\n" + sep.join(
        ["S1", "顺义驿站", "116.65", "40.13"]) + "\n"
    path = tmp_path / "s.csv"
    path.write_bytes(bom + text.encode(encoding))
    raw = read_table(path)
    assert list(raw.frame.columns) == ["id", "名称", "lon", "lat"]
    assert raw.frame["名称"].iloc[0] == "顺义驿站"
    assert raw.lon[0] == pytest.approx(116.65)


def test_a_table_without_coordinates_says_how_it_was_read(tmp_path):
    from circle15.geo.errors import InputError
    from circle15.geo.inputs.tables import read_table

    path = tmp_path / "s.csv"
    path.write_bytes("编号;名称\nS1;驿站\n".encode("gbk"))
    with pytest.raises(InputError, match="GB18030/GBK, semicolon-separated"):
        read_table(path)
