"""An independent reference: networkx on a graph where every point is a real node.

Each snapped point becomes a node inserted into its edge (splitting it at the
point's position) plus a leg for its off-network walk. Distances on that graph
need none of the virtual-node and same-edge reasoning of ``geo.reach``, so
agreement between the two is a real check.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import networkx as nx
import numpy as np

from circle15.geo.network import Network
from circle15.geo.snap import Snapped


def _add_min_edge(G: nx.Graph, a: object, b: object, w: float) -> None:
    if a == b:
        return
    if not G.has_edge(a, b) or G[a][b]["length"] > w:
        G.add_edge(a, b, length=w)


def split_graph(net: Network, groups: dict[str, Snapped]) -> nx.Graph:
    """networkx graph of ``net`` with the points of ``groups`` inserted.

    Nodes: network node indices (ints), and for point j of group g the
    position on the street ``("at", g, j)`` and the point itself ``(g, j)``.
    """
    on_edge: dict[int, list[tuple[float, object]]] = defaultdict(list)
    G = nx.Graph()
    for g, snapped in groups.items():
        for j in range(len(snapped)):
            e = int(snapped.edge[j])
            assert e >= 0
            on_edge[e].append((float(snapped.along_m[j]), ("at", g, j)))
            _add_min_edge(G, (g, j), ("at", g, j), float(snapped.off_m[j]))
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
