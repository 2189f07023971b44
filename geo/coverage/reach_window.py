"""Bounded searches on a window of the network around each batch of sources.

A search bounded by ``limit`` metres never leaves the disc of that radius
around where it starts: every edge is at least as long as the straight line
between its ends (the network's ``stretch``, checked once, says by how much at
worst), so a node farther than the limit in a straight line cannot be within
the limit along the streets, and neither can any node on a path to it. The
searches of nearby sources are therefore run together on the sub-graph of the
nodes inside their windows: the same distances and predecessors as on the
whole graph, for a few thousand nodes per source instead of the whole district.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.network.graph import Network
from circle15.geo.snapping.snap import JoinEnds

#: slack added to every window radius (metres), over rounding in lengths
_SLACK_M = 5.0
#: at most this many sources searched together
_MAX_BATCH = 128


@dataclass(frozen=True)
class Window:
    """One batch of sources and the sub-graph its searches need.

    ``index`` maps the sub-graph's nodes to the full graph's: first the network
    nodes of the window (ascending), then the batch's sources, then the sinks
    (targets) those nodes lead to.
    """

    sources: NDArray[np.int64]
    index: NDArray[np.int64]
    graph: sp.csr_matrix
    n_net: int

    @property
    def starts(self) -> NDArray[np.int64]:
        """The sub-graph rows of the batch's sources."""
        return self.n_net + np.arange(self.sources.size)


def stretch(net: Network) -> float:
    """The least ratio of an edge's length to the straight line between its ends
    (at most 1): distances along the streets are at least this share of the
    straight-line distance. Kept with the network."""
    cached = net.__dict__.get("_reach_stretch")
    if cached is not None:
        return float(cached)
    chord = np.hypot(*(net.node_xy[net.edge_u] - net.node_xy[net.edge_v]).T)
    long = chord > 1.0
    ratio = net.edge_length_m[long] / chord[long]
    value = float(min(1.0, ratio.min(initial=1.0)))
    net.__dict__["_reach_stretch"] = value
    return value


def _source_boxes(net: Network, ends: JoinEnds, m: int, limit_m: float
                  ) -> NDArray[np.float64]:
    """Per source, the box (x0, y0, x1, y1) holding every node it can reach within
    the limit (NaN for a source that reaches no node)."""
    box = np.full((m, 4), np.nan)
    room = (limit_m - ends.extra_m) / stretch(net) + _SLACK_M
    ok = ends.extra_m <= limit_m
    if not ok.any():
        return box
    p, xy, r = ends.point[ok], net.node_xy[ends.node[ok]], room[ok]
    lo = np.full((m, 2), np.inf)
    hi = np.full((m, 2), -np.inf)
    np.minimum.at(lo, p, xy - r[:, None])
    np.maximum.at(hi, p, xy + r[:, None])
    has = np.isfinite(lo[:, 0])
    box[has] = np.column_stack([lo[has], hi[has]])
    return box


def _batches(box: NDArray[np.float64], cell_m: float, cap: int) -> list[NDArray[np.int64]]:
    """Sources grouped by the grid cell of their box's centre (snake order), at
    most ``cap`` a group; sources without a box are left out."""
    has = np.flatnonzero(np.isfinite(box[:, 0]))
    if has.size == 0:
        return []
    cx = ((box[has, 0] + box[has, 2]) / 2 // cell_m).astype(np.int64)
    cy = ((box[has, 1] + box[has, 3]) / 2 // cell_m).astype(np.int64)
    cx -= cx.min()
    cy -= cy.min()
    snake = np.where(cy % 2 == 0, cx, cx.max() - cx)
    key = cy * (cx.max() + 1) + snake
    order = np.argsort(key, kind="stable")
    key, src = key[order], has[order]
    cut = np.flatnonzero(np.diff(key)) + 1
    out: list[NDArray[np.int64]] = []
    for group in np.split(src, cut):
        out.extend(group[i:i + cap] for i in range(0, group.size, cap))
    return out


def windows(net: Network, graph: sp.csr_matrix, ends: JoinEnds, m: int, limit_m: float,
            *, max_cells: int) -> Iterator[Window]:
    """The batches of the ``m`` sources (rows ``n .. n+m-1`` of ``graph``, their
    ends ``ends``) with the sub-graphs their searches bounded by ``limit_m`` need;
    each batch's dense result (sources × sub-graph nodes) stays under ``max_cells``."""
    n = net.n_nodes
    box = _source_boxes(net, ends, m, limit_m)
    by_x = np.argsort(net.node_xy[:, 0], kind="stable")
    xs = net.node_xy[by_x, 0]
    local = np.full(graph.shape[0], -1, dtype=np.int64)
    for group in _batches(box, 4.0 * limit_m, _MAX_BATCH):
        x0, y0 = np.nanmin(box[group, :2], axis=0)
        x1, y1 = np.nanmax(box[group, 2:], axis=0)
        cand = by_x[np.searchsorted(xs, x0, "left"):np.searchsorted(xs, x1, "right")]
        y = net.node_xy[cand, 1]
        nodes = np.sort(cand[(y >= y0) & (y <= y1)])
        rows = graph[nodes]
        sinks = np.unique(rows.indices[rows.indices >= n + m])
        size = nodes.size + group.size + sinks.size
        step = max(1, max_cells // max(size, 1))
        for i in range(0, group.size, step):
            part = group[i:i + step]
            index = np.concatenate([nodes, n + part, sinks])
            local[index] = np.arange(index.size)
            sub = graph[index]
            cols = local[sub.indices]
            keep = cols >= 0
            row_of = np.repeat(np.arange(index.size), np.diff(sub.indptr))[keep]
            window = sp.csr_matrix((sub.data[keep], (row_of, cols[keep])),
                                   shape=(index.size, index.size))
            local[index] = -1
            yield Window(part, index, window, nodes.size)
