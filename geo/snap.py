"""Snap points to the nearest walkable edge, keeping the off-network walk.

A point is placed at its nearest position on the nearest edge (not just the
nearest node). Its walk to the network is the straight line to that position;
from there it reaches the edge's two end nodes along the edge.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from circle15.geo.network import Network


@dataclass(frozen=True)
class Snapped:
    """Positions of k points on the network (all arrays of shape (k,)).

    Attributes
    ----------
    edge
        Index of the edge each point snapped to; -1 where none was within reach.
    off_m
        Straight-line walk from the point to the edge, metres.
    along_m
        Walking distance from the edge's ``u`` node to the snapped position.
    to_u_m, to_v_m
        Walking distance along the edge to its ``u`` and ``v`` nodes, metres.
    u, v
        The edge's end nodes (indices), -1 where not snapped.
    """

    edge: NDArray[np.int64]
    off_m: NDArray[np.float64]
    along_m: NDArray[np.float64]
    to_u_m: NDArray[np.float64]
    to_v_m: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]

    @property
    def ok(self) -> NDArray[np.bool_]:
        return self.edge >= 0

    def __len__(self) -> int:
        return int(self.edge.shape[0])

    def take(self, index: NDArray[np.int64] | NDArray[np.bool_]) -> Snapped:
        return Snapped(
            edge=self.edge[index],
            off_m=self.off_m[index],
            along_m=self.along_m[index],
            to_u_m=self.to_u_m[index],
            to_v_m=self.to_v_m[index],
            u=self.u[index],
            v=self.v[index],
        )

    @staticmethod
    def concat(parts: list[Snapped]) -> Snapped:
        return Snapped(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in ("edge", "off_m", "along_m", "to_u_m", "to_v_m", "u", "v")
            }
        )


#: edges are cut into pieces no longer than this for the nearest-edge index
_PIECE_M = 40.0
#: nearest piece midpoints examined per point before the exactness check
_K = 8


@dataclass(frozen=True)
class SegmentIndex:
    """Straight pieces of every edge (at most ``_PIECE_M`` long) and a KD-tree
    over their midpoints, for exact nearest-edge queries without per-point
    geometry calls."""

    start: NDArray[np.float64]
    vec: NDArray[np.float64]
    length: NDArray[np.float64]
    edge: NDArray[np.int64]
    offset: NDArray[np.float64]
    edge_geom_length: NDArray[np.float64]
    tree: cKDTree

    @classmethod
    def build(cls, geoms: NDArray[np.object_]) -> SegmentIndex:
        # zero-length edges (two OSM nodes at one spot) cannot be segmentized
        dense = geoms.copy()
        ok = shapely.length(geoms) > 0
        dense[ok] = shapely.segmentize(geoms[ok], _PIECE_M)
        coords, idx = shapely.get_coordinates(dense, return_index=True)
        same = idx[1:] == idx[:-1]
        start, end, edge = coords[:-1][same], coords[1:][same], idx[:-1][same]
        vec = end - start
        length = np.hypot(vec[:, 0], vec[:, 1])
        # geometric distance from the edge's start to each piece's start
        cum = np.cumsum(length)
        first = np.ones(edge.size, dtype=bool)
        first[1:] = edge[1:] != edge[:-1]
        base = np.maximum.accumulate(np.where(first, cum - length, 0.0))
        offset = cum - length - base
        geom_len = np.bincount(edge, weights=length, minlength=geoms.shape[0]).astype(float)
        tree = cKDTree(start + vec / 2)
        return cls(start, vec, length, edge, offset, geom_len, tree)

    def _closest(
        self, xy: NDArray[np.float64], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Best of the k pieces with the nearest midpoints, and whether it is exact."""
        k = min(k, self.edge.size)
        mid_d, cand = self.tree.query(xy, k=k)
        mid_d, cand = mid_d.reshape(len(xy), k), cand.reshape(len(xy), k)
        rel = xy[:, None, :] - self.start[cand]
        vec = self.vec[cand]
        len2 = np.einsum("pkc,pkc->pk", vec, vec)
        t = np.clip(np.divide(np.einsum("pkc,pkc->pk", rel, vec), len2,
                              out=np.zeros_like(len2), where=len2 > 0), 0.0, 1.0)
        diff = rel - t[..., None] * vec
        dist = np.hypot(diff[..., 0], diff[..., 1])
        # ties (a point at a junction) go to the piece with the nearer midpoint
        order = np.argmin(dist, axis=1)
        rows = np.arange(len(xy))
        best = cand[rows, order]
        best_d = dist[rows, order]
        along = self.offset[best] + t[rows, order] * self.length[best]
        # a piece beyond the k examined has its midpoint at least mid_d[:, -1]
        # away, so it is at least that minus half a piece away
        exact = (mid_d[:, -1] - _PIECE_M / 2 >= best_d) | (k == self.edge.size)
        return best, best_d, along, exact

    def nearest_one(self, x: float, y: float) -> tuple[int, float, float]:
        """:meth:`nearest` for one point, with few array calls (a courier's query)."""
        k = min(2 * _K, self.edge.size)
        mid_d, cand = self.tree.query(np.array([x, y]), k=k)
        s = self.start[cand]
        v = self.vec[cand]
        rx, ry = x - s[:, 0], y - s[:, 1]
        vx, vy = v[:, 0], v[:, 1]
        len2 = vx * vx + vy * vy
        t = np.clip((rx * vx + ry * vy) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
        dist = np.hypot(rx - t * vx, ry - t * vy)
        i = int(np.argmin(dist))
        if np.atleast_1d(mid_d)[-1] - _PIECE_M / 2 < dist[i] and k < self.edge.size:
            e, d, a = self.nearest(np.array([[x, y]]))
            return int(e[0]), float(d[0]), float(a[0])
        j = int(cand[i])
        return int(self.edge[j]), float(dist[i]), float(self.offset[j] + t[i] * self.length[j])

    def nearest(
        self, xy: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """Nearest edge, distance and geometric offset along it for each point."""
        best, best_d, along, exact = self._closest(xy, _K)
        k = _K
        todo = np.flatnonzero(~exact)
        while todo.size:
            k *= 4
            b, d, a, ex = self._closest(xy[todo], k)
            best[todo], best_d[todo], along[todo] = b, d, a
            todo = todo[~ex]
        return self.edge[best], best_d, along


_INDEXES: weakref.WeakKeyDictionary[Network, SegmentIndex] = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()


def segment_index(net: Network) -> SegmentIndex:
    """The network's nearest-edge index, built once per network and kept with it."""
    with _INDEX_LOCK:
        index = _INDEXES.get(net)
        if index is None:
            index = SegmentIndex.build(net.edge_geometry)
            _INDEXES[net] = index
        return index


def snap_points(net: Network, xy: NDArray[np.float64], *, max_dist_m: float) -> Snapped:
    """Snap (k, 2) points in the network's CRS to their nearest edges.

    Points farther than ``max_dist_m`` from every edge get ``edge = -1`` and
    NaN distances; the caller decides whether that is an error.
    """
    k = int(xy.shape[0])
    edge = np.full(k, -1, dtype=np.int64)
    off = np.full(k, np.nan)
    along = np.full(k, np.nan)
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    # far outside the network's UTM zone a projection gives inf: never a match
    finite = np.flatnonzero(np.isfinite(pts).all(axis=1))
    if finite.size:
        e_f, d_f, a_f = segment_index(net).nearest(pts[finite])
        hit = d_f <= max_dist_m
        rows, e_idx = finite[hit], e_f[hit]
        edge[rows] = e_idx
        off[rows] = d_f[hit]
        glen = segment_index(net).edge_geom_length[e_idx]
        frac = np.divide(a_f[hit], glen, out=np.zeros(e_idx.size), where=glen > 0)
        along[rows] = np.clip(frac, 0.0, 1.0) * net.edge_length_m[e_idx]
    ok = edge >= 0
    length = np.where(ok, net.edge_length_m[np.where(ok, edge, 0)], np.nan)
    return Snapped(
        edge=edge,
        off_m=off,
        along_m=along,
        to_u_m=along,
        to_v_m=length - along,
        u=np.where(ok, net.edge_u[np.where(ok, edge, 0)], -1),
        v=np.where(ok, net.edge_v[np.where(ok, edge, 0)], -1),
    )


def snapped_xy(net: Network, snapped: Snapped) -> NDArray[np.float64]:
    """Coordinates (metres) of the snapped positions; NaN where not snapped."""
    out = np.full((len(snapped), 2), np.nan)
    ok = snapped.ok
    if ok.any():
        e = snapped.edge[ok]
        length = net.edge_length_m[e]
        frac = np.divide(snapped.along_m[ok], length, out=np.zeros(e.shape[0]), where=length > 0)
        pts = shapely.line_interpolate_point(net.edge_geometry[e], frac, normalized=True)
        out[ok] = shapely.get_coordinates(pts)
    return out
