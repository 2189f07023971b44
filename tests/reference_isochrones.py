"""Isochrone polygons for display: the streets reached, widened a little.

An isochrone follows the network exactly: every edge reached in full, plus the
reached part of edges reached only partly (from either end, or along the
station's own edge), widened by an off-network walking margin. Blocks that
nobody can walk into stay holes. The polygons are simplified for the browser.

Coverage numbers never come from these polygons; see :mod:`geo.coverage`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from shapely import ops

from circle15.geo.coverage.count import Coverage
from circle15.geo.network.graph import Network
from circle15.geo.snapping.snap import Snapped

#: default widening of the reached streets, metres (a walk off the street)
MARGIN_M = 50.0
#: default simplification of lines and polygons, metres
SIMPLIFY_M = 8.0
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def _pieces(net: Network, edge: NDArray[np.int64], a_m: NDArray[np.float64],
            b_m: NDArray[np.float64]) -> NDArray[np.object_]:
    """Parts [a, b] (metres along each edge from its u end) of edge geometries."""
    geoms = net.edge_geometry[edge]
    length = net.edge_length_m[edge]
    with np.errstate(invalid="ignore", divide="ignore"):
        fa = np.clip(np.where(length > 0, a_m / length, 0.0), 0.0, 1.0)
        fb = np.clip(np.where(length > 0, b_m / length, 1.0), 0.0, 1.0)
    out = np.empty(edge.size, dtype=object)
    whole = (fa <= 0) & (fb >= 1)
    out[whole] = geoms[whole]
    straight = ~whole & (shapely.get_num_coordinates(geoms) == 2)
    if straight.any():
        p = shapely.line_interpolate_point(geoms[straight], fa[straight], normalized=True)
        q = shapely.line_interpolate_point(geoms[straight], fb[straight], normalized=True)
        seg = np.stack([shapely.get_coordinates(p), shapely.get_coordinates(q)], axis=1)
        out[straight] = shapely.linestrings(seg)
    for i in np.flatnonzero(~whole & ~straight).tolist():
        out[i] = ops.substring(geoms[i], fa[i], fb[i], normalized=True)
    return out


def reached_lines(
    net: Network,
    group: NDArray[np.int64],
    edge: NDArray[np.int64],
    d_u: NDArray[np.float64],
    d_v: NDArray[np.float64],
    limit_m: float,
    sources: Snapped,
    source_group: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """The reached (parts of) edges, labelled by group.

    ``(group, edge, d_u, d_v)`` rows give the walking distance of a group
    (one station, or all stations together) to each end of an edge it reaches;
    ``sources`` add the stretch of the edges they join that they reach directly.
    """
    length = net.edge_length_m[edge]
    r_u = limit_m - d_u  # metres left on arriving at u (negative: not reached)
    r_v = limit_m - d_v
    full = (r_u >= length) | (r_v >= length) | ((r_u >= 0) & (r_v >= 0) & (r_u + r_v >= length))
    groups, edges, a_list, b_list = [group[full]], [edge[full]], [np.zeros(full.sum())], \
        [length[full]]
    from_u = ~full & (r_u > 0)
    groups.append(group[from_u])
    edges.append(edge[from_u])
    a_list.append(np.zeros(from_u.sum()))
    b_list.append(r_u[from_u])
    from_v = ~full & (r_v > 0)
    groups.append(group[from_v])
    edges.append(edge[from_v])
    a_list.append(length[from_v] - r_v[from_v])
    b_list.append(length[from_v])
    # each source's own edge, walked straight from where it stands
    joins = sources.all_joins()
    budget = limit_m - joins.off_m
    own = budget > 0
    groups.append(source_group[joins.point[own]])
    edges.append(joins.edge[own])
    a_list.append(joins.along_m[own] - budget[own])
    b_list.append(joins.along_m[own] + budget[own])
    g = np.concatenate(groups)
    e = np.concatenate(edges)
    lines = _pieces(net, e, np.concatenate(a_list), np.concatenate(b_list))
    keep = ~shapely.is_empty(lines) & (shapely.length(lines) > 0)
    return g[keep], lines[keep]


def _polygons(groups: NDArray[np.int64], lines: NDArray[np.object_], n_groups: int, *,
              margin_m: float, simplify_m: float) -> NDArray[np.object_]:
    """One polygon per group: its lines merged, simplified and widened."""
    out = np.array([shapely.Polygon()] * n_groups, dtype=object)
    if lines.size == 0:
        return out
    present, compact = np.unique(groups, return_inverse=True)
    order = np.argsort(compact, kind="stable")
    multi = shapely.multilinestrings(lines[order], indices=compact[order])
    def widen(chunk: NDArray[np.object_]) -> NDArray[np.object_]:
        merged = shapely.simplify(shapely.line_merge(chunk), simplify_m)
        # GEOS buffers a whole multi-line by noding all of it together, which
        # crawls when streets overlap (mapped twice, sidewalks on the carriageway);
        # buffering each line on its own and joining the results is 10-100x faster
        parts, owner = shapely.get_parts(merged, return_index=True)
        widened = shapely.buffer(parts, margin_m, quad_segs=2)
        cuts = np.flatnonzero(np.diff(owner)) + 1
        groups = np.split(widened, cuts)
        joined = np.array([shapely.Polygon()] * len(chunk), dtype=object)
        joined[owner[np.concatenate([[0], cuts])]] = [shapely.union_all(g) for g in groups]
        return np.asarray(shapely.simplify(joined, simplify_m / 2), dtype=object)

    # shapely releases the GIL in its array functions: use every core
    chunks = np.array_split(np.asarray(multi, dtype=object), min(_WORKERS, present.size))
    with ThreadPoolExecutor(len(chunks)) as pool:
        out[present] = np.concatenate(list(pool.map(widen, chunks)))
    return out


def _tiled_polygon(lines: NDArray[np.object_], *, margin_m: float, simplify_m: float,
                   tile_m: float = 1000.0) -> shapely.Geometry:
    """One polygon for many lines: widened tile by tile, then joined.

    Buffering a whole district's streets at once is several times slower than
    buffering square-kilometre tiles and joining the (few, large) results.
    """
    if lines.size == 0:
        return shapely.Polygon()
    c = shapely.get_coordinates(shapely.centroid(lines))
    cell = np.floor(c / tile_m).astype(np.int64)
    key = cell[:, 0] * np.int64(1 << 32) + cell[:, 1]
    tiles, tile_of = np.unique(key, return_inverse=True)
    parts = _polygons(tile_of, lines, tiles.size, margin_m=margin_m, simplify_m=simplify_m)
    return shapely.simplify(shapely.union_all(parts), simplify_m / 2)


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


def isochrones(
    cov: Coverage,
    *,
    per_station: bool = True,
    union: bool = True,
    bands_min: tuple[float, ...] | None = None,
    station_bands_min: tuple[float, ...] | None = None,
    margin_m: float = MARGIN_M,
    simplify_m: float = SIMPLIFY_M,
) -> gpd.GeoDataFrame:
    """Isochrone polygons, in the network CRS.

    Rows have ``station`` (an id, or ``None`` for the union of all stations),
    ``minutes`` and the polygon. ``bands_min`` (default: the coverage bands)
    are drawn for the union; ``station_bands_min`` (default: the service
    limit only) for each station.
    """
    net, settings = cov.network, cov.settings
    bands = tuple(bands_min or settings.bands_min)
    st_bands = tuple(station_bands_min or (settings.minutes,))
    if max(bands + st_bands) > settings.minutes:
        msg = f"isochrones go up to the coverage limit ({settings.minutes:g} min)"
        raise ValueError(msg)
    rows_station: list[object] = []
    rows_minutes: list[float] = []
    rows_geom: list[object] = []
    ids = cov.stations.ids
    m = len(ids)
    if per_station and m:
        nr = cov.node_reach
        g, e, du, dv = _edge_ends(net, nr.source.astype(np.int64), nr.target.astype(np.int64),
                                  nr.dist_m, m)
        for b in st_bands:
            limit = b * settings.metres_per_minute
            gg, lines = reached_lines(net, g, e, du, dv, limit, cov.stations.snapped,
                                      np.arange(m))
            polys = _polygons(gg, lines, m, margin_m=margin_m, simplify_m=simplify_m)
            rows_station += ids
            rows_minutes += [b] * m
            rows_geom += list(polys)
    if union and m:
        d = cov.nearest.node_dist_m
        reached = np.flatnonzero(np.isfinite(d))
        g, e, du, dv = _edge_ends(net, np.zeros(reached.size, dtype=np.int64), reached,
                                  d[reached], 1)
        for b in bands:
            limit = b * settings.metres_per_minute
            gg, lines = reached_lines(net, g, e, du, dv, limit, cov.stations.snapped,
                                      np.zeros(m, dtype=np.int64))
            rows_station.append(None)
            rows_minutes.append(b)
            rows_geom.append(_tiled_polygon(lines, margin_m=margin_m, simplify_m=simplify_m))
    return gpd.GeoDataFrame({"station": rows_station, "minutes": rows_minutes},
                            geometry=rows_geom, crs=net.crs)
