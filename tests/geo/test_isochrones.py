"""Isochrone polygons follow the network: reached nodes in, far nodes out, holes kept,
and they are the polygons the GEOS unions made (tests/reference_isochrones.py)
within a stated tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.coverage.isochrones import GRID_M, MARGIN_M, SIMPLIFY_M, UNION_GRID_M, isochrones
from tests import reference_isochrones
from tests.conftest import make_network, metres_to_lonlat
from tests.helpers import make_population, make_stations, points_near_streets


def _reached_samples(net, d_node, limit, step=5.0):
    """Points every ``step`` m along every edge with their walking distance."""
    length = net.edge_length_m
    n_pts = np.maximum(2, np.ceil(length / step).astype(int) + 1)
    e = np.repeat(np.arange(net.n_edges), n_pts)
    t = np.concatenate([np.linspace(0, 1, k) for k in n_pts])
    d = np.minimum(d_node[net.edge_u[e]] + t * length[e],
                   d_node[net.edge_v[e]] + (1 - t) * length[e])
    pts = shapely.line_interpolate_point(net.edge_geometry[e], t, normalized=True)
    ok = d <= limit
    return shapely.get_coordinates(pts[ok])


@pytest.mark.parametrize("network", ["longgang", "andorra"])
def test_polygons_hold_reached_nodes_and_exclude_far_ones(request, network):
    net = request.getfixturevalue(network)
    rng = np.random.default_rng(31)
    stations = make_stations(net, points_near_streets(net, 12, rng))
    people = make_population(net, points_near_streets(net, 200, rng), rng)
    settings = CoverageSettings.of(15)
    cov = compute_coverage(net, stations, people, settings=settings)
    iso = isochrones(cov)
    assert len(iso) == len(stations) + len(settings.bands_min)
    nodes = net.node_xy
    nr = cov.node_reach
    limit = settings.limit_m
    # the grid puts the edge of a polygon within a cell's diagonal of exact
    slack = MARGIN_M + SIMPLIFY_M + 1.5 * GRID_M
    for s in range(len(stations)):
        poly = iso.geometry.iloc[s]
        assert iso["station"].iloc[s] == stations.ids[s]
        d = np.full(net.n_nodes, np.inf)
        sel = nr.source == s
        d[nr.target[sel]] = nr.dist_m[sel]
        inside = shapely.contains_xy(poly, nodes[:, 0], nodes[:, 1])
        assert inside[d <= limit].all()
        # a node beyond limit + margin is inside only if a reached street is within the
        # margin of it (people may step off the street that far)
        far_in = np.flatnonzero(inside & (d > limit + MARGIN_M + 1.5 * GRID_M))
        if far_in.size:
            samples = _reached_samples(net, d, limit)
            near, _ = cKDTree(samples).query(nodes[far_in], k=1)
            assert (near <= slack).all()
        assert (~inside[d > limit + MARGIN_M]).sum() > 0
    # the union of each band holds every node some station reaches within it
    union = iso[iso["station"].isna()]
    for minutes, poly in zip(union["minutes"], union.geometry, strict=True):
        lim = minutes * settings.metres_per_minute
        reached = cov.nearest.node_dist_m <= lim
        assert shapely.contains_xy(poly, nodes[reached, 0], nodes[reached, 1]).all()
    areas = union.geometry.area.to_numpy()
    assert (np.diff(areas) > 0).all()  # 5 < 10 < 15 minutes


def test_blocks_nobody_walks_into_stay_holes():
    # a 1 km square ring road, walked all round: the block inside is a hole
    side = 1000.0
    pts = [(x, 0.0) for x in np.arange(0, side, 100)] + \
          [(side, y) for y in np.arange(0, side, 100)] + \
          [(x, side) for x in np.arange(side, 0, -100)] + \
          [(0.0, y) for y in np.arange(side, 0, -100)]
    n = len(pts)
    net = make_network(pts, [(i, (i + 1) % n) for i in range(n)])
    ll = metres_to_lonlat(np.array([[5.0, 500.0]]))
    stations = make_stations(net, ll)
    people = make_population(net, metres_to_lonlat(np.array([[500.0, 20.0]])),
                             np.random.default_rng(0))
    cov = compute_coverage(net, stations, people,
                           settings=CoverageSettings(bands_min=(40,), speed_kmh=4.0))
    poly = isochrones(cov, union=False).geometry.iloc[0]
    assert len(poly.interiors) == 1
    assert shapely.Polygon(poly.interiors[0]).area == pytest.approx(900 * 900, rel=0.05)
    assert not poly.contains(shapely.Point(500 + 500_000, 500 + 4_428_000))


def _apart_m(a, b):
    """The farthest a point of polygon ``a`` lies outside polygon ``b``, metres."""
    pts = shapely.points(shapely.get_coordinates(shapely.segmentize(a.difference(b), 2.0)))
    return float(shapely.distance(pts, b).max()) if len(pts) else 0.0


#: the grid outlines against the old GEOS unions: no point of one farther than
#: this from the other (a cell diagonal, 10 m per station and 20 m for the union
#: bands, plus the old 8 m line simplification and
#: the 4 m polygon simplification of both) ...
APART_STATION_M, APART_UNION_M = 20.0, 40.0
#: ... and the symmetric difference, as a share of the old polygon's area (the
#: union's 5-minute band is thin corridors in Andorra's valleys: a larger share)
SHARE_MAX, SHARE_MEAN, SHARE_UNION_MAX = 0.12, 0.06, 0.16


@pytest.mark.parametrize("network", ["longgang", "andorra"])
def test_same_polygons_as_the_geos_unions(request, network):
    net = request.getfixturevalue(network)
    rng = np.random.default_rng(5)
    stations = make_stations(net, points_near_streets(net, 15, rng))
    people = make_population(net, points_near_streets(net, 100, rng), rng)
    cov = compute_coverage(net, stations, people, settings=CoverageSettings.of(15))
    new = isochrones(cov)
    old = reference_isochrones.isochrones(cov)
    assert list(new["station"]) == list(old["station"])
    assert list(new["minutes"]) == list(old["minutes"])
    assert shapely.is_valid(new.geometry.to_numpy()).all()
    g_new, g_old = new.geometry.to_numpy(), old.geometry.to_numpy()
    share = shapely.area(shapely.symmetric_difference(g_new, g_old)) / shapely.area(g_old)
    is_union = new["station"].isna().to_numpy()
    assert share[~is_union].max() <= SHARE_MAX and share[~is_union].mean() <= SHARE_MEAN, share
    assert share[is_union].max() <= SHARE_UNION_MAX, share
    for a, b, u in zip(g_new, g_old, is_union, strict=True):
        tol = APART_UNION_M if u else APART_STATION_M
        assert _apart_m(a, b) <= tol and _apart_m(b, a) <= tol


def test_one_station_alone_is_its_row_of_all(longgang):
    rng = np.random.default_rng(8)
    stations = make_stations(longgang, points_near_streets(longgang, 6, rng))
    people = make_population(longgang, points_near_streets(longgang, 50, rng), rng)
    cov = compute_coverage(longgang, stations, people, settings=CoverageSettings.of(15))
    every = isochrones(cov, union=False)
    one = isochrones(cov, union=False, stations=[3])
    assert list(one["station"]) == [stations.ids[3]]
    assert one.geometry.iloc[0].equals(every.geometry.iloc[3])
    with pytest.raises(ValueError, match="station positions"):
        isochrones(cov, union=False, stations=[6])
    coarse = isochrones(cov, per_station=False, union_grid_m=2 * UNION_GRID_M)
    assert len(coarse) == len(cov.settings.bands_min)
