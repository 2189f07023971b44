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

#: (source, target, metres) of sources and targets that share an edge
Pairs = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]


def augmented_graph(net: Network, sources: Snapped) -> sp.csr_matrix:
    """The network plus one virtual node per source (indices n .. n+m-1).

    A virtual node has arcs to its edge's two ends weighted by the off-network
    walk plus the walk along the edge; nothing leads into it, so no path can
    pass through another source. Built by appending rows to the network's CSR
    arrays, without re-sorting them.
    """
    if not sources.ok.all():
        msg = "every source must be snapped to the network"
        raise ValueError(msg)
    n, m = net.n_nodes, len(sources)
    base = net.csr
    w_u = np.maximum(sources.off_m + sources.to_u_m, MIN_LENGTH_M)
    w_v = np.maximum(sources.off_m + sources.to_v_m, MIN_LENGTH_M)
    loop = sources.u == sources.v  # a loop edge: both arcs lead to one node
    # row i of the new block: [u_i, v_i], or [u_i] alone for a loop edge
    per_row = np.where(loop, 1, 2)
    cols = np.column_stack([sources.u, sources.v]).ravel()
    data = np.column_stack([np.where(loop, np.minimum(w_u, w_v), w_u), w_v]).ravel()
    keep = np.column_stack([np.ones(m, dtype=bool), ~loop]).ravel()
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(per_row)])
    return sp.csr_matrix(
        (np.concatenate([base.data, data[keep]]), np.concatenate([base.indices, cols[keep]]),
         indptr),
        shape=(n + m, n + m),
    )


def same_edge_pairs(sources: Snapped, targets: Snapped) -> Pairs:
    """(source, target, metres) for pairs on one edge, walking along it directly."""
    s_ok = np.flatnonzero(sources.ok)
    t_ok = np.flatnonzero(targets.ok)
    if s_ok.size == 0 or t_ok.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    s_order = s_ok[np.argsort(sources.edge[s_ok], kind="stable")]
    s_edges = sources.edge[s_order]
    # most targets share no edge with a source: drop them before searching
    t_ok = t_ok[np.isin(targets.edge[t_ok], s_edges)]
    t_edges = targets.edge[t_ok]
    lo = np.searchsorted(s_edges, t_edges, side="left")
    hi = np.searchsorted(s_edges, t_edges, side="right")
    counts = hi - lo
    if counts.sum() == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    t_rep = np.repeat(t_ok, counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    s_rep = s_order[np.repeat(lo, counts) + offs]
    dist = (
        sources.off_m[s_rep]
        + np.abs(sources.along_m[s_rep] - targets.along_m[t_rep])
        + targets.off_m[t_rep]
    )
    return s_rep, t_rep, dist


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
    n, m = net.n_nodes, len(sources)
    if m == 0:
        k = len(targets)
        return Nearest(np.full(n, np.inf), np.full(n, -1), np.full(n, -9999),
                       np.full(k, np.inf), np.full(k, -1))
    if graph is None:
        graph = augmented_graph(net, sources)
    dist, pred, origin = csgraph.dijkstra(
        graph, directed=True, indices=np.arange(n, n + m), min_only=True,
        return_predecessors=True, limit=limit_m,
    )
    node_dist = dist[:n]
    node_source = np.where(origin[:n] >= 0, origin[:n] - n, -1)
    via_u = node_dist[targets.u] + targets.to_u_m + targets.off_m
    via_v = node_dist[targets.v] + targets.to_v_m + targets.off_m
    t_dist = np.minimum(via_u, via_v)
    t_src = np.where(via_u <= via_v, node_source[targets.u], node_source[targets.v])
    s, t, d = pairs if pairs is not None else same_edge_pairs(sources, targets)
    if s.size:
        # several sources may share an edge with one target: apply the best one
        order = np.lexsort((d, t))
        first = np.ones(order.size, dtype=bool)
        first[1:] = t[order][1:] != t[order][:-1]
        s, t, d = s[order][first], t[order][first], d[order][first]
        better = d < t_dist[t]
        t_dist[t[better]] = d[better]
        t_src[t[better]] = s[better]
    t_dist = np.where(t_dist <= limit_m, t_dist, np.inf)
    t_src = np.where(np.isfinite(t_dist), t_src, -1)
    return Nearest(node_dist, node_source, pred[:n], t_dist, t_src)


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
    cand_s, cand_t, cand_d = [], [], []
    for end, along in ((targets.u, targets.to_u_m), (targets.v, targets.to_v_m)):
        t_idx, pos = _ragged(indptr, end)
        entry = by_node[pos]
        cand_s.append(r_src[entry])
        cand_t.append(t_idx)
        cand_d.append(r_dist[entry] + along[t_idx] + targets.off_m[t_idx])
    s_pair, t_pair, d_pair = pairs if pairs is not None else same_edge_pairs(sources, targets)
    cand_s.append(s_pair)
    cand_t.append(t_pair)
    cand_d.append(d_pair)
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
