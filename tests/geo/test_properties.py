"""Invariants of the coverage computation on small random networks (hypothesis).

- walking times and station counts equal a plain networkx Dijkstra on a graph
  where every point is a real node (``tests.reference.split_graph``);
- coverage never shrinks when a station is added or the time limit grows;
- cross-covered <= covered <= total in every band of the summary;
- every population source keeps its total: people placed plus people
  reported as dropped (too far from a street) equal the input.

Examples are derandomized (the same ones on every run) and few per test, so the
module runs in well under a minute on a busy CI machine. The schemathesis pytest
plugin blanks the arguments of a falsifying example in the report; run with
``-p no:schemathesis`` to see them.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin

from circle15.geo.coverage.count import Coverage, CoverageSettings, compute_coverage
from circle15.geo.errors import InputError
from circle15.geo.inputs.stations import Stations
from circle15.geo.network.graph import Network
from circle15.geo.population.points import Population, population_from_points
from circle15.geo.population.sources import (
    Estimate,
    buildings_population,
    dasymetric_population,
    raster_population,
)
from circle15.geo.snapping.placement import place_points
from circle15.geo.snapping.snap import DEFAULT_RULE, Snapped
from tests.conftest import ORIGIN_XY, make_network, metres_to_lonlat
from tests.geo.strategies import (
    Layout,
    RasterCase,
    Scene,
    layouts,
    near_edges,
    raster_cases,
    scenes,
)
from tests.helpers import make_population, make_stations
from tests.reference import as_array, split_graph, within

#: agreement asked of walking times (minutes), as in the task
TOL_MIN = 1e-6


def _property(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _network(layout: Layout) -> Network:
    net = make_network(list(layout.nodes_xy), list(layout.edges))
    assert net.n_nodes == len(layout.nodes_xy)  # connected by construction: nothing trimmed
    return net


def _build(scene: Scene) -> tuple[Network, Stations, Population, CoverageSettings]:
    net = _network(scene.layout)
    stations = make_stations(net, metres_to_lonlat(scene.layout.points(scene.stations)))
    people = make_population(net, metres_to_lonlat(scene.layout.points(scene.people)),
                             np.random.default_rng(scene.seed))
    assert len(people) == len(scene.people)  # all within 500 m: none dropped
    coverage_settings = CoverageSettings(bands_min=scene.bands_min, speed_kmh=scene.speed_kmh)
    return net, stations, people, coverage_settings


def _street_geometry(layout: Layout, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: metres from each point to each straight street, and the
    metres along that street (from its first node) of the nearest position."""
    nodes = layout.xy
    u = np.array([e[0] for e in layout.edges])
    v = np.array([e[1] for e in layout.edges])
    a, d = nodes[u], nodes[v] - nodes[u]
    rel = xy[:, None, :] - a[None]
    len2 = np.einsum("ec,ec->e", d, d)
    t = np.clip(np.einsum("pec,ec->pe", rel, d) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    diff = rel - t[..., None] * d[None]
    return np.hypot(diff[..., 0], diff[..., 1]), t * np.sqrt(len2)[None]


def _street_distance(layout: Layout, xy: np.ndarray) -> np.ndarray:
    """Brute force: metres from each point to the nearest straight street."""
    return _street_geometry(layout, xy)[0].min(axis=1)


def _assert_joins_follow_rule(layout: Layout, xy: np.ndarray, snapped: Snapped) -> None:
    """Each point joins every street within (nearest + slack) metres, at the
    nearest position on it, with the straight walk to it (DESIGN: snapping rule;
    every synthetic street is eligible). Streets within a hair of the threshold
    may go either way."""
    dist, along = _street_geometry(layout, xy)
    joins = snapped.all_joins()
    tol = 1e-6
    for j in np.flatnonzero(snapped.ok):
        rows = np.flatnonzero(joins.point == j)
        edges = joins.edge[rows]
        assert len(set(edges.tolist())) == rows.size  # one join per street
        threshold = dist[j].min() + DEFAULT_RULE.slack_m
        must = set(np.flatnonzero(dist[j] < threshold - tol).tolist())
        may = set(np.flatnonzero(dist[j] <= threshold + tol).tolist())
        assert must <= set(edges.tolist()) <= may, (j, sorted(must), sorted(edges.tolist()))
        np.testing.assert_allclose(joins.off_m[rows], dist[j, edges], atol=tol)
        np.testing.assert_allclose(joins.along_m[rows], along[j, edges], atol=tol)
        # the primary join is the nearest street
        assert snapped.off_m[j] == pytest.approx(dist[j].min(), abs=tol)


def _to_network_crs(xy_local: np.ndarray) -> np.ndarray:
    return np.asarray(xy_local, float) + np.asarray(ORIGIN_XY)


# ---------------------------------------------------------------------------
# walking times against networkx


@_property(40)
@given(scene=scenes())
def test_walking_times_match_networkx_dijkstra(scene: Scene) -> None:
    net, stations, people, cs = _build(scene)
    cov = compute_coverage(net, stations, people, settings=cs)
    mpm = cs.metres_per_minute
    tol_m = TOL_MIN * mpm

    # the points enter the network by the snapping rule (checked by brute force), so
    # the reference below, which inserts every join into its street, is independent
    _assert_joins_follow_rule(scene.layout, scene.layout.points(scene.stations), stations.snapped)
    _assert_joins_follow_rule(scene.layout, scene.layout.points(scene.people), people.snapped)
    G = split_graph(net, {"st": stations.snapped, "p": people.snapped})
    p_keys = [("p", j) for j in range(len(people))]
    node_keys = list(range(net.n_nodes))
    by_station = [within(G, ("st", s), math.inf) for s in range(len(stations))]
    d_people = np.array([as_array(d, p_keys) for d in by_station])  # stations × people
    d_nodes = np.array([as_array(d, node_keys) for d in by_station])
    assert np.isfinite(d_people).all()  # the layouts are connected

    # time to the nearest station, at any distance, for people and nodes
    ref_people = d_people.min(axis=0)
    np.testing.assert_allclose(cov.unit_time_min, ref_people / mpm, rtol=0, atol=TOL_MIN)
    np.testing.assert_allclose(cov.node_time_min, d_nodes.min(axis=0) / mpm, rtol=0,
                               atol=TOL_MIN)
    # the station named nearest is one at that time
    named = cov.nearest_any.target_source
    np.testing.assert_allclose(d_people[named, np.arange(len(people))], ref_people, atol=tol_m)

    # the bounded pass agrees within the limit and reports nothing beyond it
    lim = cs.limit_m
    inside, beyond = ref_people <= lim - tol_m, ref_people > lim + tol_m
    np.testing.assert_allclose(cov.nearest.target_dist_m[inside], ref_people[inside], atol=tol_m)
    assert np.isinf(cov.nearest.target_dist_m[beyond]).all()
    assert (cov.nearest.target_source[beyond] == -1).all()

    # how many stations reach each person and node, per band; a distance within
    # the tolerance of a band's limit may count either way
    for j, b in enumerate(cs.bands_m):
        for got, ref in ((cov.unit_count[j], d_people), (cov.node_count[j], d_nodes)):
            assert ((ref <= b - tol_m).sum(axis=0) <= got).all()
            assert (got <= (ref <= b + tol_m).sum(axis=0)).all()

    # every (station, person) pair reported is at its true distance, and none is missing
    np.testing.assert_allclose(cov.reach.dist_m, d_people[cov.reach.source, cov.reach.target],
                               atol=tol_m)
    must = np.argwhere(d_people <= lim - tol_m)
    got_pairs = set(zip(cov.reach.source.tolist(), cov.reach.target.tolist(), strict=True))
    assert {(int(s), int(t)) for s, t in must} <= got_pairs


# ---------------------------------------------------------------------------
# monotone coverage


def _assert_no_less(more: Coverage, less: Coverage) -> None:
    """Coverage ``more`` is at least ``less``, person by person and in the summary."""
    assert (more.unit_count >= less.unit_count).all()
    assert (more.node_count >= less.node_count).all()
    assert (more.unit_time_min <= less.unit_time_min + TOL_MIN).all()
    s_more, s_less = more.summary(), less.summary()
    assert (s_more["covered"].to_numpy() >= s_less["covered"].to_numpy()).all()
    assert (s_more["cross_covered"].to_numpy() >= s_less["cross_covered"].to_numpy()).all()


@_property(30)
@given(scene=scenes(min_stations=2), data=st.data())
def test_adding_stations_never_reduces_coverage(scene: Scene, data: st.DataObject) -> None:
    net, stations, people, cs = _build(scene)
    m = len(stations)
    chosen = data.draw(st.sets(st.integers(0, m - 1), min_size=1, max_size=m - 1),
                       label="first group")
    first = np.isin(np.arange(m), sorted(chosen))
    full = compute_coverage(net, stations, people, settings=cs)
    part = compute_coverage(net, stations.select(first), people, settings=cs)
    rest = compute_coverage(net, stations.select(~first), people, settings=cs)
    _assert_no_less(full, part)
    _assert_no_less(full, rest)
    # stations reach people independently: counts add up, the nearest is the nearer one
    np.testing.assert_array_equal(full.unit_count, part.unit_count + rest.unit_count)
    np.testing.assert_array_equal(full.node_count, part.node_count + rest.node_count)
    np.testing.assert_allclose(full.unit_time_min,
                               np.minimum(part.unit_time_min, rest.unit_time_min), atol=TOL_MIN)


@_property(30)
@given(scene=scenes(), extra_min=st.floats(0.5, 30.0))
def test_longer_time_limit_never_reduces_coverage(scene: Scene, extra_min: float) -> None:
    net, stations, people, cs = _build(scene)
    longer = CoverageSettings(bands_min=(*cs.bands_min, cs.minutes + extra_min),
                              speed_kmh=cs.speed_kmh)
    short = compute_coverage(net, stations, people, settings=cs)
    long = compute_coverage(net, stations, people, settings=longer)
    # within one result the bands are nested
    for cov in (short, long):
        assert (np.diff(cov.unit_count, axis=0) >= 0).all()
        assert (np.diff(cov.node_count, axis=0) >= 0).all()
        s = cov.summary()
        assert (np.diff(s["covered"]) >= 0).all() and (np.diff(s["cross_covered"]) >= 0).all()
    # the same bands give the same counts whatever the service limit
    np.testing.assert_array_equal(long.unit_count[:-1], short.unit_count)
    np.testing.assert_array_equal(long.node_count[:-1], short.node_count)
    # whoever the short limit covers, the long one covers too, with the same time
    assert (long.unit_count[-1] >= short.unit_count[-1]).all()
    ok = np.isfinite(short.nearest.target_dist_m)
    assert np.isfinite(long.nearest.target_dist_m[ok]).all()
    np.testing.assert_allclose(long.nearest.target_dist_m[ok], short.nearest.target_dist_m[ok],
                               atol=TOL_MIN)


# ---------------------------------------------------------------------------
# the summary


@_property(30)
@given(scene=scenes())
def test_summary_bands_are_consistent(scene: Scene) -> None:
    net, stations, people, cs = _build(scene)
    cov = compute_coverage(net, stations, people, settings=cs)
    summary = cov.summary()
    pop = people.count
    assert list(summary["minutes"]) == list(cs.bands_min)
    tol_m = TOL_MIN * cs.metres_per_minute
    time_m = cov.nearest_any.target_dist_m
    for j, row in enumerate(summary.itertuples()):
        count = cov.unit_count[j]
        assert row.population == pytest.approx(pop.sum())
        assert 0 <= row.cross_covered <= row.covered <= row.population
        assert row.covered == pytest.approx(pop[count >= 1].sum())
        assert row.cross_covered == pytest.approx(pop[count >= 2].sum())
        assert row.uncovered == pytest.approx(row.population - row.covered)
        assert row.units == len(people) and row.units_uncovered == int((count == 0).sum())
        # covered exactly when the nearest station is within the band
        band_m = cs.bands_m[j]
        assert (count[time_m <= band_m - tol_m] >= 1).all()
        assert (count[time_m > band_m + tol_m] == 0).all()


# ---------------------------------------------------------------------------
# population sources keep their totals


def _counts(n: int) -> st.SearchStrategy[list[float]]:
    return st.lists(st.one_of(st.just(0.0), st.integers(1, 1000).map(float),
                              st.floats(0.01, 1000.0)), min_size=n, max_size=n)


@_property(40)
@given(layout=layouts(), data=st.data())
def test_point_population_total_is_preserved(layout: Layout, data: st.DataObject) -> None:
    near = data.draw(near_edges(layout, min_size=1, max_size=30, max_off_m=400.0), label="points")
    count = np.array(data.draw(_counts(len(near)), label="count"))
    max_snap_m = data.draw(st.floats(10.0, 300.0), label="max_snap_m")
    xy = layout.points(near)
    dist = _street_distance(layout, xy)
    # a point within a hair of the limit may fall either side of it
    far = dist > max_snap_m + 1e-6
    unclear = np.abs(dist - max_snap_m) <= 1e-6
    net = _network(layout)
    ll = metres_to_lonlat(xy)

    placed = place_points(net, ll[:, 0], ll[:, 1], max_snap_m=max_snap_m)
    ok = placed.snapped.ok
    assert (ok[~unclear] == ~far[~unclear]).all()
    assert {p.row for p in placed.problems} == {int(i) + 1 for i in np.flatnonzero(~ok)}
    _assert_joins_follow_rule(layout, xy, placed.snapped)

    peopled_far = ~ok & (count > 0)
    if not ok.any():
        with pytest.raises(InputError):
            population_from_points(net, ll[:, 0], ll[:, 1], count, max_snap_m=max_snap_m,
                                   on_far="drop")
        return
    if peopled_far.any():
        with pytest.raises(InputError):
            population_from_points(net, ll[:, 0], ll[:, 1], count, max_snap_m=max_snap_m)
    pop = population_from_points(net, ll[:, 0], ll[:, 1], count, max_snap_m=max_snap_m,
                                 on_far="drop")
    np.testing.assert_array_equal(pop.count, count[ok])
    assert pop.dropped_units == int(peopled_far.sum())
    assert pop.dropped_population == pytest.approx(count[~ok].sum())
    assert pop.total + pop.dropped_population == pytest.approx(count.sum())


def _buildings(layout: Layout, data: st.DataObject, *, max_off_m: float) -> gpd.GeoDataFrame:
    """Square residential buildings near the streets, in the network's CRS."""
    near = data.draw(near_edges(layout, min_size=1, max_size=25, max_off_m=max_off_m),
                     label="buildings")
    k = len(near)
    side = np.array(data.draw(st.lists(st.floats(4.0, 40.0), min_size=k, max_size=k),
                              label="side_m"))
    levels = np.array(data.draw(st.lists(st.integers(1, 30), min_size=k, max_size=k),
                                label="levels"), dtype=float)
    centre = _to_network_crs(layout.points(near))
    geoms = shapely.box(centre[:, 0] - side / 2, centre[:, 1] - side / 2,
                        centre[:, 0] + side / 2, centre[:, 1] + side / 2)
    return gpd.GeoDataFrame(
        {"osm_id": np.arange(1, k + 1), "building": "residential", "levels": levels,
         "footprint_m2": side**2, "floor_area_m2": side**2 * levels},
        geometry=list(geoms), crs="EPSG:32650",
    )


def _check_placement(est: Estimate, net: Network, layout: Layout, max_snap_m: float,
                     expected: float) -> None:
    """Placing an estimate keeps its people: placed + reported dropped = ``expected``,
    and the units dropped are exactly those with people too far from any street."""
    dist = _street_distance(layout, _to_local(net.project(est.lon, est.lat)))
    assume(not (np.abs(dist - max_snap_m) <= 1e-6).any())  # either side of the limit
    far = dist > max_snap_m
    if far.all():
        with pytest.raises(InputError, match="no population unit"):
            est.place(net, max_snap_m=max_snap_m)
        return
    pop = est.place(net, max_snap_m=max_snap_m)
    assert pop.total + pop.dropped_population == pytest.approx(expected)
    assert pop.dropped_units == int((far & (est.count > 0)).sum())
    assert pop.dropped_population == pytest.approx(est.count[far].sum())
    assert len(pop) == int((~far).sum())


def _to_local(xy: np.ndarray) -> np.ndarray:
    return np.asarray(xy, float) - np.asarray(ORIGIN_XY)


@_property(30)
@given(layout=layouts(), data=st.data())
def test_building_population_total_is_preserved(layout: Layout, data: st.DataObject) -> None:
    buildings = _buildings(layout, data, max_off_m=300.0)
    total = data.draw(st.floats(1.0, 1e6), label="total")
    max_snap_m = data.draw(st.floats(10.0, 200.0), label="max_snap_m")
    net = _network(layout)
    est = buildings_population(buildings, net, total=total)
    assert est.count.sum() == pytest.approx(total)
    # shared by floor area
    np.testing.assert_allclose(est.count, total * buildings["floor_area_m2"]
                               / buildings["floor_area_m2"].sum())
    _check_placement(est, net, layout, max_snap_m, total)


@_property(30)
@given(layout=layouts(), data=st.data())
def test_census_polygon_totals_are_preserved(layout: Layout, data: st.DataObject) -> None:
    # census polygons: a grid of rectangles over the network's box, some
    # buildings inside, some outside every polygon
    buildings = _buildings(layout, data, max_off_m=250.0)
    lo, hi = layout.xy.min(axis=0), layout.xy.max(axis=0)
    pad = data.draw(st.floats(0.0, 150.0), label="pad_m")
    cuts = [np.unique(np.r_[0.0, data.draw(st.lists(st.floats(0.05, 0.95), max_size=3),
                                          label=f"cuts_{axis}"), 1.0]) for axis in "xy"]
    xs = lo[0] - pad + cuts[0] * (hi[0] - lo[0] + 2 * pad)
    ys = lo[1] - pad + cuts[1] * (hi[1] - lo[1] + 2 * pad)
    rects = [shapely.box(x0, y0, x1, y1) for x0, x1 in itertools.pairwise(xs)
             for y0, y1 in itertools.pairwise(ys)]
    people = np.array(data.draw(st.lists(st.integers(0, 5000), min_size=len(rects),
                                         max_size=len(rects)), label="census"), dtype=float)
    ll_rects = [shapely.Polygon(metres_to_lonlat(shapely.get_coordinates(r))) for r in rects]
    census = gpd.GeoDataFrame({"name": [f"A{j + 1}" for j in range(len(rects))],
                               "population": people}, geometry=ll_rects, crs=4326)
    net = _network(layout)

    # which polygon holds each building (by its representative point), and
    # which polygons have walkable street inside
    polys = census.to_crs(net.crs).geometry.to_numpy()
    rep = buildings.geometry.representative_point().to_numpy()
    holds = shapely.contains(polys[:, None], rep[None, :])  # polygons × buildings
    streets = shapely.multilinestrings(list(net.edge_geometry))
    has_street = shapely.length(shapely.intersection(polys, streets)) > 1e-9
    empty = (people > 0) & ~holds.any(axis=1) & ~has_street
    if empty.any():
        with pytest.raises(InputError, match="no residential building and no walkable street"):
            dasymetric_population(census, buildings, net)
        return
    est = dasymetric_population(census, buildings, net)
    # each polygon's count is spread over its buildings, or its streets, exactly
    owner = {f"b{i + 1}": int(np.argmax(holds[:, i])) for i in range(len(buildings))
             if holds[:, i].any()}
    got = np.zeros(len(rects))
    for unit, c in zip(est.ids, est.count, strict=True):
        if unit.startswith("b"):
            got[owner[unit]] += c  # a KeyError: a building outside every polygon got people
        else:
            got[int(unit[1:].split("s")[0]) - 1] += c
    np.testing.assert_allclose(got, people, rtol=1e-9, atol=1e-6)
    # placing them drops only people too far from any street, and says how many
    max_snap_m = data.draw(st.floats(10.0, 200.0), label="max_snap_m")
    _check_placement(est, net, layout, max_snap_m, people.sum())


def _write_raster(case: RasterCase, folder: Path) -> tuple[Path, np.ndarray, np.ndarray,
                                                           np.ndarray, np.ndarray]:
    """Write the case's GeoTIFF; return its path and, for every cell with data,
    its row, column, value and how far its centre is from the network's hull."""
    values = np.asarray(case.values, dtype=float)
    path = folder / "pop.tif"
    ox, oy = _to_network_crs(np.array([case.left_m, case.top_m]))
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0],
                       width=values.shape[1], count=1, dtype="float64", crs="EPSG:32650",
                       nodata=-1.0, transform=from_origin(ox, oy, case.cell_m, case.cell_m)) as dst:
        dst.write(values, 1)
    r, c = np.nonzero(values >= 0)
    cx = case.left_m + (c + 0.5) * case.cell_m
    cy = case.top_m - (r + 0.5) * case.cell_m
    hull = shapely.convex_hull(shapely.multipoints(case.layout.xy))
    gap = shapely.distance(hull, shapely.points(cx, cy))
    return path, r, c, values[r, c], gap


#: the network's area is hull + margin drawn as a polygon, a little inside the
#: true buffer: a cell centre this close (share of the margin) to its edge may
#: fall either side
_EDGE_SHARE = 0.02

#: found by the property below (shrunk by hand): a 100 m square of streets
#: (area x = -50..150) and three 100 m cells at x = -130..170 whose last two
#: are centred at x = 20 and 120, 20 m from a street; the last cell is not read
_RASTER_BUG = RasterCase(
    layout=Layout(((0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)),
                  ((0, 1), (1, 2), (2, 3), (3, 0))),
    cell_m=100.0, left_m=-130.0, top_m=100.0, values=((0, 100, 100),), margin_m=50.0,
    max_snap_m=100.0)


@_property(30)
@given(case=raster_cases())
def test_raster_units_are_its_cells_and_placing_keeps_them(
    case: RasterCase, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path, r, c, value, gap = _write_raster(case, tmp_path_factory.mktemp("raster"))
    net = _network(case.layout)
    try:
        est = raster_population(path, net, margin_m=case.margin_m)
    except InputError as exc:
        # refused as not overlapping; whether rightly is the next test's question
        assert "does not overlap" in str(exc) or "no raster cell with data" in str(exc)
        return
    # each unit is one cell with people, in the area, with that cell's count
    cell_of = {f"r{i}c{j}": k for k, (i, j) in enumerate(zip(r, c, strict=True))}
    read = np.array([cell_of[unit] for unit in est.ids], dtype=int)
    assert np.unique(read).size == read.size
    np.testing.assert_array_equal(est.count, value[read])
    assert (est.count > 0).all()
    assert (gap[read] < case.margin_m * (1 + _EDGE_SHARE)).all()
    if est.count.size:
        _check_placement(est, net, case.layout, case.max_snap_m, est.count.sum())


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow])
@example(case=_RASTER_BUG)
@given(case=raster_cases())
def test_raster_reads_every_cell_in_the_area(
    case: RasterCase, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path, r, c, value, gap = _write_raster(case, tmp_path_factory.mktemp("raster"))
    net = _network(case.layout)
    inside = (gap < case.margin_m * (1 - _EDGE_SHARE)) & (value > 0)
    if not inside.any():
        return
    est = raster_population(path, net, margin_m=case.margin_m)
    missed = {f"r{i}c{j}" for i, j in zip(r[inside], c[inside], strict=True)} - set(est.ids)
    assert not missed, f"cells in the area not read: {sorted(missed)}"
