"""Pieces of an edge's shape between two walking positions, for drawing routes.

A courier's route runs along part of the street they join and part of the
station's street: :func:`along_edge` cuts that part out of the edge's shape by
interpolation on its vertices (what :func:`shapely.ops.substring` draws, without
building geometries), in walking order.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from circle15.geo.network.graph import Network


def along_edge(net: Network, edge: int, from_m: float, to_m: float) -> NDArray[np.float64]:
    """Points along an edge's shape between two walking positions (metres from ``u``),
    in walking order; the edge's bends included (strictly between the two positions,
    as :func:`shapely.ops.substring` draws it), by interpolation on the shape."""
    length = float(net.edge_length_m[edge])
    coords = shapely.get_coordinates(net.edge_geometry[edge])
    if length <= 0:
        return coords[:1]
    a = min(max(from_m / length, 0.0), 1.0)
    b = min(max(to_m / length, 0.0), 1.0)
    step = coords[1:] - coords[:-1]
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(step[:, 0], step[:, 1]))])
    lo, hi = min(a, b) * cum[-1], max(a, b) * cum[-1]
    ends = np.column_stack([np.interp([lo, hi], cum, coords[:, 0]),
                            np.interp([lo, hi], cum, coords[:, 1])])
    if a == b:
        return ends[:1]
    inner = coords[:-1][(cum[:-1] > lo) & (cum[:-1] < hi)]
    piece = np.vstack([ends[:1], inner, ends[1:]])
    return piece[::-1] if a > b else piece
