"""Bounded multi-source shortest paths from points on edges.

Sources (stations, candidate sites) and targets (people) sit at positions on
edges with an off-network walk. Sources become virtual nodes joined to the two
ends of their edge, so one ``scipy.sparse.csgraph.dijkstra`` call starts from
all of them at once. Targets read the distance at their edge's two ends and add
the walk along the edge and off it. A source and a target on the same edge may
also meet directly along it; that shortcut is applied explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph
from tqdm.auto import tqdm

from circle15.geo.network import MIN_LENGTH_M, Network
from circle15.geo.snap import Snapped

#: cells (sources × nodes) of one dense batch of the per-source search
_BATCH_CELLS = 16_000_000

#: (source, target, metres, target join row) of sources and targets that share an edge
Pairs = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]


def augmented_graph(net: Network, sources: Snapped) -> sp.csr_matrix:
    """The network plus one virtual node per source (indices n .. n+m-1).

    A virtual node has an arc to each node next to one of its joins, weighted
    by the off-network walk plus the walk along the edge; nothing leads into
    it, so no path can pass through another source. Built by appending rows to
    the network's CSR arrays, without re-sorting them.
    """
    if not sources.ok.all():
        msg = "every source must be snapped to the network"
        raise ValueError(msg)
    n, m = net.n_nodes, len(sources)
    base = net.csr
    ends = sources.all_joins().ends()
    per_row = np.bincount(ends.point, minlength=m)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(per_row)])
    return sp.csr_matrix(
        (np.concatenate([base.data, np.maximum(ends.extra_m, MIN_LENGTH_M)]),
         np.concatenate([base.indices, ends.node]), indptr),
        shape=(n + m, n + m),
    )


def same_edge_pairs(sources: Snapped, targets: Snapped) -> Pairs:
    """(source, target, metres, target join) for joins on one edge, walking along it
    directly."""
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
    dist = s_j.off_m[s_rep] + np.abs(s_j.along_m[s_rep] - t_j.along_m[t_rep]) + t_j.off_m[t_rep]
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
    if graph is None:
        graph = augmented_graph(net, sources)
    dist, pred, origin = csgraph.dijkstra(
        graph, directed=True, indices=np.arange(n, n + m), min_only=True,
        return_predecessors=True, limit=limit_m,
    )
    node_dist = dist[:n]
    node_source = np.where(origin[:n] >= 0, origin[:n] - n, -1)
    ends = targets.all_joins().ends()
    via = node_dist[ends.node] + ends.extra_m
    s, t, d, row = pairs if pairs is not None else same_edge_pairs(sources, targets)
    # every way to every target, the shortest first
    all_t = np.concatenate([ends.point, t])
    all_d = np.concatenate([via, d])
    all_s = np.concatenate([node_source[ends.node], s])
    all_row = np.concatenate([ends.join, row])
    order = np.lexsort((all_d, all_t))
    first = np.ones(order.size, dtype=bool)
    first[1:] = all_t[order][1:] != all_t[order][:-1]
    best = order[first]
    t_dist = np.full(k, np.inf)
    t_src = np.full(k, -1, dtype=np.int64)
    t_join = np.full(k, -1, dtype=np.int64)
    t_dist[all_t[best]] = all_d[best]
    t_src[all_t[best]] = all_s[best]
    t_join[all_t[best]] = all_row[best]
    reached = t_dist <= limit_m
    t_dist = np.where(reached, t_dist, np.inf)
    t_src = np.where(reached, t_src, -1)
    t_join = np.where(reached, t_join, -1)
    return Nearest(node_dist, node_source, pred[:n], t_dist, t_src, t_join)


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


def _batches(m: int, n_cols: int) -> Iterator[tuple[int, int]]:
    size = max(1, min(256, _BATCH_CELLS // max(n_cols, 1)))
    for b0 in range(0, m, size):
        yield b0, min(m, b0 + size)


def _ragged(indptr: NDArray[np.int64], keys: NDArray[np.int64]
            ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For each key, every position in its CSR row: (which key, position)."""
    start = indptr[keys]
    count = indptr[keys + 1] - start
    total = int(count.sum())
    which = np.repeat(np.arange(keys.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    return which, np.arange(total) - first + np.repeat(start, count)


def _min_per_pair(
    src: NDArray[np.int64], tgt: NDArray[np.int64], dist: NDArray[np.float64], n_targets: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Keep the shortest distance of each (source, target) pair, sorted by pair."""
    key = src * np.int64(n_targets) + tgt
    order = np.argsort(key, kind="stable")
    key, d = key[order], dist[order]
    # one sort by pair; the minimum of each run of equal keys is picked below
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    if starts.size == key.size:
        return src[order], tgt[order], d
    mins = np.minimum.reduceat(d, starts)
    pick = order[starts]
    return src[pick], tgt[pick], mins


def node_reach(
    net: Network,
    sources: Snapped,
    *,
    limit_m: float,
    graph: sp.csr_matrix | None = None,
    progress: bool = False,
) -> Reach:
    """Per-source bounded searches, batched: every (source, node, metres) within
    ``limit_m``, sorted by source then node."""
    n, m = net.n_nodes, len(sources)
    if m == 0:
        empty_i = np.empty(0, dtype=np.int32)
        return Reach(0, n, limit_m, empty_i, empty_i, np.empty(0))
    if graph is None:
        graph = augmented_graph(net, sources)
    parts_s, parts_n, parts_d, parts_p = [], [], [], []
    batches = list(_batches(m, n))
    for b0, b1 in tqdm(batches, desc="reach", unit="batch", disable=not progress, leave=False):
        dist, pred = csgraph.dijkstra(graph, directed=True, indices=np.arange(n + b0, n + b1),
                                      limit=limit_m, return_predecessors=True)
        # flat indices are much faster than 2-D nonzero on a wide matrix
        flat = np.flatnonzero(dist.ravel() <= limit_m)
        r, c = np.divmod(flat, n + m)
        on_net = c < n  # drop the virtual source nodes
        r, c, flat = r[on_net], c[on_net], flat[on_net]
        parts_s.append((r + b0).astype(np.int32))
        parts_n.append(c.astype(np.int32))
        parts_d.append(dist.ravel()[flat])
        parts_p.append(pred.ravel()[flat].astype(np.int32))
    return Reach(m, n, limit_m, np.concatenate(parts_s), np.concatenate(parts_n),
                 np.concatenate(parts_d), np.concatenate(parts_p))


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
    nodes: Reach | None = None,
) -> tuple[Reach, NDArray[np.int64]]:
    """Every (source, target) within reach, from the sources' node reach.

    The node reach (:func:`node_reach`, computed here unless given) is read at
    the targets' edge ends. Returns the sparse :class:`Reach` of targets and,
    for each limit in ``node_limits_m``, how many sources reach each network
    node (shape (len(node_limits_m), n)).
    """
    n, m, k = net.n_nodes, len(sources), len(targets)
    node_counts = np.zeros((len(node_limits_m), n), dtype=np.int64)
    if m == 0:
        empty_i = np.empty(0, dtype=np.int32)
        return Reach(0, k, limit_m, empty_i, empty_i, np.empty(0)), node_counts
    if nodes is None:
        nodes = node_reach(net, sources, limit_m=limit_m, graph=graph, progress=progress)
    r_src = nodes.source.astype(np.int64)
    r_node = nodes.target.astype(np.int64)
    r_dist = nodes.dist_m
    for j, lim in enumerate(node_limits_m):
        node_counts[j] = np.bincount(r_node[r_dist <= lim], minlength=n)
    # the same entries grouped by node, to read them at the targets' edge ends
    by_node = np.argsort(r_node, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(r_node, minlength=n))])
    ends = targets.all_joins().ends()
    t_idx, pos = _ragged(indptr, ends.node)
    entry = by_node[pos]
    s_pair, t_pair, d_pair, _ = pairs if pairs is not None else same_edge_pairs(sources, targets)
    cand_s = [r_src[entry], s_pair]
    cand_t = [ends.point[t_idx], t_pair]
    cand_d = [r_dist[entry] + ends.extra_m[t_idx], d_pair]
    src = np.concatenate(cand_s)
    tgt = np.concatenate(cand_t)
    dst = np.concatenate(cand_d)
    keep = dst <= limit_m
    src, tgt, dst = _min_per_pair(src[keep], tgt[keep], dst[keep], k)
    reach = Reach(
        n_sources=m,
        n_targets=k,
        limit_m=limit_m,
        source=src.astype(np.int32),
        target=tgt.astype(np.int32),
        dist_m=dst,
    )
    return reach, node_counts
