"""Known answers on a hand-made graph: snapping, times, counts, bands."""

from __future__ import annotations

import numpy as np
import pytest

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.errors import NetworkError
from circle15.geo.inputs.stations import Stations
from circle15.geo.population.points import population_from_points
from circle15.geo.snapping.placement import place_points
from tests.conftest import make_network, metres_to_lonlat

#      4 (100,100)
#      |
# 0 -- 1 -- 2 -- 3      along y = 0, 100 m apart
NODES = [(0, 0), (100, 0), (200, 0), (300, 0), (100, 100)]
EDGES = [(0, 1), (1, 2), (2, 3), (1, 4)]
# 10 m/min, so minutes are tens of metres
SETTINGS = CoverageSettings(bands_min=(5, 15, 25), speed_kmh=0.6)


@pytest.fixture(scope="module")
def net():
    return make_network(NODES, EDGES)


def _stations(net, xy):
    import geopandas as gpd
    import shapely

    ll = metres_to_lonlat(np.asarray(xy, float))
    placed = place_points(net, ll[:, 0], ll[:, 1], max_snap_m=100)
    assert not placed.problems
    frame = gpd.GeoDataFrame({"id": [f"S{i + 1}" for i in range(len(xy))],
                              "status": "existing"},
                             geometry=shapely.points(placed.xy), crs=net.crs)
    return Stations(frame, placed.snapped)


def _people(net, xy, count):
    ll = metres_to_lonlat(np.asarray(xy, float))
    return population_from_points(net, ll[:, 0], ll[:, 1], np.asarray(count, float),
                                  max_snap_m=100)


def test_station_snaps_to_edge_not_node(net):
    st = _stations(net, [(30, 10)])
    # 10 m off the street, 30 m along the edge from node 0 (the nearest node is 31.6 m away)
    assert st.snapped.off_m[0] == pytest.approx(10, abs=1e-6)
    assert st.snapped.to_u_m[0] == pytest.approx(30, abs=1e-6)
    assert st.snapped.to_v_m[0] == pytest.approx(70, abs=1e-6)


def test_times_counts_and_bands(net):
    st = _stations(net, [(30, 10), (300, 30)])
    people = _people(net, [(250, -20), (60, 5), (100, 160)], [100, 10, 1])
    cov = compute_coverage(net, st, people, settings=SETTINGS)
    # node times from the nearest station: S1 reaches 0 in 40 m, 1 in 80 m;
    # S2 sits 30 m beyond node 3 and reaches 2 in 130 m; 4 is 180 m from S1
    np.testing.assert_allclose(cov.nearest_any.node_dist_m, [40, 80, 130, 30, 180], atol=1e-6)
    np.testing.assert_array_equal(cov.nearest_any.node_source, [0, 0, 1, 1, 0])
    # P1 on edge 2-3: S2 at 30 + 50 + 20 = 100; P2 on S1's own edge, walking
    # straight along it: 10 + 30 + 5 = 45; P3 off the end of edge 1-4: 180 + 60
    np.testing.assert_allclose(cov.nearest_any.target_dist_m, [100, 45, 240], atol=1e-6)
    np.testing.assert_allclose(cov.unit_time_min, [10, 4.5, 24], atol=1e-6)
    np.testing.assert_array_equal(cov.nearest_any.target_source, [1, 0, 0])
    # within the 25-min (250 m) limit the bounded pass says the same
    np.testing.assert_allclose(cov.nearest.target_dist_m, [100, 45, 240], atol=1e-6)
    # P1 is 250 m from S1 (180 + 50 + 20): two stations only in the 25-min band
    np.testing.assert_array_equal(cov.unit_count, [[0, 1, 0], [1, 1, 0], [2, 1, 1]])
    s = cov.summary().set_index("minutes")
    assert s.loc[5, "covered"] == 10
    assert s.loc[15, "covered"] == 110 and s.loc[15, "cross_covered"] == 0
    assert s.loc[25, "covered"] == 111 and s.loc[25, "cross_covered"] == 100
    assert s.loc[25, "uncovered"] == 0


def test_reach_holds_every_pair_within_limit(net):
    st = _stations(net, [(30, 10), (300, 30)])
    people = _people(net, [(250, -20), (60, 5), (100, 160)], [1, 1, 1])
    cov = compute_coverage(net, st, people, settings=SETTINGS)
    pairs = {(int(s), int(t)): d for s, t, d in
             zip(cov.reach.source, cov.reach.target, cov.reach.dist_m, strict=True)}
    # P1 stands 20 m off edge 2-3 and 54 m from node 2 (the end of edge 1-2), within the
    # 50 m slack: S1 reaches it through node 2 straight across, 180 + 53.85, not 250
    expected = {(0, 0): 180 + np.hypot(50, 20), (0, 1): 45, (0, 2): 240, (1, 0): 100}
    assert pairs.keys() == expected.keys()
    for key, d in expected.items():
        assert pairs[key] == pytest.approx(d, abs=1e-6)


def test_node_counts_per_band(net):
    st = _stations(net, [(30, 10), (300, 30)])
    people = _people(net, [(60, 5)], [1])
    cov = compute_coverage(net, st, people, settings=SETTINGS)
    # within 150 m: S1 reaches 0, 1; S2 reaches 2, 3.  Within 250 m: S1 also 2, 4
    np.testing.assert_array_equal(cov.node_count[1], [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(cov.node_count[2], [1, 2, 2, 1, 1])


def test_disconnected_network_is_refused():
    # three equal parts: none holds most of the network
    with pytest.raises(NetworkError, match="disconnected"):
        make_network([(0, 0), (100, 0), (0, 500), (100, 500), (0, 900), (100, 900)],
                     [(0, 1), (2, 3), (4, 5)])


def test_small_islands_are_trimmed_but_the_main_part_kept():
    net = make_network([(0, 0), (100, 0), (200, 0), (300, 0), (0, 900), (50, 900)],
                       [(0, 1), (1, 2), (2, 3), (4, 5)])
    assert net.n_nodes == 4 and net.n_edges == 3


def test_empty_network_is_refused():
    with pytest.raises(NetworkError, match="empty"):
        make_network([], [])
