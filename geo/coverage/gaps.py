"""Gaps: where the people are whom no station (or fewer than two) serves.

Uncovered population units are binned into a hexagonal grid in metres;
neighbouring gap hexagons are joined into gap areas a planner can point at,
ranked by the people in them.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse import csgraph

from circle15.geo.coverage.count import CROSS_COVERAGE, Areas, Coverage, first_area
from circle15.geo.errors import SettingsError

GapLevel = Literal["covered", "cross"]
_SQRT3 = np.sqrt(3.0)
_NEIGHBOURS = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)])


def hex_cells(xy: NDArray[np.float64], size_m: float) -> NDArray[np.int64]:
    """Axial (q, r) of the pointy-top hexagon (centre-to-corner ``size_m``) of each point."""
    q = (_SQRT3 / 3 * xy[:, 0] - xy[:, 1] / 3) / size_m
    r = (2 / 3 * xy[:, 1]) / size_m
    # round in cube coordinates, fixing the component with the largest error
    x, z = q, r
    y = -x - z
    rx, ry, rz = np.round(x), np.round(y), np.round(z)
    dx, dy, dz = np.abs(rx - x), np.abs(ry - y), np.abs(rz - z)
    fix_x = (dx > dy) & (dx > dz)
    fix_y = ~fix_x & (dy > dz)
    rx = np.where(fix_x, -ry - rz, rx)
    rz = np.where(~fix_x & ~fix_y, -rx - ry, rz)
    return np.column_stack([rx, rz]).astype(np.int64)


def hex_polygons(qr: NDArray[np.int64], size_m: float) -> NDArray[np.object_]:
    """Polygons of axial hexagons."""
    cx = size_m * _SQRT3 * (qr[:, 0] + qr[:, 1] / 2)
    cy = size_m * 1.5 * qr[:, 1]
    ang = np.radians(30 + 60 * np.arange(6))
    xs = cx[:, None] + size_m * np.cos(ang)[None, :]
    ys = cy[:, None] + size_m * np.sin(ang)[None, :]
    ring = np.stack([xs, ys], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return np.asarray(shapely.polygons(ring), dtype=object)


def _key(qr: NDArray[np.int64]) -> NDArray[np.int64]:
    return qr[:, 0] * np.int64(1 << 32) + qr[:, 1]


#: a merged gap area is at most this large (km²): touching hexagons are joined only
#: within one town and one square block of about this area, so that a district's
#: uncovered people are places a new station can serve, not one 900 km² blob
MERGED_GAP_MAX_KM2 = 50.0


def _touching(keys: NDArray[np.int64], qr: NDArray[np.int64],
              group: NDArray[np.int64]) -> NDArray[np.int64]:
    """Cluster label of each hexagon: touching hexagons of the same ``group`` share one."""
    nb = (qr[:, None, :] + _NEIGHBOURS[None, :, :]).reshape(-1, 2)
    nb_key = _key(nb)
    pos = np.minimum(np.searchsorted(keys, nb_key), keys.size - 1)
    hit = (keys[pos] == nb_key) & (group[pos] == np.repeat(group, 6))
    src = np.repeat(np.arange(keys.size), 6)[hit]
    adj = sp.csr_matrix((np.ones(src.size), (src, pos[hit])), shape=(keys.size, keys.size))
    return np.asarray(csgraph.connected_components(adj, directed=False)[1])


def _blocks(centres: NDArray[np.float64], hex_m: float, max_km2: float) -> NDArray[np.int64]:
    """A square block number for each hexagon centre, blocks small enough that a cluster
    inside one (with the hexagons' overhang on each side) stays under ``max_km2``."""
    side = max(np.sqrt(max_km2) * 1000.0 - 2.0 * hex_m, 2.0 * hex_m)
    return np.floor(centres / side).astype(np.int64)


def find_gaps(cov: Coverage, *, level: GapLevel = "covered", hex_m: float = 300.0,
              merge: bool = False, areas: Areas | None = None,
              max_km2: float = MERGED_GAP_MAX_KM2) -> gpd.GeoDataFrame:
    """Gap areas, largest first.

    ``level="covered"`` finds people reached by no station within the limit;
    ``"cross"`` people reached by fewer than two. Each row is a hexagon
    (``hex_m`` centre to corner; 300 m gives 0.23 km², about what one new
    station's nearest streets serve) or, with ``merge``, a cluster of touching
    hexagons within one town (of ``areas``) and one block of at most ``max_km2``,
    with ``town`` (the area holding most of its people; "" outside every
    area), ``population`` (people in the gap), ``units``, ``area_km2``,
    the nearest existing station to any of its people (``nearest_station``,
    ``nearest_walk_min``) and the longest walk anyone in it has to a station
    (``max_walk_min``), in the network CRS.
    """
    if not hex_m > 0:
        raise SettingsError(f"the hexagon size must be positive, not {hex_m}")
    if level not in ("covered", "cross"):
        raise SettingsError(f"level must be 'covered' or 'cross', not {level!r}")
    need = 1 if level == "covered" else CROSS_COVERAGE
    gap = np.flatnonzero(cov.unit_count[-1] < need)
    columns = ["rank", "town", "population", "units", "hexes", "area_km2", "nearest_station",
               "nearest_walk_min", "max_walk_min", "lon", "lat", "geometry"]
    if areas is None:
        columns.remove("town")
    if gap.size == 0:
        return gpd.GeoDataFrame(pd.DataFrame(columns=columns), geometry="geometry",
                                crs=cov.network.crs)
    xy = shapely.get_coordinates(cov.population.frame.geometry.to_numpy()[gap])
    qr = hex_cells(xy, hex_m)
    keys = _key(qr)
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    hex_qr = qr[first]
    polys = hex_polygons(hex_qr, hex_m)
    centres = shapely.get_coordinates(shapely.centroid(polys))
    town_of_hex = np.full(uniq.size, -1, dtype=np.int64)
    if areas is not None:
        shapes = areas.frame.geometry.to_numpy()
        # each hexagon in the town holding most of its people (a border hexagon's centre
        # may lie outside every town while its people are inside one), else its centre's
        u_idx, a_idx = first_area(shapely.points(xy), shapes)
        if u_idx.size:
            held = pd.DataFrame({"hex": inverse.ravel()[u_idx], "town": a_idx,
                                 "pop": cov.population.count[gap][u_idx]})
            most = held.groupby(["hex", "town"])["pop"].sum().reset_index()
            most = most.loc[most.groupby("hex")["pop"].idxmax()]
            town_of_hex[most["hex"].to_numpy()] = most["town"].to_numpy()
        h_idx, c_idx = first_area(shapely.points(centres), shapes)
        left = town_of_hex[h_idx] < 0
        town_of_hex[h_idx[left]] = c_idx[left]
    if merge:
        cells = np.column_stack([town_of_hex, _blocks(centres, hex_m, max_km2)])
        group = np.unique(cells, axis=0, return_inverse=True)[1].ravel()
        cluster_of_hex = _touching(uniq, hex_qr, group)
    else:
        cluster_of_hex = np.arange(uniq.size)
    cluster = cluster_of_hex[inverse]
    pop = cov.population.count[gap]
    minutes = cov.unit_time_min[gap]
    src_station = cov.nearest_any.target_source[gap]
    ids = np.asarray(cov.stations.ids, dtype=object)
    frame = pd.DataFrame({"cluster": cluster, "pop": pop, "min": minutes, "st": src_station})
    grouped = frame.groupby("cluster")
    if merge:
        geoms = [shapely.union_all(polys[cluster_of_hex == c])
                 for c in range(cluster_of_hex.max() + 1)]
    else:
        geoms = list(polys)
    best = frame.loc[grouped["min"].idxmin()].set_index("cluster")
    names = (np.asarray([str(n) for n in areas.frame["name"]] + [""], dtype=object)
             if areas is not None else np.asarray([""], dtype=object))
    town_of_cluster = np.full(int(cluster_of_hex.max()) + 1, -1, dtype=np.int64)
    town_of_cluster[cluster_of_hex] = town_of_hex
    out = pd.DataFrame({
        "town": names[town_of_cluster],
        "population": grouped["pop"].sum(),
        "units": grouped.size(),
        "hexes": pd.Series(np.bincount(cluster_of_hex)),
        "nearest_station": [ids[s] if s >= 0 else None for s in best["st"].to_numpy()],
        "nearest_walk_min": np.round(best["min"].to_numpy(), 1),
        "max_walk_min": np.round(grouped["min"].max().to_numpy(), 1),
    })
    gdf = gpd.GeoDataFrame(out, geometry=geoms, crs=cov.network.crs)
    gdf["area_km2"] = np.round(gdf.geometry.area / 1e6, 3)
    centre = gdf.geometry.representative_point().to_crs(4326)
    gdf["lon"], gdf["lat"] = centre.x.round(6), centre.y.round(6)
    gdf = gdf.sort_values(["population", "units"], ascending=False).reset_index(drop=True)
    gdf.insert(0, "rank", np.arange(1, len(gdf) + 1))
    return gdf[columns]
