"""The courier's answer past the limit, by one small bounded search per question.

When no station passing a courier's filters is within the limit,
:class:`circle15.geo.courier.nearest.NearestIndex` lists the nearest ones up to twice
it. :class:`BeyondSearch` finds them as
:func:`circle15.geo.courier.grid.walks_from` does (the same stations, metres,
paths and join rows, in the same order): a Dijkstra search bounded by the reach
on the part of the network inside the disc of that radius (no walk of the reach
leaves it). What a question would otherwise redo is kept once per index: the
node tree, the stations' ends (which node each station is reached from, and
the walk from it), their joins per street, and a node -> disc position table
(one per thread) instead of sorting and searching the disc's nodes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from circle15.geo.coverage.reach import directed_ends
from circle15.geo.network.graph import MIN_LENGTH_M, Network
from circle15.geo.snapping.snap import Joins, Snapped

#: (station, metres, the position's join row, nodes from the position's side to the
#: station's (empty when they share a street), the station's join row)
Walk = tuple[int, float, int, list[int], int]


@dataclass(eq=False)
class BeyondSearch:
    """What the bounded searches from couriers' positions share, built once."""

    net: Network
    stations: Snapped
    tree: cKDTree
    #: the stations' ends (reached from a node, one-way rules kept), in join order
    end_point: NDArray[np.int64]
    end_node: NDArray[np.int64]
    end_extra: NDArray[np.float64]
    end_join: NDArray[np.int64]
    #: street -> the stations' join rows on it
    on_edge: dict[int, list[int]]
    _local: threading.local = field(default_factory=threading.local)

    @classmethod
    def build(cls, net: Network, stations: Snapped) -> BeyondSearch:
        joins = stations.all_joins()
        ends = directed_ends(net, joins, "source")
        on_edge: dict[int, list[int]] = {}
        for row, e in enumerate(joins.edge.tolist()):
            on_edge.setdefault(e, []).append(row)
        return cls(net, stations, cKDTree(net.node_xy), ends.point, ends.node, ends.extra_m,
                   ends.join, on_edge)

    def _where(self) -> NDArray[np.int64]:
        """This thread's node -> disc position table (-1 outside the disc)."""
        table = getattr(self._local, "table", None)
        if table is None:
            table = self._local.table = np.full(self.net.n_nodes, -1, dtype=np.int64)
        return table

    def small_disc(self, xy: tuple[float, float], reach_m: float) -> NDArray[np.int64] | None:
        """The disc's nodes (sorted), or None when it holds most of the network."""
        sub = np.sort(np.asarray(self.tree.query_ball_point(xy, reach_m * 1.001 + 1.0),
                                 dtype=np.int64))
        return None if 4 * sub.size > self.net.n_nodes else sub

    def walks(self, at: Snapped, sub: NDArray[np.int64], reach_m: float) -> list[Walk]:
        """Every station within ``reach_m`` of the one joined position ``at``, nearest
        first, searching the disc ``sub`` (from :meth:`small_disc`)."""
        net = self.net
        m = sub.size
        q_joins = at.all_joins()
        q_ends = directed_ends(net, q_joins, "target")
        where = self._where()
        where[sub] = np.arange(m)
        try:
            base = net.ride_csr if net.directed else net.csr
            first = base.indptr[sub]
            counts = base.indptr[sub + 1] - first
            flat = np.repeat(first - np.concatenate([[0], np.cumsum(counts)[:-1]]),
                             counts) + np.arange(int(counts.sum()))
            col = where[base.indices[flat]]
            inside = col >= 0
            per_row = np.bincount(np.repeat(np.arange(m), counts)[inside], minlength=m)
            start = where[q_ends.node]
            keep = start >= 0
            graph = sp.csr_matrix(
                (np.concatenate([base.data[flat][inside],
                                 np.maximum(q_ends.extra_m[keep], MIN_LENGTH_M)]),
                 np.concatenate([col[inside], start[keep]]),
                 np.concatenate([[0], np.cumsum(per_row), [per_row.sum() + int(keep.sum())]])),
                shape=(m + 1, m + 1))  # the position is node m
            at_end = where[self.end_node]
        finally:
            where[sub] = -1
        dist, pred = csgraph.dijkstra(graph, directed=True, indices=m, limit=reach_m,
                                      return_predecessors=True)
        total = np.where(at_end >= 0, dist[np.maximum(at_end, 0)], np.inf) + self.end_extra
        near = np.flatnonzero(total <= reach_m)
        near = near[np.argsort(total[near], kind="stable")]
        best: dict[int, tuple[float, int, int]] = {}  # station -> (metres, end, join row)
        for s, metres, local, row in zip(self.end_point[near].tolist(), total[near].tolist(),
                                         at_end[near].tolist(), self.end_join[near].tolist(),
                                         strict=True):
            if s not in best:
                best[s] = (metres, local, row)
        along = self._along(q_joins, reach_m, best)
        out: list[Walk] = []
        q_node, q_extra, q_join = (q_ends.node.tolist(), q_ends.extra_m.tolist(),
                                   q_ends.join.tolist())
        for s, (metres, local, st_row) in best.items():
            if s in along:
                continue
            chain = [local]
            while 0 <= pred[chain[-1]] < m:
                chain.append(int(pred[chain[-1]]))
            nodes = sub[chain[::-1]].tolist()
            # the position's way onto the first node: the shortest (the first of equals)
            _, _, q_row = min((q_extra[i], i, q_join[i]) for i in range(len(q_node))
                              if q_node[i] == nodes[0])
            out.append((s, metres, q_row, nodes, st_row))
        q_edge = q_joins.edge.tolist()
        st_edge = self.stations.all_joins().edge
        for s, (metres, st_row) in along.items():
            out.append((s, metres, q_edge.index(int(st_edge[st_row])), [], st_row))
        return sorted(out, key=lambda x: x[1])

    def _along(self, q_joins: Joins, reach_m: float,
               best: dict[int, tuple[float, int, int]]) -> dict[int, tuple[float, int]]:
        """Stations on a street the position joins, walked to along it when that is
        shorter than through the network: station -> (metres, its join row)."""
        net = self.net
        st = self.stations.all_joins()
        pairs = []  # (station join row, metres), in station join order
        for r, e in enumerate(q_joins.edge.tolist()):
            rows = self.on_edge.get(e)
            if not rows:
                continue
            one = net.directed and net.edge_oneway is not None and bool(net.edge_oneway[e])
            q_along, q_off = float(q_joins.along_m[r]), float(q_joins.off_m[r])
            for row in rows:
                ahead = q_along - float(st.along_m[row])
                if one and -ahead < 0:  # riding: only a station ahead on a one-way street
                    continue
                pairs.append((row, q_off + abs(ahead) + float(st.off_m[row])))
        along: dict[int, tuple[float, int]] = {}
        for row, metres in sorted(pairs, key=lambda p: p[0]):
            s = int(st.point[row])
            if metres <= reach_m and metres < min(best.get(s, (np.inf,))[0],
                                                  along.get(s, (np.inf,))[0]):
                along[s] = (metres, row)
        return along
