"""Isochrone polygons for display: the streets reached, widened a little.

An isochrone follows the network exactly: every point of an edge within the
walking limit (edges reached in full, the reached part of edges reached only
partly, from either end or along a station's own edge), widened by an
off-network walking margin. Blocks that nobody can walk into stay holes.

How, without geometric unions: every edge is sampled once per network (each
vertex, and points at most half a grid cell apart, cached with the network).
For one group (a station, or all stations together), the walking distance of
each sample is the best over the edge's two ends and the station's own edge;
the samples are marked on a grid (the least distance in each cell), widened by
a disk of the margin (a running minimum along the rows, then the rows
combined), and the cells within each band's limit are outlined by marching
squares (contourpy). One pass per group serves all its bands, and the union
of all stations in a band is the same pass over the nearest-station
distances. A polygon is within about a cell's diagonal of the exact widening
of the reached streets (tests compare it with the GEOS unions it replaced).

Coverage numbers never come from these polygons; see :mod:`geo.coverage`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import contourpy
import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray

from circle15.geo.coverage.count import Coverage
from circle15.geo.network.graph import Network
from circle15.geo.snapping.snap import Snapped

#: default widening of the reached streets, metres (a walk off the street)
MARGIN_M = 50.0
#: default simplification of the polygons, metres
SIMPLIFY_M = 8.0
#: default grid cell, metres, of the station polygons (within about a cell's
#: diagonal of exact)
GRID_M = 10.0
#: default grid cell of the union bands, drawn for the whole area at district zoom
UNION_GRID_M = 20.0


@dataclass(frozen=True)
class EdgeSamples:
    """Points along every edge: each vertex, and no two more than ``step_m`` apart.

    Samples of edge ``e`` are ``ptr[e]:ptr[e + 1]``, in order from its ``u`` end;
    ``frac`` is the position as a share of the edge's geometric length.
    """

    xy: NDArray[np.float64]
    frac: NDArray[np.float64]
    ptr: NDArray[np.int64]
    step_m: float

    @classmethod
    def build(cls, net: Network, step_m: float) -> EdgeSamples:
        coords, idx = net.edge_lines.coords, net.edge_lines.line_of_coord
        n_e = net.n_edges
        same = idx[1:] == idx[:-1]
        a, b, seg_e = coords[:-1][same], coords[1:][same], idx[:-1][same]
        seg_len = np.hypot(*(b - a).T)
        cum = np.cumsum(seg_len)
        first = np.ones(seg_e.size, dtype=bool)
        first[1:] = seg_e[1:] != seg_e[:-1]
        base = np.maximum.accumulate(np.where(first, cum - seg_len, 0.0))
        seg_off = cum - seg_len - base
        geom_len = np.bincount(seg_e, weights=seg_len, minlength=n_e)
        n_k = np.maximum(1, np.ceil(seg_len / step_m)).astype(np.int64)
        seg_of = np.repeat(np.arange(seg_e.size), n_k)
        f = (np.arange(seg_of.size) - np.repeat(np.cumsum(n_k) - n_k, n_k)) / n_k[seg_of]
        xy = a[seg_of] + f[:, None] * (b - a)[seg_of]
        along = seg_off[seg_of] + f * seg_len[seg_of]
        # and each edge's last vertex
        last = np.flatnonzero(np.append(idx[1:] != idx[:-1], True))
        e_all = np.concatenate([seg_e[seg_of], idx[last]])
        order = np.argsort(e_all, kind="stable")
        along_all = np.concatenate([along, geom_len[idx[last]]])[order]
        e_all = e_all[order]
        glen = geom_len[e_all]
        frac = np.divide(along_all, glen, out=np.zeros(e_all.size), where=glen > 0)
        xy_all = np.concatenate([xy, coords[last]])[order]
        ptr = np.searchsorted(e_all, np.arange(n_e + 1))
        return cls(xy_all, np.clip(frac, 0.0, 1.0), ptr, step_m)


_SAMPLES: weakref.WeakKeyDictionary[Network, dict[float, EdgeSamples]] = (
    weakref.WeakKeyDictionary())
_LOCK = threading.Lock()


def edge_samples(net: Network, step_m: float) -> EdgeSamples:
    """The samples of ``net`` at ``step_m``, built once per network and kept with it."""
    with _LOCK:
        per_net = _SAMPLES.setdefault(net, {})
        if step_m not in per_net:
            per_net[step_m] = EdgeSamples.build(net, step_m)
        return per_net[step_m]


def _expand(ptr: NDArray[np.int64], edge: NDArray[np.int64]
            ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(row, sample) for every sample of every listed edge."""
    cnt = ptr[edge + 1] - ptr[edge]
    rows = np.repeat(np.arange(edge.size), cnt)
    sample = np.arange(rows.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + ptr[edge][rows]
    return rows, sample


def reached_samples(
    net: Network,
    samples: EdgeSamples,
    group: NDArray[np.int64],
    edge: NDArray[np.int64],
    d_u: NDArray[np.float64],
    d_v: NDArray[np.float64],
    limit_m: float,
    sources: Snapped,
    source_group: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """(group, sample, metres) for every edge sample a group reaches within ``limit_m``.

    ``(group, edge, d_u, d_v)`` rows give the walking distance of a group (one
    station, or all stations together) to each end of an edge it reaches;
    ``sources`` add the stretch of the edges they join that they walk directly.
    """
    rows, s = _expand(samples.ptr, edge)
    length = net.edge_length_m[edge][rows]
    at = samples.frac[s] * length
    d = np.minimum(d_u[rows] + at, d_v[rows] + length - at)
    if net.directed:  # a one-way edge is left only at its v end (riding)
        assert net.edge_oneway is not None
        d = np.where(net.edge_oneway[edge][rows], d_v[rows] + length - at, d)
    ok = d <= limit_m
    g_parts, s_parts, d_parts = [group[rows[ok]]], [s[ok]], [d[ok]]
    joins = sources.all_joins()
    own = joins.off_m < limit_m
    j_edge = joins.edge[own]
    rows, s = _expand(samples.ptr, j_edge)
    at = samples.frac[s] * net.edge_length_m[j_edge][rows]
    ahead = joins.along_m[own][rows] - at
    d = joins.off_m[own][rows] + np.abs(ahead)
    if net.directed:  # on a one-way edge only riders behind the station reach it along it
        assert net.edge_oneway is not None
        d = np.where(net.edge_oneway[j_edge][rows] & (ahead < 0), np.inf, d)
    ok = d <= limit_m
    g_parts.append(source_group[joins.point[own]][rows[ok]])
    s_parts.append(s[ok])
    d_parts.append(d[ok])
    return np.concatenate(g_parts), np.concatenate(s_parts), np.concatenate(d_parts)


def _disk_min(field: NDArray[np.float32], radius_cells: float) -> NDArray[np.float32]:
    """Least value within ``radius_cells`` (cell centre to cell centre) of each cell.

    ``field`` must be inf within ``radius_cells`` of its border. Rows first (the
    least over 2w + 1 cells, for each half-width w the disk needs), then the rows
    combined; all in whole-array passes.
    """
    r = int(np.floor(radius_cells))
    half = [int(np.floor(np.sqrt(max(radius_cells**2 - dy * dy, 0.0)))) for dy in range(r + 1)]
    out = np.full_like(field, np.inf)
    run = field.copy()
    for w in range(max(half) + 1):
        if w:
            np.minimum(run[:, w:], field[:, :-w], out=run[:, w:])
            np.minimum(run[:, :-w], field[:, w:], out=run[:, :-w])
        for dy in (dy for dy in range(r + 1) if half[dy] == w):
            if dy == 0:
                np.minimum(out, run, out=out)
                continue
            np.minimum(out[dy:], run[:-dy], out=out[dy:])
            np.minimum(out[:-dy], run[dy:], out=out[:-dy])
    return out


def _outline(inside: NDArray[np.bool_], x0: float, y0: float, cell_m: float
             ) -> shapely.Geometry:
    """The cells of ``inside`` (cell (0, 0) centred on ``(x0, y0)``) as one
    (multi)polygon, outlined by marching squares half-way between cell centres."""
    gen = contourpy.contour_generator(z=inside.astype(np.float64), name="serial",
                                      fill_type=contourpy.FillType.ChunkCombinedOffsetOffset)
    # ChunkCombinedOffsetOffset: points, ring offsets, polygon offsets (one chunk)
    pts, offsets, outer = cast(Any, gen.filled(0.5, 2.0))
    if pts[0] is None:
        return shapely.Polygon()
    xy = pts[0] * cell_m + np.array([x0, y0])
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy,
                                      (offsets[0], outer[0]))
    return polys[0] if polys.size == 1 else shapely.multipolygons(polys)


def _band_polygons(cells: NDArray[np.int64], dist: NDArray[np.float64],
                   limits: Sequence[float], origin: NDArray[np.float64], *,
                   margin_m: float, cell_m: float) -> list[shapely.Geometry]:
    """For one group's reached samples (grid cells and walking metres), the
    polygon of each limit: the cells within ``margin_m`` of a sample reached
    within that limit."""
    if dist.size == 0:
        return [shapely.Polygon() for _ in limits]
    # a marked cell's centre lies on average about a third of a cell from the
    # street it marks, so disks about centres overreach by that much (measured
    # against exact widenings: areas agree within 1 % with this correction)
    radius = max(margin_m / cell_m - 0.3, 0.0)
    pad = int(np.ceil(radius)) + 2
    lo = cells.min(axis=0) - pad
    shape = cells.max(axis=0) - lo + pad + 1
    field = np.full(int(shape[1]) * int(shape[0]), np.inf, dtype=np.float32)
    local = cells - lo
    np.minimum.at(field, local[:, 1] * shape[0] + local[:, 0], dist.astype(np.float32))
    near = _disk_min(field.reshape(int(shape[1]), int(shape[0])), radius)
    x0, y0 = origin + (lo + 0.5) * cell_m
    return [_outline(near <= np.float32(lim), x0, y0, cell_m) for lim in limits]


def _simplify(geoms: NDArray[np.object_], tolerance: float) -> NDArray[np.object_]:
    """Douglas-Peucker without the (much slower) topology checks; the rare polygon
    that comes out invalid is simplified again with them."""
    out = shapely.simplify(geoms, tolerance, preserve_topology=False)
    bad = ~shapely.is_valid(out) | (shapely.is_empty(out) & ~shapely.is_empty(geoms))
    if bad.any():
        out[bad] = shapely.simplify(geoms[bad], tolerance)
    return np.asarray(out, dtype=object)


def _edge_ends(net: Network, group: NDArray[np.int64], node: NDArray[np.int64],
               dist: NDArray[np.float64], n_groups: int
               ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                          NDArray[np.float64]]:
    """(group, edge, d_u, d_v) for every edge with a reached end."""
    # +1 keeps zero distances as stored entries
    S = sp.csc_matrix((dist + 1.0, (group, node)), shape=(n_groups, net.n_nodes))
    U = S[:, net.edge_u].tocoo()
    V = S[:, net.edge_v].tocoo()
    n_e = net.n_edges
    key = np.concatenate([U.row.astype(np.int64) * n_e + U.col, V.row.astype(np.int64) * n_e
                          + V.col])
    uniq, inv = np.unique(key, return_inverse=True)
    d_u = np.full(uniq.size, np.inf)
    d_v = np.full(uniq.size, np.inf)
    d_u[inv[: U.nnz]] = U.data - 1.0
    d_v[inv[U.nnz:]] = V.data - 1.0
    return uniq // n_e, uniq % n_e, d_u, d_v


def _group_polygons(net: Network, group: NDArray[np.int64], sample: NDArray[np.int64],
                    dist: NDArray[np.float64], groups: Sequence[int], limits: Sequence[float],
                    *, margin_m: float, grid_m: float) -> list[list[shapely.Geometry]]:
    """Polygons per group (rows) and limit (columns)."""
    samples = edge_samples(net, grid_m / 2)
    origin = np.floor(net.node_xy.min(axis=0) / grid_m) * grid_m
    cells = np.floor((samples.xy[sample] - origin) / grid_m).astype(np.int64)
    order = np.argsort(group, kind="stable")
    sorted_g = group[order]
    want = np.asarray(groups, dtype=np.int64)
    lo, hi = np.searchsorted(sorted_g, want), np.searchsorted(sorted_g, want, side="right")
    out = []
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        sel = order[a:b]
        out.append(_band_polygons(cells[sel], dist[sel], limits, origin,
                                  margin_m=margin_m, cell_m=grid_m))
    return out


def isochrones(
    cov: Coverage,
    *,
    per_station: bool = True,
    union: bool = True,
    bands_min: tuple[float, ...] | None = None,
    station_bands_min: tuple[float, ...] | None = None,
    margin_m: float = MARGIN_M,
    simplify_m: float = SIMPLIFY_M,
    grid_m: float = GRID_M,
    union_grid_m: float = UNION_GRID_M,
    stations: Sequence[int] | None = None,
) -> gpd.GeoDataFrame:
    """Isochrone polygons, in the network CRS.

    Rows have ``station`` (an id, or ``None`` for the union of all stations),
    ``minutes`` and the polygon. ``bands_min`` (default: the coverage bands)
    are drawn for the union; ``station_bands_min`` (default: the service
    limit only) for each station, or for the stations at positions
    ``stations`` only (one station costs a few milliseconds). ``grid_m`` and
    ``union_grid_m`` are the grids the streets are widened on, per station and
    for the union.
    """
    net, settings = cov.network, cov.settings
    bands = tuple(bands_min or settings.bands_min)
    st_bands = tuple(station_bands_min or (settings.minutes,))
    if max(bands + st_bands) > settings.minutes:
        msg = f"isochrones go up to the coverage limit ({settings.minutes:g} min)"
        raise ValueError(msg)
    if min(grid_m, union_grid_m) <= 0 or margin_m < 0:
        raise ValueError("grid_m and union_grid_m must be positive, margin_m not negative")
    ids = cov.stations.ids
    m = len(ids)
    picked = list(range(m)) if stations is None else [int(i) for i in stations]
    if any(not 0 <= i < m for i in picked):
        raise ValueError(f"station positions go from 0 to {m - 1}")
    mpm = settings.metres_per_minute
    rows_station: list[object] = []
    rows_minutes: list[float] = []
    rows_geom: list[shapely.Geometry] = []
    if per_station and picked:
        samples = edge_samples(net, grid_m / 2)
        nr = cov.node_reach
        want = np.isin(nr.source, picked)
        g, e, du, dv = _edge_ends(net, nr.source[want].astype(np.int64),
                                  nr.target[want].astype(np.int64), nr.dist_m[want], m)
        src_group = np.where(np.isin(np.arange(m), picked), np.arange(m), -1)
        gs, s, d = reached_samples(net, samples, g, e, du, dv, max(st_bands) * mpm,
                                   cov.stations.snapped, src_group)
        polys = _group_polygons(net, gs, s, d, picked, [b * mpm for b in st_bands],
                                margin_m=margin_m, grid_m=grid_m)
        for j, b in enumerate(st_bands):
            rows_station += [ids[i] for i in picked]
            rows_minutes += [b] * len(picked)
            rows_geom += [p[j] for p in polys]
    if union and m:
        samples = edge_samples(net, union_grid_m / 2)
        d_node = cov.nearest.node_dist_m
        reached = np.flatnonzero(np.isfinite(d_node))
        g, e, du, dv = _edge_ends(net, np.zeros(reached.size, dtype=np.int64), reached,
                                  d_node[reached], 1)
        gs, s, d = reached_samples(net, samples, g, e, du, dv, max(bands) * mpm,
                                   cov.stations.snapped, np.zeros(m, dtype=np.int64))
        polys = _group_polygons(net, gs, s, d, [0], [b * mpm for b in bands],
                                margin_m=margin_m, grid_m=union_grid_m)
        rows_station += [None] * len(bands)
        rows_minutes += list(bands)
        rows_geom += polys[0]
    geoms = _simplify(np.asarray(rows_geom, dtype=object), simplify_m / 2)
    return gpd.GeoDataFrame({"station": rows_station, "minutes": rows_minutes},
                            geometry=list(geoms), crs=net.crs)
