"""Settling the (source, target, metres) pairs of bounded searches: the shortest of each
pair, batch by batch, then all batches placed in (source, target) order by counting.

Kept apart from :mod:`.reach` (the searches themselves): a district's 48,000 candidate
sites hold 12 million pairs, and how they are settled decides the memory a siting run
needs (4.3 GB before this was done batch by batch, 1.6 GB after).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csgraph


def min_per_pair(
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


def sinks_only(w: Any, limit_m: float, n: int, m: int, k: int
                ) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    """One batch's (source, target, metres) pairs within the limit, read from the
    targets' sink columns only (no predecessors, no per-node arrays)."""
    dist = csgraph.dijkstra(w.graph, directed=True, indices=w.starts, limit=limit_m)
    first = w.n_net + w.sources.size
    r, c = np.nonzero(dist[:, first:] <= limit_m)
    d = dist[r, c + first]
    del dist
    s_b, t_b, d_b = min_per_pair(w.sources[r], w.index[c + first] - n - m, d, k)
    return s_b.astype(np.int32), t_b.astype(np.int32), d_b


def merge_pairs(parts_s: list[NDArray[np.int32]], parts_t: list[NDArray[np.int32]],
                 parts_d: list[NDArray[np.float64]], extra_s: NDArray[Any],
                 extra_t: NDArray[Any], extra_d: NDArray[np.float64], n_targets: int
                 ) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    """The batches' settled pairs (each batch's sources its own, each sorted by source
    and target) placed in (source, target) order by counting, with the same-edge pairs
    folded in at their shorter distance: what :func:`min_per_pair` gives over
    everything, without a global sort (a fraction of its memory)."""
    n_src = int(max((int(s.max()) + 1 for s in parts_s if s.size), default=0))
    if extra_s.size:
        n_src = max(n_src, int(extra_s.max()) + 1)
    per = np.zeros(n_src, dtype=np.int64)
    for s in parts_s:
        per += np.bincount(s, minlength=n_src)
    ptr = np.concatenate([[0], np.cumsum(per)])
    total = int(ptr[-1])
    src = np.empty(total, dtype=np.int32)
    tgt = np.empty(total, dtype=np.int32)
    dst = np.empty(total)
    for i in range(len(parts_s)):
        s, t_, d = parts_s[i], parts_t[i], parts_d[i]
        # each batch let go of once placed (the lists are the caller's): the pairs are
        # held once, not twice (at district scale with shops and nodes, 0.2 GB less)
        parts_s[i] = parts_t[i] = parts_d[i] = np.empty(0, dtype=s.dtype)
        if s.size == 0:
            continue
        first = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1]]))
        count = np.diff(np.append(first, s.size))
        at = np.repeat(ptr[s[first]], count) + (np.arange(s.size) - np.repeat(first, count))
        src[at], tgt[at], dst[at] = s, t_, d
        del s, t_, d, first, count, at
    if extra_s.size == 0:
        return src, tgt, dst
    e_s, e_t, e_d = min_per_pair(extra_s.astype(np.int64), extra_t.astype(np.int64),
                                  extra_d, n_targets)
    # each same-edge pair looked up in its source's run of targets (a binary search per
    # pair, all at once)
    lo, hi = ptr[e_s].copy(), ptr[e_s + 1].copy()
    while (open_ := lo < hi).any():
        mid = (lo + hi) // 2
        less = open_ & (tgt[np.minimum(mid, total - 1)] < e_t)
        lo = np.where(less, mid + 1, lo)
        hi = np.where(open_ & ~less, mid, hi)
    found = (lo < ptr[e_s + 1]) & (tgt[np.minimum(lo, max(total - 1, 0))] == e_t) \
        if total else np.zeros(e_s.size, dtype=bool)
    dst[lo[found]] = np.minimum(dst[lo[found]], e_d[found])
    if found.all():
        return src, tgt, dst
    new = ~found  # pairs only the same edge gives: inserted at their place
    at = lo[new]
    # one array at a time, each old one let go of before the next is copied
    src = np.insert(src, at, e_s[new].astype(np.int32))
    tgt = np.insert(tgt, at, e_t[new].astype(np.int32))
    dst = np.insert(dst, at, e_d[new])
    return src, tgt, dst
