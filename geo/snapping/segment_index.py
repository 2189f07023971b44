"""An exact nearest-edge index: straight pieces of the edges and a KD-tree over
their midpoints, queried without per-point geometry calls."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from circle15.geo.network.graph import Network
from circle15.geo.network.lines import Lines
from circle15.geo.network.osm_tags import avoid_mask

#: edges are cut into pieces no longer than this for the nearest-edge index
_PIECE_M = 40.0
#: the same, for callers that query the index's tree themselves (one-point snapping)
PIECE_M = _PIECE_M
#: nearest piece midpoints examined per point before the exactness check
_K = 8
#: up to this many points query the full index with a mask (:func:`eligible_index`)
MASKED_POINTS = 5_000
#: points whose search reaches are alike are searched together (upper bounds, metres)
_REACH_GROUPS_M = np.array([60.0, 80.0, 100.0, 150.0, 250.0, 500.0, 1000.0, 2000.0])


@dataclass(frozen=True)
class SegmentIndex:
    """Straight pieces of some edges (at most ``_PIECE_M`` long) and a KD-tree
    over their midpoints, for exact nearest-edge queries without per-point
    geometry calls."""

    start: NDArray[np.float64]
    vec: NDArray[np.float64]
    length: NDArray[np.float64]
    edge: NDArray[np.int64]
    offset: NDArray[np.float64]
    edge_geom_length: NDArray[np.float64]
    tree: cKDTree | None

    @classmethod
    def build(cls, lines: Lines | NDArray[np.object_],
              edges: NDArray[np.int64] | None = None) -> SegmentIndex:
        """Index the edges ``edges`` (default all) of ``lines`` (or LineStrings)."""
        if not isinstance(lines, Lines):
            lines = Lines.of(np.asarray(lines, dtype=object))
        n_all = len(lines)
        if edges is None:
            edges = np.arange(n_all)
            coords, idx = lines.coords, lines.line_of_coord
        else:
            edges = np.asarray(edges, dtype=np.int64)
            picked = lines.take(edges)
            coords, idx = picked.coords, picked.line_of_coord
        # the edges' straight segments, each cut into equal pieces no longer than
        # _PIECE_M (as shapely.segmentize would, without building new geometries)
        same = idx[1:] == idx[:-1]
        seg_start, seg_vec, seg_local = coords[:-1][same], np.diff(coords, axis=0)[same], \
            idx[:-1][same]
        seg_len = np.hypot(seg_vec[:, 0], seg_vec[:, 1])
        parts = np.maximum(1, np.ceil(seg_len / _PIECE_M)).astype(np.int64)
        seg = np.repeat(np.arange(seg_len.size), parts)
        nth = np.arange(seg.size) - np.repeat(np.cumsum(parts) - parts, parts)
        share = (1.0 / parts)[seg]
        vec = seg_vec[seg] * share[:, None]
        start = seg_start[seg] + vec * nth[:, None]
        local = seg_local[seg]
        length = np.hypot(vec[:, 0], vec[:, 1])
        # geometric distance from the edge's start to each piece's start
        cum = np.cumsum(length)
        first = np.ones(local.size, dtype=bool)
        first[1:] = local[1:] != local[:-1]
        base = np.maximum.accumulate(np.where(first, cum - length, 0.0))
        offset = cum - length - base
        edge = edges[local]
        geom_len = np.bincount(edge, weights=length, minlength=n_all).astype(float)
        tree = cKDTree(start + vec / 2) if edge.size else None
        return cls(start, vec, length, edge, offset, geom_len, tree)

    #: the arrays that define an index (the tree is rebuilt from them)
    FIELDS = ("start", "vec", "length", "edge", "offset", "edge_geom_length")
    #: the KD-tree's own arrays (:meth:`tree_arrays`), optional
    TREE_FIELDS = ("tree_nodes", "tree_data", "tree_sizes", "tree_maxes", "tree_mins",
                   "tree_indices", "tree_scipy")

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]]) -> SegmentIndex:
        """The index of :attr:`FIELDS` arrays (as a cache kept them), with the tree of
        :attr:`TREE_FIELDS` where they are there and this scipy wrote them."""
        start, vec = arrays["start"], arrays["vec"]
        tree = None
        if arrays["edge"].size:
            tree = _kept_tree(arrays, start.shape[0]) or cKDTree(start + vec / 2)
        return cls(start, vec, arrays["length"], arrays["edge"], arrays["offset"],
                   arrays["edge_geom_length"], tree)

    def tree_arrays(self) -> dict[str, NDArray[Any]]:
        """The KD-tree as arrays (the state scipy pickles it by), to keep beside
        :attr:`FIELDS`: reading them back costs milliseconds where building the tree
        of a district's pieces costs 0.1-0.2 s. Empty for no tree."""
        if self.tree is None:
            return {}
        nodes, data, n, m, leafsize, maxes, mins, indices, boxsize, _ = (
            self.tree.__getstate__())
        if boxsize is not None:
            return {}
        return {"tree_nodes": nodes, "tree_data": data,
                "tree_sizes": np.array([n, m, leafsize], dtype=np.int64),
                "tree_maxes": maxes, "tree_mins": mins, "tree_indices": indices,
                "tree_scipy": np.array(scipy.__version__)}

    def subset(self, keep_edge: NDArray[np.bool_]) -> SegmentIndex:
        """The index of the edges where ``keep_edge`` is true (pieces reused, not
        cut again)."""
        keep = keep_edge[self.edge]
        edge = self.edge[keep]
        start, vec = self.start[keep], self.vec[keep]
        geom_len = np.where(keep_edge, self.edge_geom_length, 0.0)
        tree = cKDTree(start + vec / 2) if edge.size else None
        return SegmentIndex(start, vec, self.length[keep], edge, self.offset[keep], geom_len,
                            tree)

    @property
    def empty(self) -> bool:
        return self.tree is None

    def _distances(self, xy: NDArray[np.float64], cand: NDArray[np.int64]
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Distance from each point to each of its candidate pieces, and the offset."""
        rel = xy[:, None, :] - self.start[cand]
        vec = self.vec[cand]
        len2 = np.einsum("pkc,pkc->pk", vec, vec)
        t = np.clip(np.divide(np.einsum("pkc,pkc->pk", rel, vec), len2,
                              out=np.zeros_like(len2), where=len2 > 0), 0.0, 1.0)
        diff = rel - t[..., None] * vec
        return np.hypot(diff[..., 0], diff[..., 1]), self.offset[cand] + t * self.length[cand]

    def _query(self, xy: NDArray[np.float64], k: int
               ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        assert self.tree is not None
        k = min(k, self.edge.size)
        mid_d, cand = self.tree.query(xy, k=k, workers=-1)
        return mid_d.reshape(len(xy), k), cand.reshape(len(xy), k)

    def nearest(
        self, xy: NDArray[np.float64], keep: NDArray[np.bool_] | None = None,
        max_k: int | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """Nearest edge, distance and geometric offset along it for each point
        (edge -1 and distance inf when the index is empty).

        ``keep``: only the pieces where it is true count (:class:`MaskedIndex`);
        ``max_k``: raise :class:`TooFewKeptError` rather than examine more pieces a point."""
        n = len(xy)
        edge = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        along = np.full(n, np.nan)
        if self.empty or n == 0:
            return edge, dist, along
        todo = np.arange(n)
        k = _K
        while todo.size:
            if max_k is not None and k > max_k and k < self.edge.size:
                raise TooFewKeptError
            mid_d, cand = self._query(xy[todo], k)
            d, a = self._distances(xy[todo], cand)
            if keep is not None:
                d[~keep[cand]] = np.inf
            # ties (a point at a junction) go to the piece with the nearer midpoint
            best = np.argmin(d, axis=1)
            rows = np.arange(todo.size)
            edge[todo] = self.edge[cand[rows, best]]
            dist[todo] = d[rows, best]
            along[todo] = a[rows, best]
            # a piece beyond the k examined has its midpoint at least mid_d[:, -1]
            # away, so it is at least that minus half a piece away
            exact = (mid_d[:, -1] - _PIECE_M / 2 >= dist[todo]) | (k >= self.edge.size)
            todo = todo[~exact]
            k *= 4
        if keep is not None:  # no piece kept at all
            edge[~np.isfinite(dist)], along[~np.isfinite(dist)] = -1, np.nan
        return edge, dist, along

    def nearest_one(self, x: float, y: float) -> tuple[int, float, float]:
        """:meth:`nearest` for one point (a courier's query)."""
        e, d, a = self.nearest(np.array([[x, y]]))
        return int(e[0]), float(d[0]), float(a[0])

    def _pairs_within(self, xy: NDArray[np.float64], reach: NDArray[np.float64]
                      ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(point, piece) for every piece midpoint within ``reach[point]``. Points are
        searched in groups of similar reach, tree against tree: the pairs come back
        as arrays, without a Python list per point."""
        assert self.tree is not None
        group = np.digitize(reach, _REACH_GROUPS_M)
        points, pieces = [], []
        for g in np.unique(group):
            rows = np.flatnonzero(group == g)
            pairs = cKDTree(xy[rows]).sparse_distance_matrix(
                self.tree, float(reach[rows].max()), output_type="ndarray")
            keep = pairs["v"] <= reach[rows][pairs["i"]]
            points.append(rows[pairs["i"][keep]])
            pieces.append(pairs["j"][keep].astype(np.int64))
        return np.concatenate(points), np.concatenate(pieces)

    def within(self, xy: NDArray[np.float64], radius: NDArray[np.float64],
               keep: NDArray[np.bool_] | None = None,
               ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                          NDArray[np.float64]]:
        """Every (point, edge) with the edge within ``radius[point]``: the nearest
        position on each such edge. Returns point, edge, distance, geometric offset.
        ``keep``: only the pieces where it is true count."""
        todo = np.flatnonzero(np.isfinite(radius))
        if todo.size == 0 or self.tree is None:
            e = np.empty(0, dtype=np.int64)
            return e, e, np.empty(0), np.empty(0)
        # a piece within r of a point has its midpoint within r + half a piece
        point, piece = self._pairs_within(xy[todo], radius[todo] + _PIECE_M / 2)
        point = todo[point]
        if keep is not None:
            point, piece = point[keep[piece]], piece[keep[piece]]
        # exact distance from each point to each of its candidate pieces
        rel = xy[point] - self.start[piece]
        vec = self.vec[piece]
        len2 = np.einsum("pc,pc->p", vec, vec)
        t = np.clip(np.divide(np.einsum("pc,pc->p", rel, vec), len2,
                              out=np.zeros_like(len2), where=len2 > 0), 0.0, 1.0)
        diff = rel - t[:, None] * vec
        dist = np.hypot(diff[:, 0], diff[:, 1])
        hit = dist <= radius[point] + 1e-9
        point, piece, dist = point[hit], piece[hit], dist[hit]
        along = self.offset[piece] + t[hit] * self.length[piece]
        edge = self.edge[piece]
        # the nearest piece of each edge gives the edge's nearest position: one
        # stable sort by (point, edge), then the first of each run's shortest
        if point.size == 0:
            return point, edge, dist, along
        key = point * np.int64(self.edge_geom_length.size) + edge
        order = np.argsort(key, kind="stable")
        key, d_sorted = key[order], dist[order]
        start = np.ones(key.size, dtype=bool)
        start[1:] = key[1:] != key[:-1]
        run = np.cumsum(start) - 1
        shortest = np.minimum.reduceat(d_sorted, np.flatnonzero(start))
        best = np.flatnonzero(d_sorted == shortest[run])
        best = best[np.concatenate([[True], run[best][1:] != run[best][:-1]])]
        pick = order[best]
        return point[pick], edge[pick], dist[pick], along[pick]


def _kept_tree(arrays: dict[str, NDArray[Any]], n_pieces: int) -> cKDTree | None:
    """The tree :meth:`SegmentIndex.tree_arrays` kept, or None: not kept, kept by
    another scipy version (whose layout may differ), or not of these pieces."""
    if not set(SegmentIndex.TREE_FIELDS) <= arrays.keys():
        return None
    n, m, leafsize = (int(v) for v in arrays["tree_sizes"])
    data = arrays["tree_data"]
    if (str(arrays["tree_scipy"]) != scipy.__version__ or n != n_pieces or m != 2
            or data.shape != (n, 2) or arrays["tree_indices"].shape != (n,)):
        return None
    tree = cKDTree.__new__(cKDTree)
    tree.__setstate__((arrays["tree_nodes"], data, n, m, leafsize, arrays["tree_maxes"],
                       arrays["tree_mins"], arrays["tree_indices"], None, None))
    return tree


class TooFewKeptError(Exception):
    """A masked query met too few kept pieces near a point (build the subset)."""


@dataclass(frozen=True, eq=False)
class MaskedIndex:
    """The pieces of ``full`` where ``keep`` is true, queried through the full index's
    tree: the same answers as an index of those pieces alone (:meth:`SegmentIndex.
    subset`), without building its tree, which is what a few points want (a district's
    500 stations: 0.2 s of tree for milliseconds of queries). Where kept pieces are
    far from a point, ``subset()`` gives the index to ask instead."""

    full: SegmentIndex
    keep: NDArray[np.bool_]
    subset: Callable[[], SegmentIndex]

    #: pieces examined per point before the subset is worth its tree
    MAX_K = 512

    @property
    def empty(self) -> bool:
        return self.full.empty or not self.keep.any()

    def nearest(self, xy: NDArray[np.float64]
                ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        try:
            return self.full.nearest(xy, keep=self.keep, max_k=self.MAX_K)
        except TooFewKeptError:
            return self.subset().nearest(xy)

    def within(self, xy: NDArray[np.float64], radius: NDArray[np.float64]
               ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                          NDArray[np.float64]]:
        return self.full.within(xy, radius, keep=self.keep)


_INDEXES: weakref.WeakKeyDictionary[Network, dict[int, SegmentIndex]] = (
    weakref.WeakKeyDictionary())
_INDEX_LOCK = threading.Lock()


def keep_index(net: Network, index: SegmentIndex) -> None:
    """Use ``index`` as the full index of ``net`` (one read from the network cache)."""
    with _INDEX_LOCK:
        _INDEXES.setdefault(net, {})[0] = index


def eligible_index(net: Network, avoid: Iterable[str], n_points: int
                   ) -> SegmentIndex | MaskedIndex:
    """What ``n_points`` points query to join the edges eligible under ``avoid``: the
    index of those edges when it is built or the points are many, else the full index
    with the other edges' pieces masked (:class:`MaskedIndex`)."""
    mask = avoid_mask(avoid)
    with _INDEX_LOCK:
        per_net = _INDEXES.get(net, {})
        built, full = per_net.get(mask), per_net.get(0)
    if (built is not None or full is None or n_points > MASKED_POINTS
            or not (net.edge_join_flags & mask).any()):
        return segment_index(net, avoid)
    keep_edge = (net.edge_join_flags & mask) == 0
    return MaskedIndex(full, keep_edge[full.edge], lambda: segment_index(net, avoid))


def segment_index(net: Network, avoid: Iterable[str] = ()) -> SegmentIndex:
    """The nearest-edge index over the edges a point may join under ``avoid``
    (every edge when empty), built once per network and kept with it."""
    mask = avoid_mask(avoid)
    with _INDEX_LOCK:
        per_net = _INDEXES.setdefault(net, {})
        index = per_net.get(mask)
        if index is None:
            if mask == 0 or not (net.edge_join_flags & mask).any():
                index = per_net.get(0) or SegmentIndex.build(net.edge_lines)
            else:
                # cut the edges once: the eligible index is a subset of the full one
                full = per_net.get(0)
                if full is None:
                    full = per_net[0] = SegmentIndex.build(net.edge_lines)
                index = full.subset((net.edge_join_flags & mask) == 0)
            per_net[mask] = index
        return index


