"""An independent reference: networkx on a graph where every point is a real node.

Each join of a snapped point becomes a node inserted into its edge (splitting
it at the join position) plus a leg for the off-network walk. Distances on that graph
need none of the virtual-node and same-edge reasoning of ``geo.reach``, so
agreement between the two is a real check.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.ops import substring

from circle15.geo.network.graph import Network
from circle15.geo.snapping.snap import Snapped


def _add_min_edge(G: nx.DiGraph, a: object, b: object, w: float, *, both: bool = True) -> None:
    if a == b:
        return
    for x, y in ((a, b), (b, a)) if both else ((a, b),):
        if not G.has_edge(x, y) or G[x][y]["length"] > w:
            G.add_edge(x, y, length=w)


def split_graph(net: Network, groups: dict[str, Snapped], *,
                targets: frozenset[str] = frozenset({"p"})) -> nx.DiGraph:
    """networkx graph of ``net`` with every join of the points of ``groups`` inserted.

    Nodes: network node indices (ints), for each join r of point j of group g
    its position on the street ``("at", g, j, r)``, and the point itself
    ``(g, j)``. Points of groups in ``targets`` are entered from their joins
    (a leg per join, street -> point); the others leave by them (point ->
    street); so no path walks through a point from one street to another.
    """
    on_edge: dict[int, list[tuple[float, object]]] = defaultdict(list)
    G = nx.DiGraph()
    for g, snapped in groups.items():
        assert snapped.ok.all()
        joins = snapped.all_joins()
        for r in range(len(joins)):
            j, e = int(joins.point[r]), int(joins.edge[r])
            at = ("at", g, j, r)
            on_edge[e].append((float(joins.along_m[r]), at))
            leg = (at, (g, j)) if g in targets else ((g, j), at)
            _add_min_edge(G, *leg, float(joins.off_m[r]), both=False)
    for e in range(net.n_edges):
        u, v, length = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length_m[e])
        G.add_node(u)
        G.add_node(v)
        chain = [(0.0, u), *sorted(on_edge.get(e, []), key=lambda t: t[0]), (length, v)]
        for (a_pos, a), (b_pos, b) in itertools.pairwise(chain):
            _add_min_edge(G, a, b, max(b_pos - a_pos, 0.0))
    return G


def nearest_lengths(G: nx.Graph, sources: list[object]) -> dict[object, float]:
    return nx.multi_source_dijkstra_path_length(G, sources, weight="length")


def within(G: nx.Graph, source: object, cutoff: float) -> dict[object, float]:
    return nx.single_source_dijkstra_path_length(G, source, cutoff=cutoff, weight="length")


def as_array(lengths: dict[object, float], keys: list[object]) -> np.ndarray:
    return np.array([lengths.get(k, np.inf) for k in keys])


def substring_piece(net: Network, edge: int, from_m: float, to_m: float) -> np.ndarray:
    """An edge's piece between two walking positions, cut by shapely's substring (the
    way routes were drawn before the kept shapes and the compiled route)."""
    length = float(net.edge_length_m[edge])
    line = net.edge_geometry[edge]
    if length <= 0:
        return shapely.get_coordinates(line)[:1]
    a, b = np.clip([from_m / length, to_m / length], 0.0, 1.0)
    coords = shapely.get_coordinates(substring(line, min(a, b), max(a, b), normalized=True))
    return coords[::-1] if a > b else coords


def substring_route(index: Any, s: int, start_xy: np.ndarray, q: Any, q_row: int, end: int,
                    st_row: int, nodes: list[int]) -> np.ndarray:
    """``NearestIndex._route`` drawn piece by piece with :func:`substring_piece`: onto
    the street, along it, the network path, the station's street, off to the station."""
    net = index.coverage.network
    st_joins = index.coverage.stations.snapped.all_joins()
    e, along = int(q.edge[q_row]), float(q.along_m[q_row])
    parts = [start_xy[None, :]]
    if end < 0:
        parts.append(substring_piece(net, e, along, float(st_joins.along_m[st_row])))
    else:
        parts.append(substring_piece(net, e, along, 0.0 if end == int(net.edge_u[e])
                                     else float(net.edge_length_m[e])))
        parts.append(net.node_xy[nodes])
        if st_row >= 0:
            se = int(st_joins.edge[st_row])
            start = 0.0 if nodes[-1] == int(net.edge_u[se]) else float(net.edge_length_m[se])
            parts.append(substring_piece(net, se, start, float(st_joins.along_m[st_row])))
    parts.append(index.station_xy[s][None, :])
    return np.vstack(parts)
