"""Outdoor-worker demand: estimated from OSM places on the real extracts, or read from a
planner's table (any CRS), with clear errors for bad tables."""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from circle15.geo.coverage.count import compute_coverage
from circle15.geo.coverage.load import station_load
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.errors import InputError, SettingsError
from circle15.geo.inputs.stations import read_stations
from circle15.geo.network.cache import load_network
from circle15.geo.network.graph import haversine_m
from circle15.geo.population.workers import (
    WORKER_CLASSES,
    classify,
    default_weights,
    estimate_workers,
    place_workers,
    read_worker_places,
    read_workers_table,
)
from tests.conftest import shared
from tests.helpers import points_near_streets

LONGGANG = "osm/shenzhen-longgang.osm"
DISTRICT = "district/shunyi-synth.osm.pbf"


def _tagged(path: str) -> collections.Counter[str]:
    """Gathering places counted straight from the file with a plain pyosmium pass
    (nodes and closed ways), independently of the module's reader."""
    import osmium

    found: collections.Counter[str] = collections.Counter()
    keys = ("amenity", "shop", "office", "landuse", "building", "industrial")
    fp = osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_filter(
        osmium.filter.KeyFilter(*keys))
    for obj in fp:
        if isinstance(obj, osmium.osm.Way) and not (len(obj.nodes) > 3
                                                    and obj.nodes[0].ref == obj.nodes[-1].ref):
            continue
        cls = classify(dict(obj.tags))
        if cls is not None:
            found[cls.name] += 1
    return found


def test_longgang_estimate_sums_to_the_total_at_the_tagged_places(longgang):
    path = str(shared(LONGGANG))
    places = read_worker_places(path)
    # the reader finds what a plain pass over the file finds
    assert collections.Counter(places["class"]) == _tagged(path)
    assert {"mall", "supermarket", "takeaway"} <= set(places["class"])
    est, sources = estimate_workers(places, longgang, total=2500.0, total_from="test")
    assert est.count.sum() == pytest.approx(2500.0)
    pop = est.place(longgang)
    assert pop.total == pytest.approx(2500.0) and pop.dropped_units == 0
    # every worker stands at a tagged place, and a class's places share its weight
    at = shapely.distance(shapely.points(est.lon, est.lat)[:, None],
                          places.geometry.to_numpy()[None, :])
    assert at.min(axis=1).max() < 1e-5  # degrees: on or inside a place, within about 1 m
    per_place = sources.table.set_index("class")
    w = default_weights()
    ratio = (per_place.loc["mall", "workers"] / per_place.loc["mall", "places"]) / (
        per_place.loc["takeaway", "workers"] / per_place.loc["takeaway", "places"])
    assert ratio == pytest.approx(w["mall"] / w["takeaway"])
    # the printed source names the classes found and the total's origin
    text = sources.describe()
    assert "mall 1×5" in text and "2,500" in text and "test" in text


def _osm_xml(path, nodes, ways) -> None:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for nid, lon, lat, tags in nodes:
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{body}</node>')
    for wid, refs, tags in ways:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")


def _square(first_id, lon, lat, size_deg):
    corners = [(lon, lat), (lon + size_deg, lat), (lon + size_deg, lat + size_deg),
               (lon, lat + size_deg)]
    return [(first_id + i, x, y, {}) for i, (x, y) in enumerate(corners)]


def test_area_classes_are_spread_by_area_and_lockers_found(tmp_path, longgang):
    lon0, lat0 = 114.212, 22.688
    nodes = [(1, lon0, lat0, {"amenity": "parcel_locker"}),
             (2, lon0 + 0.001, lat0, {"amenity": "vending_machine", "vending": "parcel_pickup"}),
             (3, lon0 + 0.002, lat0, {"amenity": "vending_machine", "vending": "drinks"}),
             (4, lon0 + 0.003, lat0, {"office": "company"})]
    land = _square(10, lon0, lat0 + 0.002, 0.003)
    site = _square(20, lon0 + 0.005, lat0 + 0.002, 0.0005)
    depot = _square(30, lon0 + 0.004, lat0 - 0.002, 0.0004)
    nodes += land + site + depot
    ways = [(100, [10, 11, 12, 13, 10], {"landuse": "commercial"}),
            (101, [20, 21, 22, 23, 20], {"landuse": "construction"}),
            (102, [30, 31, 32, 33, 30], {"building": "warehouse"})]
    path = tmp_path / "places.osm"
    _osm_xml(path, nodes, ways)
    places = read_worker_places(path)
    assert sorted(places["class"]) == ["commercial_land", "construction_site", "logistics",
                                       "office", "parcel_locker", "parcel_locker"]
    est, sources = estimate_workers(places, longgang, total=1000.0)
    table = sources.table.set_index("class")
    geod = pyproj.Geod(ellps="WGS84")
    land_poly = shapely.Polygon([(x, y) for _, x, y, _ in land])
    land_ha = abs(geod.geometry_area_perimeter(land_poly)[0]) / 1e4
    assert table.loc["commercial_land", "area_ha"] == pytest.approx(land_ha, rel=0.01)
    w = default_weights()
    # area-weighted: commercial land against a per-place depot
    assert (table.loc["commercial_land", "workers"] / table.loc["logistics", "workers"]
            == pytest.approx(w["commercial_land"] * land_ha / w["logistics"], rel=0.01))
    # spread over a 100 m grid inside the land (about 9 ha: several points), all equal
    on_land = np.asarray([i.startswith("w-w100") for i in est.ids])
    assert on_land.sum() >= 6 and np.ptp(est.count[on_land]) < 1e-9
    assert shapely.contains_xy(land_poly, est.lon[on_land], est.lat[on_land]).all()
    # the small construction site is one point; the total is kept
    assert sum(i.startswith("w-w101") for i in est.ids) == 1
    assert est.count.sum() == pytest.approx(1000.0)


def test_weights_and_totals_are_checked(longgang):
    places = read_worker_places(shared(LONGGANG))
    with pytest.raises(SettingsError, match="no worker class 'bars'"):
        estimate_workers(places, longgang, total=10.0, weights={"bars": 1.0})
    with pytest.raises(SettingsError, match="must be a number >= 0"):
        estimate_workers(places, longgang, total=10.0, weights={"takeaway": -1.0})
    with pytest.raises(SettingsError, match="positive"):
        estimate_workers(places, longgang, total=0.0)
    zero = {c.name: 0.0 for c in WORKER_CLASSES}
    with pytest.raises(InputError, match="with workers"):
        estimate_workers(places, longgang, total=10.0, weights=zero)


def test_a_worker_table_in_gcj02_is_converted(tmp_path, longgang):
    rng = np.random.default_rng(14)
    ll = points_near_streets(longgang, 40, rng, spread_m=10)
    g_lon, g_lat = wgs84_to_gcj02(ll[:, 0], ll[:, 1])
    counts = rng.integers(1, 30, 40)
    path = tmp_path / "riders.csv"
    pd.DataFrame({"经度": g_lon, "纬度": g_lat, "骑手": counts}).to_csv(path, index=False)
    table = read_workers_table(path, crs="gcj02")
    assert haversine_m(table.lon, table.lat, ll[:, 0], ll[:, 1]).max() < 1.0
    pop = place_workers(table, longgang, crs="gcj02")
    assert pop.total == pytest.approx(counts.sum())
    # the same file declared as WGS84 sits off the streets: refused, naming GCJ-02
    with pytest.raises(InputError, match="GCJ-02"):
        place_workers(read_workers_table(path), longgang, crs="wgs84")


def test_bad_worker_tables_get_clear_errors(tmp_path):
    path = tmp_path / "w.csv"
    pd.DataFrame({"lon": [114.21, 114.22], "lat": [22.69, 22.69],
                  "orders": [3, 4]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"no workers count column.*workers_column.*orders"):
        read_workers_table(path)
    pd.DataFrame({"lon": [114.21, 114.22, 114.23], "lat": [22.69, 22.69, 22.69],
                  "workers": [3, "many", ""]}).to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        read_workers_table(path).place(load_network(shared(LONGGANG)))
    text = str(info.value)
    assert "w.csv" in text and "row 2" in text and "'many'" in text and "row 3" in text
    xlsx = tmp_path / "w.xlsx"
    xlsx.write_text("lon,lat,workers\n1,2,3\n")
    with pytest.raises(InputError, match="not an Excel workbook"):
        read_workers_table(xlsx)


def test_district_estimate_follows_the_shops(cache_dir):
    """District scale: the 2,000 synthetic shops and restaurants hold every worker, and
    1-km cells hold workers in proportion to their (weighted) tagged places; 50 stations'
    nearest-station loads add up to the workers they cover."""
    path = str(shared(DISTRICT))
    net = load_network(path, cache_dir=cache_dir)
    places = read_worker_places(path)
    found = _tagged(path)
    assert collections.Counter(places["class"]) == found
    assert sum(found.values()) > 1500
    est, _ = estimate_workers(places, net, total=79_443.0)
    pop = est.place(net)
    assert est.count.sum() == pytest.approx(79_443.0)
    assert pop.total + pop.dropped_population == pytest.approx(79_443.0)
    # per 1-km cell: workers against tagged places (weighted by class)
    xy = net.project(est.lon, est.lat)
    pxy = net.project(*shapely.get_coordinates(places.geometry.representative_point()).T)
    w = places["class"].map(default_weights()).to_numpy(float)
    lo = np.minimum(xy.min(axis=0), pxy.min(axis=0))
    cells_w = collections.Counter(map(tuple, ((xy - lo) // 1000).astype(int)))
    cells_p = collections.Counter()
    for key, weight in zip(map(tuple, ((pxy - lo) // 1000).astype(int)), w, strict=True):
        cells_p[key] += weight
    worker_cells = {k for k, v in cells_w.items() if v}
    assert worker_cells == {k for k, v in cells_p.items() if v}  # no worker without a place
    keys = sorted(worker_cells)
    in_cell = collections.defaultdict(float)
    for key, c in zip(map(tuple, ((xy - lo) // 1000).astype(int)), est.count, strict=True):
        in_cell[key] += c
    a = np.array([in_cell[k] for k in keys])
    b = np.array([cells_p[k] for k in keys])
    np.testing.assert_allclose(a / a.sum(), b / b.sum(), rtol=1e-9)

    # station load of the workers at district scale
    stations = read_stations(shared("district/stations-50.csv"), net)
    cov = compute_coverage(net, stations.active(), pop)
    load = station_load({"workers": cov}, max_load=2000.0)
    assert load["workers_nearest"].sum() == pytest.approx(cov.summary()["covered"].iloc[-1])
    assert load["overloaded"].tolist() == (load["load"] > 2000.0).tolist()
