"""Nearest stations without the per-node index: a lookup grid for the offline
courier page, and one bounded search from a position (answers beyond the limit).

A phone cannot carry a district's walking network (16.7 MB at 500 stations),
but it can carry the answers. The area is cut into cells of ``cell_m`` metres
(a regular lon/lat grid, so a page finds its cell with two divisions); every
cell whose centre lies within ``near_m`` of a street keeps, for the point where
its centre joins the network (the same snapping rule as ``/nearest``), every
station within ``reach_m`` and the walk to it. The walks come from the
project's own bounded searches (:func:`circle15.geo.coverage.reach.reach_within`, the
stations' searches with the cells as sinks), so a cell's list is exactly what
:class:`circle15.geo.courier.nearest.NearestIndex` answers at the cell's centre.

A courier anywhere in a cell gets the cell's answer: the time differs from
``/nearest`` at their own position by about the walk across the cell
(:attr:`LookupGrid.tolerance_m`). Off the streets, the page takes the nearest
kept cell and adds the straight walk to its centre.

:meth:`LookupGrid.encode` packs the lists as unsigned LEB128 varints in base64:
cell keys (delta coded), list lengths, station indices, and walks in
``unit_m`` steps (delta coded within a cell, nearest first).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from circle15.geo.coverage.reach import directed_ends, outward_graph, reach_within, same_edge_pairs
from circle15.geo.inputs.stations import Stations
from circle15.geo.network.graph import MIN_LENGTH_M, Network
from circle15.geo.snapping.segment_index import segment_index
from circle15.geo.snapping.snap import DEFAULT_RULE, Snapped, SnapRule, snap_points

#: metres per degree of latitude (spherical; the grid only needs to be regular)
_M_PER_DEG = 111_195.0


@dataclass(frozen=True, eq=False)
class LookupGrid:
    """Per kept cell, the stations within ``reach_m`` nearest first (CSR layout)."""

    lon0: float
    lat0: float
    dlon: float
    dlat: float
    nx: int
    ny: int
    cell_m: float
    limit_m: float
    reach_m: float
    #: sorted keys ``row * nx + col`` of the kept cells
    cells: NDArray[np.int64]
    indptr: NDArray[np.int64]
    station: NDArray[np.int64]
    dist_m: NDArray[np.float64]

    @property
    def tolerance_m(self) -> float:
        """How far a position's walk may differ from its cell's: the cell's diagonal."""
        return float(np.hypot(self.dlon * _M_PER_DEG * np.cos(np.radians(self.lat0 + self.ny
                                                                            * self.dlat / 2)),
                              self.dlat * _M_PER_DEG))

    def cell_of(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
        """Keys of the cells holding (lon, lat) (-1 outside the grid)."""
        col = np.floor((np.asarray(lon) - self.lon0) / self.dlon).astype(np.int64)
        row = np.floor((np.asarray(lat) - self.lat0) / self.dlat).astype(np.int64)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return np.where(inside, row * self.nx + col, -1)

    def centres(self, keys: NDArray[np.int64]) -> NDArray[np.float64]:
        """(k, 2) lon/lat of cell centres."""
        row, col = np.divmod(np.asarray(keys, dtype=np.int64), self.nx)
        return np.column_stack([self.lon0 + (col + 0.5) * self.dlon,
                                self.lat0 + (row + 0.5) * self.dlat])

    def encode(self, unit_m: float = 5.0) -> dict[str, object]:
        """The grid as the page reads it: a small header and one base64 varint stream."""
        d = np.rint(self.dist_m / unit_m).astype(np.int64)
        first = np.zeros(d.size, dtype=bool)
        first[self.indptr[:-1][np.diff(self.indptr) > 0]] = True
        delta = np.where(first, d, d - np.concatenate([[0], d[:-1]]))
        keys = np.diff(np.concatenate([[0], self.cells]))
        stream = np.concatenate([keys, np.diff(self.indptr), self.station, delta])
        return {"lon0": self.lon0, "lat0": self.lat0, "dlon": self.dlon, "dlat": self.dlat,
                "nx": self.nx, "ny": self.ny, "cell_m": self.cell_m, "unit_m": unit_m,
                "cells": int(self.cells.size), "entries": int(self.station.size),
                "data": base64.b64encode(varints(stream)).decode("ascii")}


def varints(values: NDArray[np.int64]) -> bytes:
    """Unsigned LEB128: 7 bits a byte, the high bit set on all but a value's last byte."""
    v = np.asarray(values, dtype=np.int64)
    if v.size and v.min() < 0:
        raise ValueError("varints are unsigned")
    v = v.astype(np.uint64)
    nb = np.ones(v.size, dtype=np.int64)
    for b in range(1, 10):
        nb += v >= np.uint64(1) << np.uint64(7 * b)
    start = np.concatenate([[0], np.cumsum(nb)[:-1]]).astype(np.int64)
    out = np.zeros(int(nb.sum()), dtype=np.uint8)
    for b in range(int(nb.max(initial=1))):
        sel = nb > b
        byte = (v[sel] >> np.uint64(7 * b)) & np.uint64(0x7F)
        more = (nb[sel] > b + 1).astype(np.uint64) << np.uint64(7)
        out[start[sel] + b] = (byte | more).astype(np.uint8)
    return out.tobytes()


def lookup_grid(
    net: Network,
    stations: Stations,
    *,
    limit_m: float,
    reach_m: float,
    cell_m: float = 75.0,
    near_m: float | None = None,
    max_snap_m: float = 500.0,
    rule: SnapRule = DEFAULT_RULE,
) -> LookupGrid:
    """The lookup grid of ``stations`` on ``net``: walks up to ``reach_m`` metres.

    ``near_m`` (default: ``cell_m``) is how close to a street a cell's centre
    must be for the cell to be kept; ``max_snap_m`` and ``rule`` are the
    joining settings of the ``/nearest`` index the grid stands in for.
    """
    if not 5.0 <= cell_m <= 1000.0:
        raise ValueError(f"the cell size must be between 5 and 1000 m, not {cell_m}")
    near = cell_m if near_m is None else near_m
    ll = net.node_lonlat
    lat_mid = float(np.mean([ll[:, 1].min(), ll[:, 1].max()]))
    dlat = cell_m / _M_PER_DEG
    dlon = cell_m / (_M_PER_DEG * np.cos(np.radians(lat_mid)))
    lon0 = float(ll[:, 0].min()) - dlon
    lat0 = float(ll[:, 1].min()) - dlat
    nx = int(np.ceil((ll[:, 0].max() - lon0) / dlon)) + 2
    ny = int(np.ceil((ll[:, 1].max() - lat0) / dlat)) + 2
    grid = LookupGrid(lon0, lat0, dlon, dlat, nx, ny, cell_m, limit_m, reach_m,
                      np.empty(0, np.int64), np.zeros(1, np.int64), np.empty(0, np.int64),
                      np.empty(0))
    # candidate cells: those around the network's nodes and edge midpoints, then
    # only the ones whose centre is near a street
    mids = np.vstack([ll, (ll[net.edge_u] + ll[net.edge_v]) / 2])
    seed = np.unique(grid.cell_of(mids[:, 0], mids[:, 1]))
    ring = int(np.ceil(near / cell_m))
    offs = np.array([dr * nx + dc for dr in range(-ring, ring + 1)
                     for dc in range(-ring, ring + 1)], dtype=np.int64)
    cand = np.unique((seed[:, None] + offs[None, :]).ravel())
    cand = cand[(cand >= 0) & (cand < nx * ny)]
    centre = grid.centres(cand)
    xy = net.project(centre[:, 0], centre[:, 1])
    _, off, _ = segment_index(net).nearest(xy)
    keep = off <= near
    cand, xy = cand[keep], xy[keep]
    snapped = snap_points(net, xy, max_dist_m=max_snap_m, rule=rule)
    ok = snapped.ok
    cand = cand[ok]
    snapped = snapped.take(np.flatnonzero(ok))
    reach, _, _ = reach_within(net, stations.snapped, snapped, limit_m=reach_m)
    order = np.lexsort((reach.source, reach.dist_m, reach.target))
    tgt = reach.target[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tgt, minlength=cand.size))])
    return LookupGrid(lon0, lat0, dlon, dlat, nx, ny, cell_m, limit_m, reach_m, cand,
                      indptr.astype(np.int64), reach.source[order].astype(np.int64),
                      reach.dist_m[order])


_NODE_TREES: WeakKeyDictionary[Network, cKDTree] = WeakKeyDictionary()


def _node_tree(net: Network) -> cKDTree:
    tree = _NODE_TREES.get(net)
    if tree is None:
        tree = _NODE_TREES[net] = cKDTree(net.node_xy)
    return tree


def walks_from(net: Network, at: Snapped, stations: Snapped, reach_m: float, *,
               xy: tuple[float, float]) -> list[tuple[int, float, int, list[int], int]]:
    """Every station within ``reach_m`` of one joined position, nearest first, by one
    bounded search from it (for answers beyond the per-node index's limit).

    ``xy`` is the position (metres, the network's CRS). No walk of ``reach_m``
    from it leaves the disc of that radius around it, so the search runs on
    that part of the network only (a few thousand nodes, not the district's
    314,000). Each item: (station, metres, the position's join row, the nodes
    from the position's side to the station's, empty when they share a street,
    the station's join row). On a riding network the search follows the
    one-way rules (the network in the direction people travel, as in
    :func:`circle15.geo.coverage.reach.outward_graph`).
    """
    sub = np.sort(np.asarray(_node_tree(net).query_ball_point(xy, reach_m * 1.001 + 1.0),
                             dtype=np.int64))
    m = sub.size

    def to_local(nodes: NDArray[np.int64]) -> NDArray[np.int64]:
        """Local indices of global nodes; -1 outside the disc."""
        if m == 0:
            return np.full(nodes.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(sub, nodes), m - 1)
        return np.where(sub[pos] == nodes, pos, -1)

    q_joins = at.all_joins()
    q_ends = directed_ends(net, q_joins, "target")
    if 4 * m > net.n_nodes:  # most of a small network: search all of it
        sub, m = np.arange(net.n_nodes), net.n_nodes
        graph = outward_graph(net, at)  # the position is node m
    else:
        # the disc's part of the network (the people's direction on a riding network),
        # gathered straight from the CSR arrays (scipy's fancy indexing is O(all nodes))
        base = net.ride_csr if net.directed else net.csr
        first = base.indptr[sub]
        counts = base.indptr[sub + 1] - first
        flat = np.repeat(first - np.concatenate([[0], np.cumsum(counts)[:-1]]),
                         counts) + np.arange(int(counts.sum()))
        col = to_local(base.indices[flat].astype(np.int64))
        inside = col >= 0
        per_row = np.bincount(np.repeat(np.arange(m), counts)[inside], minlength=m)
        start = to_local(q_ends.node)
        keep = start >= 0
        graph = sp.csr_matrix(
            (np.concatenate([base.data[flat][inside], np.maximum(q_ends.extra_m[keep],
                                                                   MIN_LENGTH_M)]),
             np.concatenate([col[inside], start[keep]]),
             np.concatenate([[0], np.cumsum(per_row), [per_row.sum() + int(keep.sum())]])),
            shape=(m + 1, m + 1))  # the position is node m
    dist, pred = csgraph.dijkstra(graph, directed=True, indices=m, limit=reach_m,
                                  return_predecessors=True)
    st_joins = stations.all_joins()
    ends = directed_ends(net, st_joins, "source")
    at_end = to_local(ends.node)
    total = np.where(at_end >= 0, dist[np.maximum(at_end, 0)], np.inf) + ends.extra_m
    best: dict[int, tuple[float, int, int]] = {}  # station -> (metres, end node, join row)
    near = np.flatnonzero(total <= reach_m)
    near = near[np.argsort(total[near], kind="stable")]
    for s, metres, node, row in zip(ends.point[near].tolist(), total[near].tolist(),
                                    ends.node[near].tolist(), ends.join[near].tolist(),
                                    strict=True):
        if s not in best:
            best[s] = (metres, node, row)
    _, t, d, row = same_edge_pairs(at, stations, net, outward=True)
    along: dict[int, tuple[float, int]] = {}  # station -> (metres, join row) on a shared street
    for s, metres, st_row in zip(t.tolist(), d.tolist(), row.tolist(), strict=True):
        if metres <= reach_m and metres < min(best.get(s, (np.inf,))[0],
                                              along.get(s, (np.inf,))[0]):
            along[s] = (metres, st_row)
    out = []
    for s, (metres, node, st_row) in best.items():
        if s in along:
            continue
        chain = [int(to_local(np.array([node]))[0])]
        while 0 <= pred[chain[-1]] < m:
            chain.append(int(pred[chain[-1]]))
        nodes = sub[chain[::-1]].tolist()
        first = np.flatnonzero(q_ends.node == nodes[0])
        q_row = int(q_ends.join[first[np.argmin(q_ends.extra_m[first])]])
        out.append((s, metres, q_row, nodes, st_row))
    for s, (metres, st_row) in along.items():
        edge = int(st_joins.edge[st_row])
        out.append((s, metres, int(np.flatnonzero(q_joins.edge == edge)[0]), [], st_row))
    return sorted(out, key=lambda x: x[1])
