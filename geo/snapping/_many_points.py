"""Many points against a nearest-edge index, in compiled loops: a district's people.

Placing 100,000 population points joins each to its nearest eligible street and to
every eligible street within a slack beyond it (:func:`circle15.geo.snapping.snap.snap_points`),
about 18 joins a point. Through the KD-tree and numpy that is a k-nearest query, a
tree-against-tree pair search and a dozen passes over two million candidate pairs
(3.5 s on the district). Here one compiled loop visits each point once: the ring
search of :mod:`.one_point` finds its nearest piece, the cells around it give the
pieces within the slack, and an edge-indexed slot keeps each edge's nearest piece,
so nothing is sorted but a point's own few joins. :func:`join_ends` then works out
each point's best way to the nodes it joins next to, per point as well.

The answers are those of the numpy path, by the same rules (ties between equally
near pieces: the nearer midpoint, then the lower piece; of an edge's equally near
pieces, the lower; of a node's equally short ways, the first join). Points outside
the grid's box take the numpy path. numba is only worth loading for many points:
:data:`circle15.geo.snapping.snap.MANY_POINTS`.
"""

from __future__ import annotations

import circle15.geo.snapping._numba_cache  # noqa: F401  (numba's cache folder, first)

# isort: split

import math

import numba
import numpy as np
from numpy.typing import NDArray

from circle15.geo.snapping._one_point import grid_of, nearest_piece, to_piece
from circle15.geo.snapping.segment_index import PIECE_M, SegmentIndex

#: points are snapped in blocks of this side (metres), block rows south to north
BLOCK_M = 200.0

@numba.njit(cache=True, nogil=True)
def _grow(a: NDArray, size: int) -> NDArray:
    out = np.empty(size, dtype=a.dtype)
    out[:a.size] = a
    return out


@numba.njit(cache=True, nogil=True)
def _snap(xy: NDArray[np.float64], max_d: float, slack: float, x0: float, y0: float,
          cell: float, nx: int, ny: int, first: NDArray[np.int64], order: NDArray[np.int64],
          start: NDArray[np.float64], vec: NDArray[np.float64], edge_of: NDArray[np.int64],
          n_edges: int, half: float
          ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64],
                     NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                     NDArray[np.float64]]:
    """Each point's nearest piece (piece, distance, fraction) and, with a slack, its
    joins: (point, piece, distance, fraction) per edge within the nearest distance
    plus ``slack``, grouped by point and sorted by edge within it. ``start``, ``vec``
    and ``edge_of`` are the pieces' in the grid's order (:class:`.one_point.PieceGrid`)."""
    n = xy.shape[0]
    near = np.full(n, -1, dtype=np.int64)
    near_d = np.full(n, math.inf)
    near_t = np.zeros(n)
    slot = np.full(n_edges, -1, dtype=np.int64)
    cap = 16 * n + 16
    jp = np.empty(cap, dtype=np.int64)
    jpiece = np.empty(cap, dtype=np.int64)
    jedge = np.empty(cap, dtype=np.int64)
    jd = np.empty(cap)
    jt = np.empty(cap)
    m = 0
    for p in range(n):
        px, py = xy[p, 0], xy[p, 1]
        i, d, t = nearest_piece(px, py, x0, y0, cell, nx, ny, first, order, start, vec, half)
        near[p], near_d[p], near_t[p] = i, d, t
        if i < 0 or not d <= max_d or slack <= 0:
            continue
        radius = d + slack
        reach = radius + half
        gx0 = max(int((px - reach - x0) // cell), 0)
        gx1 = min(int((px + reach - x0) // cell), nx - 1)
        gy0 = max(int((py - reach - y0) // cell), 0)
        gy1 = min(int((py + reach - y0) // cell), ny - 1)
        m0 = m
        for gy in range(gy0, gy1 + 1):
            if gx1 < gx0:
                break
            for j in range(first[gy * nx + gx0], first[gy * nx + gx1 + 1]):
                dq, tq = to_piece(px, py, j, start, vec)
                if not dq <= radius + 1e-9:
                    continue
                e, q = edge_of[j], order[j]
                s = slot[e]
                if s < 0:
                    if m == cap:
                        cap *= 2
                        jp, jpiece = _grow(jp, cap), _grow(jpiece, cap)
                        jd, jt = _grow(jd, cap), _grow(jt, cap)
                        jedge = _grow(jedge, cap)
                    jp[m], jpiece[m], jedge[m], jd[m], jt[m] = p, q, e, dq, tq
                    slot[e] = m
                    m += 1
                elif dq < jd[s] or (dq == jd[s] and q < jpiece[s]):
                    jpiece[s], jd[s], jt[s] = q, dq, tq
        # this point's joins by edge (a few dozen: insertion sort), slots freed
        for a in range(m0, m):
            slot[jedge[a]] = -1
            b = a
            while b > m0 and jedge[b - 1] > jedge[b]:
                jedge[b - 1], jedge[b] = jedge[b], jedge[b - 1]
                jpiece[b - 1], jpiece[b] = jpiece[b], jpiece[b - 1]
                jd[b - 1], jd[b] = jd[b], jd[b - 1]
                jt[b - 1], jt[b] = jt[b], jt[b - 1]
                b -= 1
    return near, near_d, near_t, jp[:m], jpiece[:m], jd[:m], jt[:m]


def snap_many(index: SegmentIndex, xy: NDArray[np.float64], *, max_dist_m: float,
              slack_m: float) -> tuple[tuple[NDArray[np.int64], NDArray[np.float64],
                                             NDArray[np.float64]],
                                       tuple[NDArray[np.int64], NDArray[np.int64],
                                             NDArray[np.float64], NDArray[np.float64]]]:
    """:meth:`SegmentIndex.nearest` for every point, and (``slack_m`` > 0)
    :meth:`SegmentIndex.within` the nearest distance plus ``slack_m`` for the points
    whose nearest edge is within ``max_dist_m``: ``(edge, distance, offset)`` and
    ``(point, edge, distance, offset)``, the joins grouped by point, then by edge.
    The points must be finite."""
    n = xy.shape[0]
    edge = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    along = np.full(n, np.nan)
    none = np.empty(0, dtype=np.int64)
    if index.empty or n == 0:
        return (edge, dist, along), (none, none, np.empty(0), np.empty(0))
    grid = grid_of(index)
    inside = ((xy[:, 0] >= grid.x0) & (xy[:, 0] - grid.x0 < grid.nx * grid.cell)
              & (xy[:, 1] >= grid.y0) & (xy[:, 1] - grid.y0 < grid.ny * grid.cell))
    # points in blocks of nearby ones: the cells they visit stay in the cache (twice
    # as fast as the file's order); the joins are put back in the points' order after
    block = np.floor((xy[inside] - [grid.x0, grid.y0]) / BLOCK_M).astype(np.int64)
    rows = np.flatnonzero(inside)[np.lexsort((block[:, 0], block[:, 1]))]
    near, near_d, near_t, jp, jpiece, jd, jt = _snap(
        np.ascontiguousarray(xy[rows]), float(max_dist_m), float(slack_m), grid.x0, grid.y0,
        grid.cell, grid.nx, grid.ny, grid.first, grid.order, grid.start, grid.vec,
        index.edge[grid.order], int(index.edge_geom_length.size), PIECE_M / 2)
    found = near >= 0
    edge[rows[found]] = index.edge[near[found]]
    dist[rows[found]] = near_d[found]
    along[rows[found]] = index.offset[near[found]] + near_t[found] * index.length[near[found]]
    back = _in_point_order(jp, rows)
    point, jpiece, jd, jt = rows[jp[back]], jpiece[back], jd[back], jt[back]
    join_edge = index.edge[jpiece]
    join_along = index.offset[jpiece] + jt * index.length[jpiece]
    out = np.flatnonzero(~inside)
    if out.size:  # far outside the streets: the tree's way
        e_o, d_o, a_o = index.nearest(xy[out])
        edge[out], dist[out], along[out] = e_o, d_o, a_o
        if slack_m > 0:
            radius = np.where(d_o <= max_dist_m, d_o + slack_m, np.inf)
            op, oe, od, oa = index.within(xy[out], radius)
            order = np.argsort(np.concatenate([point, out[op]]), kind="stable")
            point = np.concatenate([point, out[op]])[order]
            join_edge = np.concatenate([join_edge, oe])[order]
            jd = np.concatenate([jd, od])[order]
            join_along = np.concatenate([join_along, oa])[order]
    return (edge, dist, along), (point, join_edge, jd, join_along)


def _in_point_order(jp: NDArray[np.int64], rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """The order that puts joins grouped by position ``jp`` in ``rows`` into groups by
    the points ``rows`` name, each group's joins kept in their order."""
    counts = np.bincount(jp, minlength=rows.size)
    first = np.cumsum(counts) - counts
    by_point = np.argsort(rows, kind="stable")
    n = counts[by_point]
    return np.repeat(first[by_point] - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))


@numba.njit(cache=True, nogil=True)
def _ends(point: NDArray[np.int64], u: NDArray[np.int64], v: NDArray[np.int64],
          to_u: NDArray[np.float64], to_v: NDArray[np.float64]
          ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                     NDArray[np.int64]]:
    """Per point (joins grouped by point), per node it joins next to, the shortest
    way: point, node, metres, join row; sorted by node, ties to the first join."""
    n = point.size
    e_point = np.empty(2 * n, dtype=np.int64)
    e_node = np.empty(2 * n, dtype=np.int64)
    e_extra = np.empty(2 * n)
    e_join = np.empty(2 * n, dtype=np.int64)
    m = 0
    a = 0
    while a < n:
        b = a
        while b < n and point[b] == point[a]:
            b += 1
        # both ends of joins a..b-1 in join order, insertion-sorted by node (stable)
        m0 = m
        for r in range(a, b):
            for side in range(2):
                node = u[r] if side == 0 else v[r]
                e_point[m], e_node[m], e_join[m] = point[r], node, r
                e_extra[m] = to_u[r] if side == 0 else to_v[r]
                c = m
                while c > m0 and e_node[c - 1] > e_node[c]:
                    e_node[c - 1], e_node[c] = e_node[c], e_node[c - 1]
                    e_extra[c - 1], e_extra[c] = e_extra[c], e_extra[c - 1]
                    e_join[c - 1], e_join[c] = e_join[c], e_join[c - 1]
                    c -= 1
                m += 1
        # each node's shortest way, the first of equals; kept entries packed at m0..
        k = m0
        c = m0
        while c < m:
            best = c
            d = c + 1
            while d < m and e_node[d] == e_node[c]:
                if e_extra[d] < e_extra[best]:
                    best = d
                d += 1
            e_node[k], e_extra[k], e_join[k] = e_node[best], e_extra[best], e_join[best]
            k += 1
            c = d
        m = k
        a = b
    return e_point[:m], e_node[:m], e_extra[:m], e_join[:m]


def join_ends(point: NDArray[np.int64], u: NDArray[np.int64], v: NDArray[np.int64],
              off_m: NDArray[np.float64], to_u_m: NDArray[np.float64],
              to_v_m: NDArray[np.float64]
              ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                         NDArray[np.int64]]:
    """:meth:`circle15.geo.snapping.snap.Joins.ends` of joins grouped by point: point, node,
    metres (off the network and along the edge) and join row."""
    return _ends(point, u, v, off_m + to_u_m, off_m + to_v_m)


def compile_loops() -> float:
    """Every compiled loop of the package compiled, or loaded from numba's cache, on a
    toy of two streets; the seconds it took. ``make`` runs this after installing, so
    that a district's first run or a service's first start does not wait for the
    compiler (about 15 s, once)."""
    import time

    import shapely

    from circle15.geo.snapping._one_point import prepare, route_xy

    t0 = time.perf_counter()
    index = SegmentIndex.build(np.array([shapely.LineString([(0, 0), (100, 0)]),
                                         shapely.LineString([(0, 10), (0, 90)])], dtype=object))
    prepare(index)
    _, (point, edge, dist, _) = snap_many(index, np.array([[5.0, 5.0], [50.0, 3.0]]),
                                          max_dist_m=50.0, slack_m=50.0)
    join_ends(point, edge, edge + 1, dist, dist, dist)
    xy = np.array([[0.0, 0.0], [100.0, 0.0]])
    route_xy(0.0, 1.0, 0, 2.0, -1, np.zeros(0, dtype=np.int64), -1, 50.0, 50.0, 1.0, xy,
             np.array([0, 2], dtype=np.int64), np.array([0.0, 100.0]), np.array([100.0]),
             np.array([0], dtype=np.int64), xy)
    return time.perf_counter() - t0

