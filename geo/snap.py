"""Snap points to the nearest walkable edge, keeping the off-network walk.

A point is placed at its nearest position on the nearest edge (not just the
nearest node). Its walk to the network is the straight line to that position;
from there it reaches the edge's two end nodes along the edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.network import Network


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


def snap_points(net: Network, xy: NDArray[np.float64], *, max_dist_m: float) -> Snapped:
    """Snap (k, 2) points in the network's CRS to their nearest edges.

    Points farther than ``max_dist_m`` from every edge get ``edge = -1`` and
    NaN distances; the caller decides whether that is an error.
    """
    k = int(xy.shape[0])
    edge = np.full(k, -1, dtype=np.int64)
    off = np.full(k, np.nan)
    along = np.full(k, np.nan)
    if k:
        pts = shapely.points(xy)
        # ties (a point exactly at a junction) go to the lowest edge index
        pairs, dist = net.edge_tree.query_nearest(
            pts, max_distance=max_dist_m, return_distance=True, all_matches=False
        )
        p_idx, e_idx = pairs[0], pairs[1]
        edge[p_idx] = e_idx
        off[p_idx] = dist
        geoms = net.edge_geometry[e_idx]
        frac = shapely.line_locate_point(geoms, pts[p_idx], normalized=True)
        # degenerate (zero-length) edges give NaN: either end is as good
        along[p_idx] = np.nan_to_num(frac, nan=0.0) * net.edge_length_m[e_idx]
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
