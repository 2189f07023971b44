"""Bounded multi-source shortest paths from points on edges.

Sources (stations, candidate sites) and targets (people) join the network at
one or more positions on edges (:mod:`circle15.geo.snapping.snap`). Sources become
virtual nodes with arcs to the ends of their joined edges, so one
``scipy.sparse.csgraph.dijkstra`` call starts from all of them at once;
targets become sink nodes with arcs from the ends of theirs, so the same search
reaches them directly, however many streets a person may join. Nothing leads
into a source and nothing leaves a sink, so no path passes through either. A
source and a target on the same edge may also meet directly along it; that
shortcut is applied explicitly.

On a riding network with one-way edges (:attr:`Network.directed`) the searches
run on the reversed riding graph (:attr:`Network.csr`), so the distances are
from each person *to* the station, the way they ride; a station on a one-way
edge is reached only from the edge's tail, a person on one leaves only towards
its head, and a person and station on one one-way edge meet directly only when
the station lies ahead. Walking networks take none of these steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph
from tqdm.auto import tqdm
from tqdm.std import tqdm as _tqdm_base

from circle15.geo.coverage.pairs import merge_pairs, min_per_pair, sinks_only
from circle15.geo.coverage.reach_window import windows
from circle15.geo.network.graph import MIN_LENGTH_M, Network
from circle15.geo.snapping.snap import JoinEnds, Joins, Snapped

# no monitor thread behind the progress bars: a second thread would keep the map
# from forking its drawing work (circle15.geo.forked), for a nicety
_tqdm_base.monitor_interval = 0

#: cells (sources × nodes) of one dense batch of the per-source search
_BATCH_CELLS = 16_000_000

#: (source, target, metres, target join row) of sources and targets that share an edge
Pairs = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]


def directed_ends(net: Network, joins: Joins, role: str) -> JoinEnds:
    """:meth:`Joins.ends` as a rider may use them: ``role`` ``"source"`` (a station,
    reached along a one-way edge only from its tail ``u``) or ``"target"`` (a
    person, leaving a one-way edge only towards its head ``v``). Walking: the
    plain ends."""
    if not net.directed or len(joins) == 0:
        return joins.ends()
    # kept with the joins, like their plain ends (one set per network and role)
    key = f"_ride_ends_{role}_{id(net)}"
    cached = joins.__dict__.get(key)
    if cached is not None:
        return cached
    assert net.edge_oneway is not None
    one = net.edge_oneway[joins.edge]
    to_u, to_v = joins.to_u_m, joins.to_v_m
    if role == "source":
        to_v = np.where(one, np.inf, to_v)
    elif role == "target":
        to_u = np.where(one, np.inf, to_u)
    else:
        msg = f"role must be 'source' or 'target', not {role!r}"
        raise ValueError(msg)
    ends = Joins(joins.point, joins.edge, joins.off_m, joins.along_m, to_u, to_v,
                 joins.u, joins.v).ends()
    keep = np.isfinite(ends.extra_m)
    out = JoinEnds(ends.point[keep], ends.node[keep], ends.extra_m[keep], ends.join[keep])
    joins.__dict__[key] = out
    return out


def augmented_graph(net: Network, sources: Snapped,
                    targets: Snapped | None = None) -> sp.csr_matrix:
    """The network plus one virtual node per source and one sink per target.

    Nodes ``0 .. n-1`` are the network's, ``n .. n+m-1`` the sources' (an arc
    to each node next to one of their joins, weighted by the off-network walk
    plus the walk along the edge) and ``n+m .. n+m+k-1`` the targets' (an arc
    into them from each node next to one of their joins).
    """
    if not sources.ok.all():
        msg = "every source must be snapped to the network"
        raise ValueError(msg)
    n, m = net.n_nodes, len(sources)
    base = net.csr
    ends = directed_ends(net, sources.all_joins(), "source")
    if targets is None:
        # append the sources' rows to the network's CSR arrays, without re-sorting
        per_row = np.bincount(ends.point, minlength=m)
        indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(per_row)])
        return sp.csr_matrix(
            (np.concatenate([base.data, np.maximum(ends.extra_m, MIN_LENGTH_M)]),
             np.concatenate([base.indices, ends.node]), indptr),
            shape=(n + m, n + m),
        )
    k = len(targets)
    t_ends = directed_ends(net, targets.all_joins(), "target")
    base_rows = np.repeat(np.arange(n), np.diff(base.indptr))
    rows = np.concatenate([base_rows, n + ends.point, t_ends.node])
    cols = np.concatenate([base.indices, ends.node, n + m + t_ends.point])
    data = np.concatenate([base.data, np.maximum(ends.extra_m, MIN_LENGTH_M),
                           np.maximum(t_ends.extra_m, MIN_LENGTH_M)])
    size = n + m + k
    return sp.csr_matrix((data, (rows, cols)), shape=(size, size))


def _with_sinks(graph: sp.csr_matrix, n: int, m: int, k: int) -> bool:
    return bool(graph.shape[0] == n + m + k)


def outward_graph(net: Network, people: Snapped) -> sp.csr_matrix:
    """The network in the direction people travel plus one virtual node per person
    (node ``n + i``) with arcs to the nodes they can set off towards: for a search
    *from* a person (a courier) out to the stations, which they reach through
    ``directed_ends(net, station_joins, "source")``. Walking: the same as
    ``augmented_graph(net, people)``."""
    if not net.directed:
        return augmented_graph(net, people)
    n, m = net.n_nodes, len(people)
    base = net.ride_csr
    ends = directed_ends(net, people.all_joins(), "target")
    per_row = np.bincount(ends.point, minlength=m)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(per_row)])
    return sp.csr_matrix(
        (np.concatenate([base.data, np.maximum(ends.extra_m, MIN_LENGTH_M)]),
         np.concatenate([base.indices, ends.node]), indptr),
        shape=(n + m, n + m),
    )


def same_edge_pairs(sources: Snapped, targets: Snapped, net: Network | None = None, *,
                    outward: bool = False) -> Pairs:
    """(source, target, metres, target join) for joins on one edge, walking along it
    directly. Give ``net`` for a riding network: on a one-way edge only a station
    ahead of the person counts; the sources are the stations, or with ``outward``
    the people (a search from a courier: the targets are the stations)."""
    s_j, t_j = sources.all_joins(), targets.all_joins()
    empty = np.empty(0, dtype=np.int64)
    if len(s_j) == 0 or len(t_j) == 0:
        return empty, empty, np.empty(0), empty
    s_order = np.argsort(s_j.edge, kind="stable")
    s_edges = s_j.edge[s_order]
    # most targets share no edge with a source: drop them before searching
    t_rows = np.flatnonzero(np.isin(t_j.edge, s_edges))
    t_edges = t_j.edge[t_rows]
    lo = np.searchsorted(s_edges, t_edges, side="left")
    hi = np.searchsorted(s_edges, t_edges, side="right")
    counts = hi - lo
    if counts.sum() == 0:
        return empty, empty, np.empty(0), empty
    t_rep = np.repeat(t_rows, counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    s_rep = s_order[np.repeat(lo, counts) + offs]
    ahead = s_j.along_m[s_rep] - t_j.along_m[t_rep]
    dist = s_j.off_m[s_rep] + np.abs(ahead) + t_j.off_m[t_rep]
    if net is not None and net.directed:
        assert net.edge_oneway is not None
        ok = ~net.edge_oneway[s_j.edge[s_rep]] | ((-ahead if outward else ahead) >= 0)
        s_rep, t_rep, dist = s_rep[ok], t_rep[ok], dist[ok]
    return s_j.point[s_rep], t_j.point[t_rep], dist, t_rep


@dataclass(frozen=True)
class Nearest:
    """The nearest source of every node and target, from one search.

    Distances are metres of walking, ``inf`` beyond the search limit; source
    indices are -1 there.
    """

    node_dist_m: NDArray[np.float64]
    node_source: NDArray[np.int64]
    node_pred: NDArray[np.int64]
    target_dist_m: NDArray[np.float64]
    target_source: NDArray[np.int64]
    #: the row of the targets' :meth:`Snapped.all_joins` each reached target
    #: walks through (-1 where unreached)
    target_join: NDArray[np.int64]


def nearest_sources(
    net: Network,
    sources: Snapped,
    targets: Snapped,
    *,
    limit_m: float = np.inf,
    graph: sp.csr_matrix | None = None,
    pairs: Pairs | None = None,
) -> Nearest:
    """One multi-source Dijkstra: nearest source and distance for all nodes.

    ``node_pred`` is the predecessor of each node on its path from the nearest
    source (a virtual node index >= n marks the first step off the source).
    """
    n, m, k = net.n_nodes, len(sources), len(targets)
    if m == 0:
        return Nearest(np.full(n, np.inf), np.full(n, -1), np.full(n, -9999),
                       np.full(k, np.inf), np.full(k, -1), np.full(k, -1))
    if graph is None or not _with_sinks(graph, n, m, k):
        graph = augmented_graph(net, sources, targets)
    dist, pred, origin = csgraph.dijkstra(
        graph, directed=True, indices=np.arange(n, n + m), min_only=True,
        return_predecessors=True, limit=limit_m,
    )
    node_dist = dist[:n]
    node_source = np.where(origin[:n] >= 0, origin[:n] - n, -1)
    t_dist = dist[n + m:].copy()
    t_src = np.where(origin[n + m:] >= 0, origin[n + m:] - n, -1)
    # the join each target was reached through: (target, node it came from) -> join row
    ends = directed_ends(net, targets.all_joins(), "target")
    came_from = pred[n + m:]
    t_join = np.full(k, -1, dtype=np.int64)
    hit = np.flatnonzero(came_from >= 0)
    if hit.size:
        key = ends.point * np.int64(n) + ends.node
        pos = np.searchsorted(key, hit * np.int64(n) + came_from[hit])
        t_join[hit] = ends.join[pos]
    s, t, d, row = pairs if pairs is not None else same_edge_pairs(sources, targets, net)
    if s.size:
        # several sources may share an edge with one target: apply the best one
        order = np.lexsort((d, t))
        first = np.ones(order.size, dtype=bool)
        first[1:] = t[order][1:] != t[order][:-1]
        s, t, d, row = s[order][first], t[order][first], d[order][first], row[order][first]
        better = d < t_dist[t]
        t_dist[t[better]], t_src[t[better]], t_join[t[better]] = (
            d[better], s[better], row[better])
    reached = t_dist <= limit_m
    t_dist = np.where(reached, t_dist, np.inf)
    t_src = np.where(reached, t_src, -1)
    t_join = np.where(reached, t_join, -1)
    return Nearest(node_dist, node_source, pred[:n], t_dist, t_src, t_join)


def within_limit(found: Nearest, limit_m: float) -> Nearest:
    """``found`` (an unbounded search) as the search bounded by ``limit_m`` gives it:
    nodes and targets beyond the limit unreached. Within it a bounded search settles
    the same nodes in the same order, so everything else is the same."""
    far = ~(found.node_dist_m <= limit_m)
    t_far = ~(found.target_dist_m <= limit_m)
    return Nearest(np.where(far, np.inf, found.node_dist_m), np.where(far, -1, found.node_source),
                   np.where(far, -9999, found.node_pred),
                   np.where(t_far, np.inf, found.target_dist_m),
                   np.where(t_far, -1, found.target_source),
                   np.where(t_far, -1, found.target_join))


@dataclass(frozen=True)
class Reach:
    """Who each source reaches within a limit: sparse (source, target, metres).

    Entries are sorted by source, then target; every distance is <= ``limit_m``.
    """

    n_sources: int
    n_targets: int
    limit_m: float
    source: NDArray[np.int32]
    target: NDArray[np.int32]
    dist_m: NDArray[np.float64]
    #: for node reach: the previous node on the way from the source (a value
    #: >= the node count means the path starts there, at the source's edge)
    pred: NDArray[np.int32] | None = None

    def count_within(self, limit_m: float) -> NDArray[np.int64]:
        """How many sources reach each target within ``limit_m``."""
        sel = self.dist_m <= limit_m
        return np.bincount(self.target[sel], minlength=self.n_targets)

    def to_csr(self, limit_m: float | None = None) -> sp.csr_matrix:
        """Boolean sources × targets matrix of reach within ``limit_m``."""
        sel = self.dist_m <= (self.limit_m if limit_m is None else limit_m)
        return sp.csr_matrix(
            (np.ones(int(sel.sum()), dtype=bool), (self.source[sel], self.target[sel])),
            shape=(self.n_sources, self.n_targets),
        )


def reach_within(
    net: Network,
    sources: Snapped,
    targets: Snapped,
    *,
    limit_m: float,
    node_limits_m: tuple[float, ...] = (),
    progress: bool = False,
    graph: sp.csr_matrix | None = None,
    pairs: Pairs | None = None,
    keep_nodes: bool = True,
) -> tuple[Reach, NDArray[np.int64], Reach]:
    """Per-source bounded searches, batched: who each source reaches within ``limit_m``.

    Returns the sparse :class:`Reach` of targets (every (source, target)
    within the limit, the shortest way), for each limit in ``node_limits_m``
    how many sources reach each network node (shape (len(node_limits_m), n)),
    and the node reach (every (source, node, metres) with the previous node on
    the way, for isochrones and courier routes). With ``keep_nodes=False`` the node
    reach is not kept (empty): siting needs only the targets, and 48,000 candidates'
    node reach was most of a 4 GB run.
    """
    n, m, k = net.n_nodes, len(sources), len(targets)
    node_counts = np.zeros((len(node_limits_m), n), dtype=np.int64)
    empty_i = np.empty(0, dtype=np.int32)
    if m == 0:
        return (Reach(0, k, limit_m, empty_i, empty_i, np.empty(0)), node_counts,
                Reach(0, n, limit_m, empty_i, empty_i, np.empty(0), empty_i))
    if graph is None or not _with_sinks(graph, n, m, k):
        graph = augmented_graph(net, sources, targets)
    parts_s, parts_n, parts_d, parts_p = [], [], [], []
    tgt_s, tgt_t, tgt_d = [], [], []
    ends = directed_ends(net, sources.all_joins(), "source")
    # one window at a time (each holds its own piece of the graph)
    batches = windows(net, graph, ends, m, limit_m, max_cells=_BATCH_CELLS)
    nodes_too = keep_nodes or bool(node_limits_m)
    for w in tqdm(batches, desc="reach", unit="batch", disable=not progress, leave=False):
        if not nodes_too:  # the targets alone: their sink columns, no predecessors
            s32, t32, d64 = sinks_only(w, limit_m, n, m, k)
            tgt_s.append(s32)
            tgt_t.append(t32)
            tgt_d.append(d64)
            continue
        dist, pred = csgraph.dijkstra(w.graph, directed=True, indices=w.starts,
                                      limit=limit_m, return_predecessors=True)
        size = w.index.size
        # flat indices are much faster than 2-D nonzero on a wide matrix
        flat = np.flatnonzero(dist.ravel() <= limit_m)
        r, c = np.divmod(flat, size)
        src = w.sources[r]
        on_net = c < w.n_net
        parts_s.append(src[on_net].astype(np.int32))
        parts_n.append(w.index[c[on_net]].astype(np.int32))
        parts_d.append(dist.ravel()[flat[on_net]])
        parts_p.append(w.index[pred.ravel()[flat[on_net]]].astype(np.int32))
        sink = c >= w.n_net + w.sources.size
        # a source is searched in one batch only: its pairs are settled here, and kept
        # compact (the district's 48,000 candidate sites hold 12 million of them)
        s_b, t_b, d_b = min_per_pair(src[sink], w.index[c[sink]] - n - m,
                                      dist.ravel()[flat[sink]], k)
        tgt_s.append(s_b.astype(np.int32))
        tgt_t.append(t_b.astype(np.int32))
        tgt_d.append(d_b)
        del dist, pred, flat, r, c, src, s_b, t_b, d_b
    # the batches follow the map, not the source numbers: back to source order
    by_source = np.argsort(np.concatenate([*parts_s, empty_i]), kind="stable")
    nodes = Reach(m, n, limit_m, *(np.concatenate([*p, empty])[by_source] for p, empty in (
        (parts_s, empty_i), (parts_n, empty_i), (parts_d, np.empty(0)), (parts_p, empty_i))))
    for j, lim in enumerate(node_limits_m):
        node_counts[j] = np.bincount(nodes.target[nodes.dist_m <= lim], minlength=n)
    s_pair, t_pair, d_pair, _ = (pairs if pairs is not None
                                 else same_edge_pairs(sources, targets, net))
    keep = d_pair <= limit_m
    src, tgt, dst = merge_pairs(tgt_s, tgt_t, tgt_d, s_pair[keep], t_pair[keep],
                                 d_pair[keep], k)
    reach = Reach(n_sources=m, n_targets=k, limit_m=limit_m, source=src, target=tgt,
                  dist_m=dst)
    return reach, node_counts, nodes


