"""The bounded per-station searches run on windows of the network: they must give
exactly what a search over the whole network gives (who is reached, how far,
and a valid way back), walking and riding, and stay exact when a street is
shorter than the straight line between its ends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csgraph

from circle15.geo.coverage.reach import (
    augmented_graph,
    nearest_sources,
    reach_within,
    same_edge_pairs,
    within_limit,
)
from circle15.geo.network.cache import load_network
from circle15.geo.network.graph import Network, build_network
from tests.conftest import metres_to_lonlat, shared
from tests.helpers import make_population, make_stations, points_near_streets


def whole_network_reach(net: Network, stations, people, limit_m: float):
    """The reference: every station searched over the whole augmented graph."""
    n, m = net.n_nodes, len(stations)
    graph = augmented_graph(net, stations.snapped, people.snapped)
    dist = csgraph.dijkstra(graph, directed=True, indices=np.arange(n, n + m), limit=limit_m)
    s, node = np.nonzero(dist[:, :n] <= limit_m)
    nodes = pd.DataFrame({"s": s, "t": node, "d": dist[s, node]})
    s, t = np.nonzero(dist[:, n + m:] <= limit_m)
    found = pd.DataFrame({"s": s, "t": t, "d": dist[s, n + m + t]})
    ps, pt, pd_, _ = same_edge_pairs(stations.snapped, people.snapped, net)
    pairs = pd.DataFrame({"s": ps, "t": pt, "d": pd_})
    targets = pd.concat([found, pairs[pairs.d <= limit_m]]).groupby(["s", "t"]).d.min()
    return graph, dist, nodes.set_index(["s", "t"]).d.sort_index(), targets.sort_index()


def check_same(net: Network, stations, people, limit_m: float) -> None:
    graph, dist, ref_nodes, ref_targets = whole_network_reach(net, stations, people, limit_m)
    reach, _, nodes = reach_within(net, stations.snapped, people.snapped, limit_m=limit_m)
    got_nodes = pd.Series(nodes.dist_m, index=pd.MultiIndex.from_arrays(
        [nodes.source.astype(np.int64), nodes.target.astype(np.int64)], names=["s", "t"]))
    got_targets = pd.Series(reach.dist_m, index=pd.MultiIndex.from_arrays(
        [reach.source.astype(np.int64), reach.target.astype(np.int64)], names=["s", "t"]))
    # the same stations reach the same nodes and people, at the same distances
    assert got_nodes.index.equals(ref_nodes.index)
    np.testing.assert_allclose(got_nodes.to_numpy(), ref_nodes.to_numpy(), rtol=0, atol=1e-6)
    assert got_targets.index.equals(ref_targets.index)
    np.testing.assert_allclose(got_targets.to_numpy(), ref_targets.to_numpy(), rtol=0, atol=1e-6)
    # every way back is a real arc on a shortest path (ties may pick another one)
    n = net.n_nodes
    assert nodes.pred is not None
    pred = nodes.pred.astype(np.int64)
    came = np.where(pred < n, dist[nodes.source, np.minimum(pred, n - 1)], 0.0)
    arc = np.asarray(graph[pred, nodes.target.astype(np.int64)]).ravel()
    assert (arc > 0).all()
    np.testing.assert_allclose(came + arc, nodes.dist_m, rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_windowed_searches_equal_whole_network_searches(mode: str, tmp_path) -> None:
    net = load_network(shared("osm/shenzhen-longgang.osm"), cache_dir=tmp_path, mode=mode)
    rng = np.random.default_rng(7)
    stations = make_stations(net, points_near_streets(net, 40, rng))
    people = make_population(net, points_near_streets(net, 1500, rng, spread_m=40.0), rng)
    for limit_m in (300.0, 1000.0, 3750.0):
        check_same(net, stations, people, limit_m)


def test_a_street_shorter_than_the_straight_line_is_still_followed() -> None:
    # a row of nodes 200 m apart along y = 0 and a second row 3 km north; one
    # 100 m passage (a lift, a tunnel with a wrong length: shorter than the
    # straight line) joins the two rows' first nodes
    xy = [(200.0 * i, 0.0) for i in range(6)] + [(200.0 * i, 3000.0) for i in range(6)]
    edges = [(i, i + 1) for i in range(5)] + [(6 + i, 7 + i) for i in range(5)] + [(0, 6)]
    ll = metres_to_lonlat(np.asarray(xy))
    u = np.array([e[0] for e in edges])
    v = np.array([e[1] for e in edges])
    length = np.hypot(*(np.asarray(xy)[u] - np.asarray(xy)[v]).T)
    length[-1] = 100.0
    coords = np.empty((2 * len(edges), 2))
    coords[0::2], coords[1::2] = ll[u], ll[v]
    net = build_network(node_osmid=np.arange(len(xy)), node_lonlat=ll, edge_u=u, edge_v=v,
                        edge_length_m=length, edge_coords_lonlat=coords,
                        edge_offsets=np.arange(0, 2 * len(edges) + 1, 2), source="synthetic")
    rng = np.random.default_rng(1)
    stations = make_stations(net, metres_to_lonlat(np.array([[100.0, 5.0]])))
    people = make_population(net, metres_to_lonlat(np.array([[300.0, 3005.0], [700.0, -5.0]])),
                             rng)
    check_same(net, stations, people, 800.0)
    reach, _, _ = reach_within(net, stations.snapped, people.snapped, limit_m=800.0)
    # the person 3 km north is 100 + 100 + 300 m away through the passage
    assert 0 in set(reach.target.tolist())


@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_one_unbounded_search_gives_the_bounded_answer(mode: str, tmp_path) -> None:
    # coverage runs one unbounded search (for the time to the nearest station
    # beyond the limit too) and derives the bounded answer from it
    net = load_network(shared("osm/shenzhen-longgang.osm"), cache_dir=tmp_path, mode=mode)
    rng = np.random.default_rng(3)
    stations = make_stations(net, points_near_streets(net, 6, rng))
    people = make_population(net, points_near_streets(net, 800, rng, spread_m=40.0), rng)
    unbounded = nearest_sources(net, stations.snapped, people.snapped)
    for limit_m in (250.0, 1000.0):
        bounded = nearest_sources(net, stations.snapped, people.snapped, limit_m=limit_m)
        derived = within_limit(unbounded, limit_m)
        for name in ("node_dist_m", "node_source", "node_pred", "target_dist_m",
                     "target_source", "target_join"):
            np.testing.assert_array_equal(getattr(derived, name), getattr(bounded, name), name)
        # and some people are beyond the limit, with a finite time all the same
        beyond = ~np.isfinite(bounded.target_dist_m) & np.isfinite(unbounded.target_dist_m)
        assert beyond.any()
