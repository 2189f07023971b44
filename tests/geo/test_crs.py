"""GCJ-02 / BD-09 conversions and the Shunyi outline (an Amap GCJ-02 file)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely

from circle15.geo.coverage.areas import read_areas
from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.crs import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from circle15.geo.errors import SettingsError
from circle15.geo.network.graph import haversine_m
from tests.conftest import make_network, shared
from tests.helpers import make_population, make_stations

# places across China: Beijing (Shunyi, Tiananmen), Shenzhen, Urumqi, Harbin, Sanya
POINTS = np.array([
    [116.6546, 40.1302], [116.3975, 39.9087], [114.2100, 22.6900],
    [87.6168, 43.8256], [126.5350, 45.8038], [109.5120, 18.2528],
])


def test_forward_matches_an_independent_library():
    lon, lat = wgs84_to_gcj02(POINTS[:, 0], POINTS[:, 1])
    for i, (x, y) in enumerate(POINTS):
        ref = prcoords.wgs_gcj((y, x))
        assert haversine_m(lon[i], lat[i], ref.lon, ref.lat) < 0.01
    blon, blat = wgs84_to_bd09(POINTS[:, 0], POINTS[:, 1])
    for i, (x, y) in enumerate(POINTS):
        ref = prcoords.wgs_bd((y, x))
        assert haversine_m(blon[i], blat[i], ref.lon, ref.lat) < 0.01


def test_offsets_are_the_size_users_see():
    # GCJ-02 moves points by a few hundred metres; a no-op would pass round trips
    lon, lat = wgs84_to_gcj02(POINTS[:, 0], POINTS[:, 1])
    shift = haversine_m(POINTS[:, 0], POINTS[:, 1], lon, lat)
    assert (shift > 100).all() and (shift < 800).all()


def test_round_trips_agree_to_below_a_metre():
    rng = np.random.default_rng(0)
    lon = rng.uniform(75, 134, 2000)
    lat = rng.uniform(18, 53, 2000)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert haversine_m(lon, lat, *back).max() < 0.001
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert haversine_m(lon, lat, *back).max() < 0.001


def test_outside_china_is_untouched():
    lon, lat = wgs84_to_gcj02([9.52, -51.2], [47.14, -30.03])  # Vaduz, Porto Alegre
    np.testing.assert_array_equal(lon, [9.52, -51.2])
    np.testing.assert_array_equal(lat, [47.14, -30.03])


def test_unknown_crs_names_are_refused():
    with pytest.raises(SettingsError, match="unknown coordinate system 'utm'"):
        to_wgs84([116.0], [40.0], "utm")


def _shunyi_wgs84_reference() -> shapely.Geometry:
    districts = gpd.read_file(shared("boundaries/beijing-districts.wgs84.geojson"))
    for col in districts.columns.drop("geometry"):
        hit = districts[col].astype(str).str.contains("顺义")
        if hit.any():
            return districts.loc[hit, "geometry"].iloc[0]
    raise AssertionError("Shunyi is not in the Beijing districts file")


def test_shunyi_outline_converts_onto_the_wgs84_outline():
    raw = gpd.read_file(shared("boundaries/shunyi.gcj02.geojson")).geometry.iloc[0]
    converted = shapely.transform(
        raw, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1]))
    )
    ref = _shunyi_wgs84_reference()
    # the converted outline sits on the independent WGS84 outline; the raw one is offset
    c_conv, c_raw, c_ref = (shapely.centroid(g) for g in (converted, raw, ref))
    d_conv = haversine_m(c_conv.x, c_conv.y, c_ref.x, c_ref.y)
    d_raw = haversine_m(c_raw.x, c_raw.y, c_ref.x, c_ref.y)
    assert d_conv < 100 < d_raw


def test_shunyi_outline_as_areas_file():
    # a 6 km street grid across Shunyi's eastern edge (UTM 50N, metres)
    x0, y0 = -5_000.0, 13_500.0
    step, n = 500.0, 13
    nodes = [(x0 + i * step, y0 + j * step) for j in range(n) for i in range(n)]
    edges = [(j * n + i, j * n + i + 1) for j in range(n) for i in range(n - 1)]
    edges += [(j * n + i, (j + 1) * n + i) for j in range(n - 1) for i in range(n)]
    net = make_network(nodes, edges)
    areas = read_areas(shared("boundaries/shunyi.gcj02.geojson"), net, crs="gcj02")
    assert areas.frame["name"].tolist() == ["顺义区"]
    outline = areas.frame.geometry.iloc[0]
    rng = np.random.default_rng(3)
    xy = np.array(nodes)[rng.choice(len(nodes), 400)] + rng.normal(0, 40, (400, 2))
    ll = net.unproject(xy + np.array([[500_000.0, 4_428_000.0]]))
    people = make_population(net, ll, rng)
    stations = make_stations(net, ll[:5])
    cov = compute_coverage(net, stations, people, settings=CoverageSettings())
    by_area = cov.by_area(areas)
    inside = shapely.within(people.frame.geometry.to_numpy(), outline)
    assert 0 < inside.sum() < len(inside)  # the grid straddles the district border
    assert by_area["population"].iloc[0] == pytest.approx(people.count[inside].sum())
    covered = cov.unit_count[-1] >= 1
    assert by_area["covered"].iloc[0] == pytest.approx(people.count[inside & covered].sum())
