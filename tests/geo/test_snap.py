"""Edge snapping is exact: the same nearest distance as GEOS finds."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from circle15.geo.snapping.snap import snap_points, snapped_xy
from tests.helpers import points_near_streets


@pytest.mark.parametrize("network", ["longgang", "andorra"])
def test_nearest_edge_distance_matches_geos(request, network):
    net = request.getfixturevalue(network)
    rng = np.random.default_rng(5)
    # mostly near streets, some far out (forcing the wider search)
    ll = np.vstack([points_near_streets(net, 3000, rng, spread_m=30),
                    points_near_streets(net, 300, rng, spread_m=400)])
    xy = net.project(ll[:, 0], ll[:, 1])
    snapped = snap_points(net, xy, max_dist_m=1e6)
    _, ref = net.edge_tree.query_nearest(shapely.points(xy), return_distance=True,
                                         all_matches=False)
    np.testing.assert_allclose(snapped.off_m, ref, atol=1e-6)
    # the snapped position is on the chosen edge, at that distance from the point
    pos = snapped_xy(net, snapped)
    np.testing.assert_allclose(np.hypot(*(pos - xy).T), ref, atol=1e-3)
    on_edge = shapely.distance(net.edge_geometry[snapped.edge], shapely.points(pos))
    assert on_edge.max() < 1e-3
    # along-edge parts add up to the edge length
    np.testing.assert_allclose(snapped.to_u_m + snapped.to_v_m,
                               net.edge_length_m[snapped.edge], atol=1e-6)


def test_points_beyond_the_limit_are_not_snapped(longgang):
    xy = longgang.node_xy[:3] + np.array([[0.0, 0.0], [0.0, 0.0], [50_000.0, 0.0]])
    snapped = snap_points(longgang, xy, max_dist_m=100)
    assert snapped.ok.tolist() == [True, True, False]
    assert np.isnan(snapped.off_m[2])
