"""Route pieces along an edge from its shape kept as arrays, for the courier's answers.

:func:`circle15.geo.snapping.edge_path.along_edge` reads an edge's vertices from its
geometry and sums its bends' lengths at every call. :class:`EdgeShapes` does
that once per network (each vertex's distance along its edge, summed in the
same order, next to the network's own flat vertex array), and :func:`along_edge` cuts
the same pieces from it: the same points, bit for bit, a few times faster.

The service draws its routes from these arrays in compiled loops
(:func:`circle15.geo.snapping._one_point.route_xy`); :func:`along_edge` is the same cut in
plain numpy, the statement those loops are tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
from numpy.typing import NDArray

from circle15.geo.network.graph import Network


@dataclass(frozen=True, eq=False)
class EdgeShapes:
    """Every edge's vertices (CSR by edge) and their distance along it."""

    xy: NDArray[np.float64]
    ptr: NDArray[np.int64]
    cum: NDArray[np.float64]

    @classmethod
    def build(cls, net: Network) -> EdgeShapes:
        xy, ptr = net.edge_lines.coords, net.edge_lines.offsets  # shared, not copied
        count = np.diff(ptr)
        step = np.hypot(*(xy[1:] - xy[:-1]).T)
        cum = np.zeros(xy.shape[0])
        # each edge's running sum, one vertex position at a time over all edges (the
        # additions in the order a per-edge cumulative sum makes them)
        start = ptr[:-1]
        for j in range(1, int(count.max(initial=0))):
            at = start[count > j] + j
            cum[at] = cum[at - 1] + step[at - 1]
        return cls(xy, ptr, cum)

    @property
    def nbytes(self) -> int:
        """What the shapes add to the network's own arrays, bytes."""
        return self.cum.nbytes


_SHAPES: WeakKeyDictionary[Network, EdgeShapes] = WeakKeyDictionary()


def edge_shapes(net: Network) -> EdgeShapes:
    """The network's :class:`EdgeShapes`, made when first asked."""
    shapes = _SHAPES.get(net)
    if shapes is None:
        shapes = _SHAPES[net] = EdgeShapes.build(net)
    return shapes


def along_edge(net: Network, edge: int, from_m: float, to_m: float) -> NDArray[np.float64]:
    """:func:`circle15.geo.snapping.edge_path.along_edge` from the kept arrays: the points along
    an edge's shape between two walking positions (metres from ``u``), in walking order."""
    shapes = _SHAPES.get(net) or edge_shapes(net)
    p0, p1 = int(shapes.ptr[edge]), int(shapes.ptr[edge + 1])
    coords = shapes.xy[p0:p1]
    length = float(net.edge_length_m[edge])
    if length <= 0:
        return coords[:1]
    cum = shapes.cum[p0:p1]
    a = min(max(from_m / length, 0.0), 1.0)
    b = min(max(to_m / length, 0.0), 1.0)
    lo, hi = min(a, b) * cum[-1], max(a, b) * cum[-1]
    ends = np.empty((2, 2))
    ends[:, 0] = np.interp((lo, hi), cum, coords[:, 0])
    ends[:, 1] = np.interp((lo, hi), cum, coords[:, 1])
    if a == b:
        return ends[:1]
    if p1 - p0 > 2:
        inner = coords[:-1][(cum[:-1] > lo) & (cum[:-1] < hi)]
        ends = np.vstack([ends[:1], inner, ends[1:]])
    return ends[::-1] if a > b else ends
