"""A courier's one position joined by the compiled grid loops: the same edges,
distances and offsets as the index's batch queries (and GEOS), wherever it is."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from circle15.geo.snapping._one_point import grid_of, nearest_one, within_one
from circle15.geo.snapping.segment_index import SegmentIndex, segment_index
from tests.helpers import points_near_streets


def _positions(net, index: SegmentIndex, rng: np.random.Generator) -> np.ndarray:
    """Near streets, far from them (empty grid rings), outside the grid's box (the
    tree's way) and exactly on piece ends (ties between pieces)."""
    ll = np.vstack([points_near_streets(net, 1500, rng, spread_m=30),
                    points_near_streets(net, 200, rng, spread_m=600)])
    lo, hi = index.start.min(axis=0), index.start.max(axis=0)
    return np.vstack([net.project(ll[:, 0], ll[:, 1]),
                      rng.uniform(lo - 2000, hi + 2000, size=(300, 2)),
                      index.start[rng.choice(len(index.start), 300)]])


@pytest.mark.parametrize("network", ["liechtenstein", "longgang"])
def test_one_point_matches_the_batch_queries(request, network):
    net = request.getfixturevalue(network)
    index = segment_index(net)
    rng = np.random.default_rng(17)
    xy = _positions(net, index, rng)
    grid = grid_of(index)
    assert not all(grid.covers(x, y) for x, y in xy), "no position outside the grid"
    edge, dist, along = index.nearest(xy)
    got = np.array([nearest_one(index, float(x), float(y)) for x, y in xy])
    # the same edge, or (a position exactly where two edges meet) one as near
    same = got[:, 0].astype(np.int64) == edge
    assert same.mean() > 0.99
    np.testing.assert_allclose(got[:, 1], dist, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[same, 2], along[same], rtol=0, atol=1e-9)
    _, ref = net.edge_tree.query_nearest(shapely.points(xy), return_distance=True,
                                         all_matches=False)
    np.testing.assert_allclose(got[:, 1], ref, atol=1e-6)
    # every edge within the nearest distance and 60 m more, as the batch finds them
    radius = dist + 60.0
    point, w_edge, w_dist, w_along = index.within(xy, radius)
    bounds = np.searchsorted(point, np.arange(len(xy) + 1))
    joined = 0
    for i, (x, y) in enumerate(xy):
        e, d, a = within_one(index, float(x), float(y), float(radius[i]))
        lo, hi = bounds[i], bounds[i + 1]
        assert e.tolist() == w_edge[lo:hi].tolist(), i
        np.testing.assert_allclose(d, w_dist[lo:hi], rtol=0, atol=1e-9)
        np.testing.assert_allclose(a, w_along[lo:hi], rtol=0, atol=1e-9)
        joined += e.size > 1
    assert joined > len(xy) // 4  # most near-street positions have several streets


def test_an_empty_index_finds_nothing():
    index = SegmentIndex.build(np.array([], dtype=object))
    assert nearest_one(index, 0.0, 0.0)[0] == -1
    assert within_one(index, 0.0, 0.0, 100.0)[0].size == 0
