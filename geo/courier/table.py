"""The courier's question answered from tables made at area load: no graph search.

:class:`circle15.geo.courier.nearest.NearestIndex` keeps, per network node, the stations
within the coverage limit nearest first (the coverage's own station searches).
:class:`ReachTable` is the same table out to :data:`BEYOND_FACTOR` times the
limit, for the answers past it: one bounded search per station at load (batched
in scipy, seconds on a district), kept as compact arrays -- per node the
stations and metres (CSR), per station its search tree (sorted nodes and their
previous node) to walk a route back. Workers forked after the load share it.

:func:`merged` is the one rule both tables are read by: the courier's joins to
the streets (each end of each joined street, and the stations on those
streets), the walk to each station the shortest of them, the first way found
kept among equals, stations nearest first and, among equal walks, in the order
first met. A position's walk past the limit read from the table is the walk the
bounded search from the position finds (the same shortest ways, summed from the
other end).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.courier.beyond import Walk
from circle15.geo.coverage.reach import directed_ends, reach_within
from circle15.geo.network.graph import MIN_LENGTH_M, Network
from circle15.geo.snapping.snap import JoinEnds, Joins, Snapped


@dataclass(frozen=True, eq=False)
class Candidates:
    """Stations for one position, nearest first (one row each): the walk, the
    position's join row, the node the walk leaves the position's street at (-1:
    straight along it to the station) and the station's join row (-1: by its tree)."""

    station: list[int]
    metres: list[float]
    q_row: list[int]
    end: list[int]
    st_row: list[int]
    #: the table entry the walk leaves by (-1: straight along the street)
    at: list[int]


def merged(indptr: NDArray[np.int64], station: NDArray[np.int32], dist_m: NDArray[np.float64],
           net: Network, q: Joins, st_joins: Joins, on_edge: dict[int, list[tuple[int, int]]],
           n_stations: int, *, min_leg_m: float = 0.0) -> Candidates:
    """Every station (of ``n_stations``) a node table lists at the ends of the position's
    joins ``q`` (and any station on those streets), by the shortest of those ways,
    nearest first.

    ``min_leg_m``: the least a walk onto the network counts (a search's arcs from the
    position have at least :data:`MIN_LENGTH_M`)."""
    # the ways in the order met: per join row, its street's ends (a block of the node
    # table each: u, then v), then the stations on the street; per station the shortest
    # way, the first met among equals; stations nearest first, then in the order met
    from circle15.geo.snapping.compiled import merge_table  # loads numba: not for batches

    n_q = len(q)
    if n_q == 0:
        return Candidates([], [], [], [], [], [])
    one = (np.zeros(n_q, dtype=bool) if net.edge_oneway is None
           else net.edge_oneway[q.edge].astype(bool))
    extra = []  # the stations on the joined streets
    for r, (e, off, along) in enumerate(zip(q.edge.tolist(), q.off_m.tolist(),
                                            q.along_m.tolist(), strict=True)):
        for j, (s, row) in enumerate(on_edge.get(e, ())):
            sa = float(st_joins.along_m[row])
            if one[r] and sa < along:
                continue
            extra.append((s, off + abs(along - sa) + float(st_joins.off_m[row]),
                          (r * 3 + 2) * 2**32 + j, r, row))
    x_st, x_total, x_met, x_row, x_st_row = (
        (np.array(c) for c in zip(*extra, strict=True)) if extra else
        (np.empty(0, dtype=np.int64) for _ in range(5)))
    out = merge_table(q.u, q.v, q.along_m, q.to_v_m, q.off_m, one, indptr, station, dist_m,
                      float(min_leg_m), n_stations,
                      x_st.astype(np.int64), x_total.astype(float), x_met.astype(np.int64),
                      x_row.astype(np.int64), x_st_row.astype(np.int64))
    return Candidates(*(a.tolist() for a in out))


def chains(target: NDArray[np.int32], station: NDArray[np.int32], pred: NDArray[np.int32],
           n: int, m: int) -> NDArray[np.int32]:
    """Per entry of a node table (node ``target``, station, previous node ``pred`` on
    the station's tree; ``pred`` outside ``0..n-1`` where the way starts at the station),
    the entry of the same station at the previous node; -1 where the way starts."""
    key = target.astype(np.int64) * m + station
    order = np.argsort(key, kind="stable")
    inner = (pred >= 0) & (pred < n)
    want = pred[inner].astype(np.int64) * m + station[inner]
    pos = np.minimum(np.searchsorted(key, want, sorter=order), max(key.size - 1, 0))
    found = order[pos]
    assert (key[found] == want).all(), "a tree's previous node is missing from the table"
    out = np.full(key.size, -1, dtype=np.int32)
    out[inner] = found
    return out


def walk_back(node_of: NDArray[np.int32], next_at: NDArray[np.int32], at: int) -> list[int]:
    """The nodes from table entry ``at`` back along its station's tree to the station."""
    nodes = []
    node, step = node_of.item, next_at.item  # plain ints, no numpy scalars
    while at >= 0:
        nodes.append(node(at))
        at = step(at)
    return nodes


@dataclass(eq=False)
class ReachTable:
    """Per node, the stations within ``reach_m`` nearest first, and per station its
    search tree (for the routes)."""

    reach_m: float
    n_nodes: int
    indptr: NDArray[np.int64]
    station: NDArray[np.int32]
    dist_m: NDArray[np.float64]
    #: per entry: its node, and the entry of its station at the previous node (-1: none)
    node_of: NDArray[np.int32]
    next_at: NDArray[np.int32]
    #: per station, the node where its way onto the network arrives -> the join row of
    #: the shortest such way (the first of equals)
    join_at: list[dict[int, int]]
    #: per station, its ways onto the network in node order: (node, metres, join row)
    ends_of: list[list[tuple[int, float, int]]]

    @classmethod
    def build(cls, net: Network, stations: Snapped, reach_m: float) -> ReachTable:
        n, m = net.n_nodes, len(stations)
        # the same bounded searches as coverage's, on windows of the network
        none = stations.take(np.zeros(0, dtype=np.int64))
        _, _, nodes = reach_within(net, stations, none, limit_m=reach_m)
        source, target, d = nodes.source, nodes.target, nodes.dist_m
        assert nodes.pred is not None
        p = nodes.pred
        # by station then node already; per node: nearest first, by station among equals
        by_node = np.lexsort((d, target))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(target, minlength=n))])
        ends = directed_ends(net, stations.all_joins(), "source")
        join_at: list[dict[int, int]] = [{} for _ in range(m)]
        ends_of: list[list[tuple[int, float, int]]] = [[] for _ in range(m)]
        best: dict[tuple[int, int], float] = {}
        for s, node, extra, row in zip(ends.point.tolist(), ends.node.tolist(),
                                       ends.extra_m.tolist(), ends.join.tolist(), strict=True):
            ends_of[s].append((node, extra, row))
            if extra < best.get((s, node), np.inf):
                best[s, node] = extra
                join_at[s][node] = row
        node_of, st_of = target[by_node], source[by_node]
        return cls(reach_m, n, indptr.astype(np.int64), st_of, d[by_node], node_of,
                   chains(node_of, st_of, p[by_node], n, m), join_at, ends_of)

    @property
    def nbytes(self) -> int:
        """The arrays' size in bytes."""
        return sum(a.nbytes for a in (self.indptr, self.station, self.dist_m, self.node_of,
                                      self.next_at))


    def walks(self, net: Network, q: Joins, st_joins: Joins,
              on_edge: dict[int, list[tuple[int, int]]], limit_m: float) -> Iterator[Walk]:
        """The stations past ``limit_m`` within :attr:`reach_m` of a position joined by
        ``q``, nearest first, as :meth:`BeyondSearch.walks` finds them."""
        q_ends = directed_ends(net, q, "target")
        far = merged(self.indptr, self.station, self.dist_m, net, q, st_joins, on_edge,
                     len(self.join_at), min_leg_m=MIN_LENGTH_M)
        for s, metres, q_row, end, st_row, at in zip(far.station, far.metres, far.q_row,
                                                     far.end, far.st_row, far.at, strict=True):
            if metres > self.reach_m:
                return
            if metres <= limit_m:
                continue
            if end < 0:
                yield s, metres, q_row, [], st_row
            else:
                nodes, q_row, st_row = as_searched(
                    net, q_ends, self.ends_of[s], walk_back(self.node_of, self.next_at, at),
                    q_row, MIN_LENGTH_M)
                yield s, metres, q_row, nodes, st_row

def as_searched(net: Network, q_ends: JoinEnds, st_ends: list[tuple[int, float, int]],
                nodes: list[int], q_row: int, min_leg_m: float) -> tuple[list[int], int, int]:
    """A route read from a station's tree (``nodes`` from the position's side), as a
    search from the position draws it: (nodes, the position's join row, the station's).

    Where two ways are equally short (a position or station exactly at a node, with
    streets on both sides), the search keeps the first it finds: it starts at the
    last node on the route that the position's own way onto the network reaches as
    soon, and ends at the station's way in of the least walk (the first of equals
    in node order, ``st_ends``: the station's (node, metres, join row)).
    """
    direct = {node: (max(extra, min_leg_m), row) for node, extra, row in zip(
        q_ends.node.tolist(), q_ends.extra_m.tolist(), q_ends.join.tolist(), strict=True)}
    graph = net.ride_csr if net.directed else net.csr
    path = np.array(nodes, dtype=np.int64)
    steps = arcs(graph, path[:-1], path[1:]).tolist()
    at, dist = 0, direct.get(nodes[0], (np.inf, q_row))[0]
    fwd = [dist]
    for i in range(1, len(nodes)):
        dist = dist + steps[i - 1]
        d = direct.get(nodes[i])
        if d is not None and d[0] <= dist:
            at, dist = i, d[0]
        fwd.append(dist)
    if at:
        nodes, q_row, fwd = nodes[at:], direct[nodes[at]][1], fwd[at:]
    where = {node: i for i, node in enumerate(nodes)}
    off_route = [node for node, _, _ in st_ends if node not in where]
    step_to = dict(zip(off_route, arcs(graph, np.full(len(off_route), nodes[-1]),
                                       np.array(off_route, dtype=np.int64)).tolist(),
                       strict=True)) if off_route else {}
    best, out, st_row = np.inf, nodes, -1
    for node, extra, row in st_ends:
        j = where.get(node)
        reach = fwd[j] if j is not None else fwd[-1] + step_to[node]
        if reach + extra < best:  # on the route: cut there; next to its end: one step on
            best, st_row = reach + extra, row
            out = nodes[:j + 1] if j is not None else [*nodes, node]
    return out, q_row, st_row


def arcs(graph: sp.csr_matrix, a: NDArray[np.int64], b: NDArray[np.int64]
         ) -> NDArray[np.float64]:
    """The weight of each arc ``a[i] -> b[i]`` of a CSR graph (inf where there is none)."""
    lo = graph.indptr[a]
    count = graph.indptr[a + 1] - lo
    flat = np.repeat(lo - np.concatenate([[0], np.cumsum(count)[:-1]]), count) + np.arange(
        int(count.sum()))
    row = np.repeat(np.arange(a.size), count)
    hit = graph.indices[flat] == b[row]
    out = np.full(a.size, np.inf)
    # the first such arc of each row (reversed assignment keeps the first)
    out[row[hit][::-1]] = graph.data[flat[hit]][::-1]
    return out
