"""Population sources: rasters, census polygons with dasymetric spreading, buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.errors import InputError
from circle15.geo.network.graph import haversine_m
from circle15.geo.population.sources import (
    buildings_population,
    dasymetric_population,
    raster_population,
    read_census,
    read_osm_buildings,
)
from tests.conftest import shared
from tests.helpers import make_stations, points_near_streets


def _write_tif(path, data, *, crs="EPSG:32650", origin=None, cell=100.0, nodata=-1.0):
    h, w = data.shape
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=1,
                       dtype="float64", crs=crs, nodata=nodata,
                       transform=from_origin(origin[0], origin[1], cell, cell)) as dst:
        dst.write(data, 1)


@pytest.fixture(scope="module")
def grid_origin(longgang):
    c = shapely.centroid(longgang.hull)
    return (c.x - 700.0, c.y + 600.0)  # a 1.5 km × 1.2 km grid around the centre


def test_raster_counts_round_trip(tmp_path, longgang, grid_origin):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 300, (12, 15)).astype(float)
    data[3, 4] = -1.0  # nodata
    data[0, 0] = 0.0
    _write_tif(tmp_path / "pop.tif", data, origin=grid_origin)
    est = raster_population(tmp_path / "pop.tif", longgang)
    valid = (data >= 0)
    assert est.count.sum() == pytest.approx(data[valid].sum())
    # the right cells: the unit of cell (r, c) sits at that cell's centre with its count
    by_id = dict(zip(est.ids, est.count, strict=True))
    for r, c in [(1, 1), (5, 7), (11, 14)]:
        assert by_id[f"r{r}c{c}"] == data[r, c]
    i = est.ids.index("r5c7")
    xy = longgang.project(est.lon[i:i + 1], est.lat[i:i + 1])[0]
    assert xy == pytest.approx((grid_origin[0] + 750.0, grid_origin[1] - 550.0), abs=1e-6)
    assert "r3c4" not in by_id and "r0c0" not in by_id
    pop = est.place(longgang)
    assert pop.total + pop.dropped_population == pytest.approx(data[valid].sum())


def test_density_raster_in_wgs84(tmp_path, longgang):
    lon0, lat0 = longgang.node_lonlat.mean(axis=0)
    data = np.full((6, 6), 10_000.0)  # people per km²
    _write_tif(tmp_path / "dens.tif", data, crs="EPSG:4326", origin=(lon0, lat0), cell=0.001,
               nodata=-9999)
    est = raster_population(tmp_path / "dens.tif", longgang, density=True)
    # a 0.001° cell at 22.7° N is about 111.3 m × 102.7 m
    cell_km2 = (0.001 * 111_320 * np.cos(np.radians(lat0))) * (0.001 * 110_750) / 1e6
    assert est.count.mean() == pytest.approx(10_000 * cell_km2, rel=0.01)
    with pytest.raises(InputError, match="density raster"):
        raster_population(tmp_path / "dens.tif", longgang)  # the same file, read as counts


def test_bad_rasters(tmp_path, longgang, grid_origin):
    data = np.ones((4, 4))
    _write_tif(tmp_path / "far.tif", data, origin=(100_000.0, 100_000.0))
    with pytest.raises(InputError, match="does not overlap"):
        raster_population(tmp_path / "far.tif", longgang)
    neg = data.copy()
    neg[1, 1] = -5
    _write_tif(tmp_path / "neg.tif", neg, origin=grid_origin, nodata=-1.0)
    with pytest.raises(InputError, match="negative"):
        raster_population(tmp_path / "neg.tif", longgang)
    nan = data.copy()
    nan[2, 2] = np.nan
    _write_tif(tmp_path / "nan.tif", nan, origin=grid_origin)
    with pytest.raises(InputError, match="NaN but not declared nodata"):
        raster_population(tmp_path / "nan.tif", longgang)
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning), rasterio.open(
            tmp_path / "nocrs.tif", "w", driver="GTiff", height=4, width=4, count=1,
                       dtype="float64", transform=from_origin(0, 0, 1, 1)) as dst:
        dst.write(data, 1)
    with pytest.raises(InputError, match="CRS missing"):
        raster_population(tmp_path / "nocrs.tif", longgang)


def _census_grid(net, pops, *, n=3):
    minx, miny, maxx, maxy = shapely.bounds(net.hull)
    xs = np.linspace(minx, maxx, n + 1)
    ys = np.linspace(miny, maxy, n + 1)
    boxes = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for j in range(n)
             for i in range(n)]
    return gpd.GeoDataFrame({"name": [f"area {k + 1}" for k in range(len(boxes))],
                             "population": pops[: len(boxes)]},
                            geometry=boxes, crs=net.crs).to_crs(4326)


@pytest.mark.parametrize("network", ["liechtenstein", "andorra"])
def test_dasymetric_keeps_every_total_and_shares_by_floor_area(request, network):
    net = request.getfixturevalue(network)
    pbf = shared(f"osm/{network}.osm.pbf")
    buildings = read_osm_buildings(pbf, net)
    assert len(buildings) > 200
    assert "default" in set(buildings["levels_from"])
    tagged = buildings["levels_from"] == "tag"
    np.testing.assert_allclose(buildings["floor_area_m2"],
                               buildings["footprint_m2"] * buildings["levels"])
    assert (buildings.loc[~tagged, "levels"] >= 1).all()
    pops = np.array([12_345, 6_789, 1_000, 25_000, 333, 4_321, 8_000, 0, 777], dtype=float)
    census = _census_grid(net, pops)
    est = dasymetric_population(census, buildings, net)
    # every polygon's total, to the person
    polys = census.to_crs(net.crs).geometry.to_numpy()
    xy = net.project(est.lon, est.lat)
    where = shapely.STRtree(polys).query(shapely.points(xy), predicate="intersects")
    first = np.unique(where[0], return_index=True)[1]
    per_poly = np.bincount(where[1][first], weights=est.count[where[0][first]],
                           minlength=len(polys))
    np.testing.assert_allclose(per_poly, pops, atol=0.5)
    assert est.count.sum() == pytest.approx(pops.sum())
    # within a polygon, people per m² of floor are the same for every building
    b_units = np.array([i.startswith("b") for i in est.ids])
    floor = buildings.set_index("osm_id")["floor_area_m2"]
    ratio = est.count[b_units] / floor.loc[[int(i[1:]) for i in np.asarray(est.ids)[b_units]]
                                           ].to_numpy()
    poly_of = where[1][first][b_units]
    for p in np.unique(poly_of):
        r = ratio[poly_of == p]
        assert r.max() == pytest.approx(r.min(), rel=1e-9)
    # a building with twice the floor area gets twice the people
    b0 = buildings.iloc[0]
    double = buildings.copy()
    double.loc[0, "floor_area_m2"] = 2 * b0["floor_area_m2"]
    est2 = buildings_population(double.iloc[:2], net, total=300.0)
    ratio2 = est2.count[0] / est2.count[1]
    assert ratio2 == pytest.approx(2 * b0["floor_area_m2"] / double.iloc[1]["floor_area_m2"])


def test_area_without_buildings_spreads_along_streets(liechtenstein):
    net = liechtenstein
    buildings = read_osm_buildings(shared("osm/liechtenstein.osm.pbf"), net).iloc[:0]
    census = _census_grid(net, np.array([1000.0, 2000.0, 0.0, 500.0]), n=2)
    est = dasymetric_population(census, buildings, net)
    assert est.count.sum() == pytest.approx(3500.0)
    assert all(i.startswith("a") for i in est.ids)


def test_shunyi_census_total_from_the_2020_table():
    census = read_census(shared("boundaries/shunyi.gcj02.geojson"), crs="gcj02",
                         table=shared("boundaries/beijing-districts-census2020.csv"))
    assert census["name"].tolist() == ["顺义区"]
    assert census["population"].iloc[0] == 1_324_044
    ref = gpd.read_file(shared("boundaries/beijing-districts.wgs84.geojson"))
    hit = ref.apply(lambda r: r.astype(str).str.contains("顺义").any(), axis=1)
    c_ref = ref[hit].geometry.iloc[0].centroid
    c = census.geometry.iloc[0].centroid
    assert haversine_m(c.x, c.y, c_ref.x, c_ref.y) < 100


def test_census_bad_input(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["a", "b", "c"], "population": [10, -1, 5]},
                           geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
                                     shapely.Polygon([(0, 0), (1, 1), (2, 2)])], crs=4326)
    gdf.to_file(tmp_path / "c.geojson", driver="GeoJSON")
    with pytest.raises(InputError) as info:
        read_census(tmp_path / "c.geojson")
    msg = str(info.value)
    assert "row 2, id 'b': population is negative" in msg
    assert "row 3, id 'c': polygon has zero area" in msg
    with pytest.raises(InputError, match="not in the table"):
        read_census(tmp_path / "c.geojson",
                    table=shared("boundaries/beijing-districts-census2020.csv"))


def test_building_estimate_feeds_coverage(liechtenstein):
    net = liechtenstein
    buildings = read_osm_buildings(shared("osm/liechtenstein.osm.pbf"), net)
    est = buildings_population(buildings, net, total=39_000)
    pop = est.place(net)
    assert pop.total + pop.dropped_population == pytest.approx(39_000)
    assert "buildings" in pop.rule
    rng = np.random.default_rng(2)
    cov = compute_coverage(net, make_stations(net, points_near_streets(net, 20, rng)), pop,
                           settings=CoverageSettings())
    assert 0 < cov.summary()["covered"].iloc[-1] < pop.total


def test_service_builds_its_area_from_census_polygons(tmp_path, liechtenstein, monkeypatch,
                                                      cache_dir):
    from circle15.api.settings import Settings
    from circle15.api.state import load_state

    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    census = _census_grid(liechtenstein, np.array([20_000.0, 19_000.0]), n=1)
    census = census.iloc[:1].assign(population=39_000.0)
    census.to_file(tmp_path / "census.geojson", driver="GeoJSON")
    state = load_state(Settings(network=str(shared("osm/liechtenstein.osm.pbf")),
                                census=str(tmp_path / "census.geojson"), data_dir=tmp_path))
    pop = state.population
    assert pop.total + pop.dropped_population == pytest.approx(39_000)
    assert "census polygons" in pop.rule
    state.store.close()
