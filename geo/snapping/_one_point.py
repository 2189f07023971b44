"""One point against a nearest-edge index, in compiled loops: the courier's question.

``/nearest`` joins one position to the streets per request. Through the KD-tree and
numpy that is two tree queries and a dozen array calls on a few dozen pieces, and
the calls' own cost (a few microseconds each) is most of the time. Here the pieces'
midpoints sit in a uniform grid, and numba-compiled loops visit the cells around
the point: the same edges, distances and offsets as :meth:`SegmentIndex.nearest`
and :meth:`SegmentIndex.within`, by the same rules (ties between equally near
pieces go to the nearer midpoint, then to the lower piece).

The rest of the question runs here too, for the same reason: merging the node
table's candidates (:func:`merge_table`, the loops of ``nearest_table.merged``)
and drawing the route (:func:`route_xy`, the pieces ``edge_pieces.along_edge``
cuts, bit for bit).

numba is imported here and by :mod:`.many_points` only: batch work loads it just
to place many points at once (a district's people), where it pays for itself. The
loops compile once and are cached on disk beside this file.
"""

from __future__ import annotations

import circle15.geo.snapping._numba_cache  # noqa: F401  (numba's cache folder, first)

# isort: split

import math
import weakref
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from circle15.geo.snapping.segment_index import PIECE_M, SegmentIndex

#: grid cell side (metres) over the piece midpoints: about one piece
CELL_M = 50.0
#: at most this many cells (a larger area gets larger cells)
MAX_CELLS = 4_000_000


@dataclass(frozen=True)
class PieceGrid:
    """The pieces of a :class:`SegmentIndex` bucketed by the grid cell of their
    midpoint: cell ``c`` holds pieces ``order[first[c]:first[c + 1]]``, and ``start``
    and ``vec`` are the pieces' in that order, so a cell's pieces are read from
    contiguous memory (a piece at a time through ``order`` is a cache miss each)."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    first: NDArray[np.int64]
    order: NDArray[np.int64]
    start: NDArray[np.float64]
    vec: NDArray[np.float64]

    @classmethod
    def build(cls, index: SegmentIndex) -> PieceGrid:
        mid = index.start + index.vec / 2
        lo, hi = mid.min(axis=0), mid.max(axis=0)
        span = np.maximum(hi - lo, 1.0)
        cell = max(CELL_M, math.sqrt(float(span[0] * span[1]) / MAX_CELLS))
        nx, ny = int(span[0] // cell) + 1, int(span[1] // cell) + 1
        ix = np.minimum(((mid[:, 0] - lo[0]) // cell).astype(np.int64), nx - 1)
        iy = np.minimum(((mid[:, 1] - lo[1]) // cell).astype(np.int64), ny - 1)
        key = iy * nx + ix
        order = np.argsort(key, kind="stable").astype(np.int64)
        first = np.zeros(nx * ny + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=nx * ny), out=first[1:])
        return cls(float(lo[0]), float(lo[1]), float(cell), nx, ny, first, order,
                   np.ascontiguousarray(index.start[order]), np.ascontiguousarray(index.vec[order]))

    def covers(self, x: float, y: float) -> bool:
        """Whether (x, y) lies in the grid's box (elsewhere: the tree's way)."""
        return (0.0 <= x - self.x0 < self.nx * self.cell
                and 0.0 <= y - self.y0 < self.ny * self.cell)


_GRIDS: dict[int, PieceGrid] = {}


def grid_of(index: SegmentIndex) -> PieceGrid:
    """The grid of ``index``, built once and dropped with the index."""
    grid = _GRIDS.get(id(index))
    if grid is None:
        grid = _GRIDS[id(index)] = PieceGrid.build(index)
        weakref.finalize(index, _GRIDS.pop, id(index), None)
    return grid


@numba.njit(cache=True, nogil=True)
def to_piece(px: float, py: float, i: int, start: NDArray[np.float64],
              vec: NDArray[np.float64]) -> tuple[float, float]:
    """Distance from (px, py) to the piece at ``i`` of ``start`` and ``vec`` and the
    fraction along it of the nearest position (the arithmetic of SegmentIndex's array
    version, term by term)."""
    rx, ry = px - start[i, 0], py - start[i, 1]
    vx, vy = vec[i, 0], vec[i, 1]
    len2 = vx * vx + vy * vy
    t = (rx * vx + ry * vy) / len2 if len2 > 0 else 0.0
    t = min(max(t, 0.0), 1.0)
    return math.hypot(rx - t * vx, ry - t * vy), t


@numba.njit(cache=True, nogil=True)
def nearest_piece(px: float, py: float, x0: float, y0: float, cell: float, nx: int, ny: int,
             first: NDArray[np.int64], order: NDArray[np.int64], start: NDArray[np.float64],
             vec: NDArray[np.float64], half: float) -> tuple[int, float, float]:
    """The nearest piece to a point inside the grid: piece, distance, fraction
    (``start`` and ``vec`` in the grid's order, :class:`PieceGrid`)."""
    cx, cy = int((px - x0) // cell), int((py - y0) // cell)
    best, best_d, best_m, best_t = -1, math.inf, math.inf, 0.0
    last = max(cx, nx - 1 - cx, cy, ny - 1 - cy)
    r = 0
    while r <= last:
        # a midpoint in ring r is more than (r - 1) cells away, its piece at least
        # that less half a piece
        if best >= 0 and (r - 1) * cell - half > best_d:
            break
        for gy in range(max(cy - r, 0), min(cy + r, ny - 1) + 1):
            edge_row = gy == cy - r or gy == cy + r
            step = 1 if edge_row else 2 * r
            gx = cx - r
            while gx <= cx + r:
                if 0 <= gx < nx:
                    c = gy * nx + gx
                    for j in range(first[c], first[c + 1]):
                        d, t = to_piece(px, py, j, start, vec)
                        if d <= best_d:
                            i = order[j]
                            m = math.hypot(start[j, 0] + vec[j, 0] / 2 - px,
                                           start[j, 1] + vec[j, 1] / 2 - py)
                            if d < best_d or m < best_m or (m == best_m and i < best):
                                best, best_d, best_m, best_t = i, d, m, t
                if r == 0:
                    break
                gx += step
        r += 1
    return best, best_d, best_t


@numba.njit(cache=True, nogil=True)
def _within(px: float, py: float, radius: float, x0: float, y0: float, cell: float, nx: int,
            ny: int, first: NDArray[np.int64], order: NDArray[np.int64],
            start: NDArray[np.float64], vec: NDArray[np.float64], edge_of: NDArray[np.int64],
            half: float) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Every piece within ``radius``, then per edge its nearest piece (the lower piece
    among equals), sorted by edge: pieces, distances, fractions (``start`` and ``vec``
    in the grid's order)."""
    reach = radius + half
    gx0 = max(int((px - reach - x0) // cell), 0)
    gx1 = min(int((px + reach - x0) // cell), nx - 1)
    gy0 = max(int((py - reach - y0) // cell), 0)
    gy1 = min(int((py + reach - y0) // cell), ny - 1)
    n = 0
    for gy in range(gy0, gy1 + 1):
        n += first[gy * nx + gx1 + 1] - first[gy * nx + gx0] if gx1 >= gx0 else 0
    piece = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    frac = np.empty(n)
    k = 0
    for gy in range(gy0, gy1 + 1):
        if gx1 < gx0:
            break
        for j in range(first[gy * nx + gx0], first[gy * nx + gx1 + 1]):
            d, t = to_piece(px, py, j, start, vec)
            if d <= radius + 1e-9:
                piece[k], dist[k], frac[k] = order[j], d, t
                k += 1
    piece, dist, frac = piece[:k], dist[:k], frac[:k]
    edge = edge_of[piece]
    by_edge = np.argsort(edge, kind="mergesort")
    keep = np.empty(k, dtype=np.int64)
    m = 0
    a = 0
    while a < k:
        b = a
        pick = by_edge[a]
        while b < k and edge[by_edge[b]] == edge[by_edge[a]]:
            o = by_edge[b]
            if dist[o] < dist[pick] or (dist[o] == dist[pick] and piece[o] < piece[pick]):
                pick = o
            b += 1
        keep[m] = pick
        m += 1
        a = b
    keep = keep[:m]
    return piece[keep], dist[keep], frac[keep]


def nearest_one(index: SegmentIndex, x: float, y: float) -> tuple[int, float, float]:
    """The nearest edge to (x, y), its distance and the geometric offset of the
    nearest position along it (edge -1 and distance inf for an empty index)."""
    if index.empty:
        return -1, math.inf, math.nan
    grid = grid_of(index)
    if not grid.covers(x, y):  # far outside the streets: the tree's way
        return index.nearest_one(x, y)
    i, d, t = nearest_piece(x, y, grid.x0, grid.y0, grid.cell, grid.nx, grid.ny, grid.first,
                       grid.order, grid.start, grid.vec, PIECE_M / 2)
    return int(index.edge[i]), d, float(index.offset[i] + t * index.length[i])


def within_one(index: SegmentIndex, x: float, y: float, radius: float
               ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Every edge within ``radius`` of (x, y), sorted by edge: its distance and the
    geometric offset of its nearest position."""
    if index.empty:
        return np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
    grid = grid_of(index)
    piece, dist, frac = _within(x, y, radius, grid.x0, grid.y0, grid.cell, grid.nx, grid.ny,
                                grid.first, grid.order, grid.start, grid.vec, index.edge,
                                PIECE_M / 2)
    return index.edge[piece], dist, index.offset[piece] + frac * index.length[piece]


@numba.njit(cache=True, nogil=True)
def _offer(s: int, total: float, met: int, state: NDArray[np.int64],
           best_total: NDArray[np.float64], n_found: int) -> tuple[bool, int]:
    """One way to station ``s``: whether it is the station's best so far (shorter, or
    as short and met first), and the number of stations met. ``state`` rows: seen,
    the best way's order met, the first order met, the order stations were met."""
    if not state[0, s]:
        state[0, s] = 1
        state[2, s] = met
        state[3, n_found] = s
        return True, n_found + 1
    state[2, s] = min(state[2, s], met)
    return total < best_total[s] or (total == best_total[s] and met < state[1, s]), n_found


@numba.njit(cache=True, nogil=True)
def merge_table(qu: NDArray[np.int64], qv: NDArray[np.int64], to_u: NDArray[np.float64],
                to_v: NDArray[np.float64], off: NDArray[np.float64], one: NDArray[np.bool_],
                indptr: NDArray[np.int64], station: NDArray[np.int32],
                dist_m: NDArray[np.float64], min_leg_m: float, n_st: int,
                x_st: NDArray[np.int64], x_total: NDArray[np.float64],
                x_met: NDArray[np.int64], x_row: NDArray[np.int64],
                x_st_row: NDArray[np.int64]
                ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64],
                           NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The loops of :func:`circle15.geo.courier.table.merged`: each station's shortest
    way (the first met among equals) over the node table's blocks at the join rows'
    ends, then the stations on the joined streets (``x_*``); nearest first, then in
    the order first met. Returns station, metres, join row, end node, the station's
    join row (-1: by the network) and the table entry (-1: along the street)."""
    state = np.zeros((4, n_st), dtype=np.int64)
    best_total = np.full(n_st, math.inf)
    best = np.zeros((4, n_st), dtype=np.int64)  # join row, end node, station row, entry
    n_found = 0
    block = np.int64(2) ** 32
    for r in range(qu.size):
        for side in range(2):
            if side == 0 and one[r]:  # riding: a one-way street is left at its head
                continue
            node = qu[r] if side == 0 else qv[r]
            base = max(off[r] + (to_u[r] if side == 0 else to_v[r]), min_leg_m)
            lo = indptr[node]
            for p in range(lo, indptr[node + 1]):
                s = station[p]
                total = base + dist_m[p]
                met = (r * 3 + side) * block + (p - lo)
                better, n_found = _offer(s, total, met, state, best_total, n_found)
                if better:
                    best_total[s], state[1, s] = total, met
                    best[0, s], best[1, s], best[2, s], best[3, s] = r, node, -1, p
    for j in range(x_st.size):
        s = x_st[j]
        better, n_found = _offer(s, x_total[j], x_met[j], state, best_total, n_found)
        if better:
            best_total[s], state[1, s] = x_total[j], x_met[j]
            best[0, s], best[1, s], best[2, s], best[3, s] = x_row[j], -1, x_st_row[j], -1
    st = state[3, :n_found]
    # nearest first, then first met: a stable sort by the second key, then the first
    st = st[np.argsort(state[2][st], kind="mergesort")]
    st = st[np.argsort(best_total[st], kind="mergesort")]
    return st, best_total[st], best[0][st], best[1][st], best[2][st], best[3][st]


def prepare(*indexes: SegmentIndex) -> None:
    """The grids of ``indexes`` made and the compiled loops loaded now (a service does
    this before it forks its workers, which then share them)."""
    for index in indexes:
        if not index.empty:
            grid = grid_of(index)
            x, y = (float(v) for v in index.start[0])
            nearest_one(index, x + grid.cell / 3, y)
            within_one(index, x, y, PIECE_M)
    none, no_st = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
    merge_table(none, none, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool),
                np.zeros(1, dtype=np.int64), no_st, np.zeros(0), 0.0, 0, none, np.zeros(0),
                none, none, none)


@numba.njit(cache=True, nogil=True)
def _interp(x: float, xp: NDArray[np.float64], fp: NDArray[np.float64]) -> float:
    """``np.interp`` at one point, by numpy's own rule (so the same bits)."""
    n = xp.size
    if x >= xp[n - 1]:
        return fp[n - 1]
    if x < xp[0]:
        return fp[0]
    j = 0
    while j + 1 < n and xp[j + 1] <= x:
        j += 1
    if x == xp[j]:
        return fp[j]
    slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
    out = slope * (x - xp[j]) + fp[j]
    if math.isnan(out):
        out = slope * (x - xp[j + 1]) + fp[j + 1]
        if math.isnan(out) and fp[j] == fp[j + 1]:
            out = fp[j]
    return out


@numba.njit(cache=True, nogil=True)
def _along(out: NDArray[np.float64], k: int, e: int, from_m: float, to_m: float,
           xy: NDArray[np.float64], ptr: NDArray[np.int64], cum: NDArray[np.float64],
           length_m: NDArray[np.float64]) -> int:
    """:func:`circle15.geo.snapping.edge_pieces.along_edge` written into ``out`` from row ``k``;
    returns the next free row."""
    p0, p1 = ptr[e], ptr[e + 1]
    length = length_m[e]
    if length <= 0:
        out[k, 0], out[k, 1] = xy[p0, 0], xy[p0, 1]
        return k + 1
    c = cum[p0:p1]
    a = min(max(from_m / length, 0.0), 1.0)
    b = min(max(to_m / length, 0.0), 1.0)
    lo, hi = min(a, b) * c[-1], max(a, b) * c[-1]
    lo_x, lo_y = _interp(lo, c, xy[p0:p1, 0]), _interp(lo, c, xy[p0:p1, 1])
    if a == b:
        out[k, 0], out[k, 1] = lo_x, lo_y
        return k + 1
    hi_x, hi_y = _interp(hi, c, xy[p0:p1, 0]), _interp(hi, c, xy[p0:p1, 1])
    first = k
    out[k, 0], out[k, 1] = lo_x, lo_y
    k += 1
    for j in range(p1 - p0 - 1):
        if lo < c[j] < hi:
            out[k, 0], out[k, 1] = xy[p0 + j, 0], xy[p0 + j, 1]
            k += 1
    out[k, 0], out[k, 1] = hi_x, hi_y
    k += 1
    if a > b:  # walked from v's side
        out[first:k] = out[first:k][::-1].copy()
    return k


@numba.njit(cache=True, nogil=True)
def route_xy(sx: float, sy: float, e1: int, along1: float, end: int, nodes: NDArray[np.int64],
             e2: int, st_along: float, tx: float, ty: float, xy: NDArray[np.float64],
             ptr: NDArray[np.int64], cum: NDArray[np.float64], length_m: NDArray[np.float64],
             edge_u: NDArray[np.int64], node_xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """A courier's way as drawn: from (sx, sy) onto edge ``e1`` at ``along1`` metres
    from its ``u``; then either straight along it to the station's join at
    ``st_along`` (``end`` -1: the station is on the same street), or to its end node
    ``end``, through ``nodes``, along the station's street ``e2`` (-1: none) to
    ``st_along``; and off to the station at (tx, ty)."""
    n = 2 + nodes.size + (ptr[e1 + 1] - ptr[e1] + 1)
    if e2 >= 0:
        n += ptr[e2 + 1] - ptr[e2] + 1
    out = np.empty((n, 2))
    out[0, 0], out[0, 1] = sx, sy
    # to the station's join on the same street, or to the end node taken
    to1 = st_along if end < 0 else (0.0 if end == edge_u[e1] else length_m[e1])
    k = _along(out, 1, e1, along1, to1, xy, ptr, cum, length_m)
    for node in nodes:
        out[k, 0], out[k, 1] = node_xy[node, 0], node_xy[node, 1]
        k += 1
    if e2 >= 0:
        last = nodes[nodes.size - 1] if nodes.size else end
        from2 = 0.0 if last == edge_u[e2] else length_m[e2]
        k = _along(out, k, e2, from2, st_along, xy, ptr, cum, length_m)
    out[k, 0], out[k, 1] = tx, ty
    return out[:k + 1]
