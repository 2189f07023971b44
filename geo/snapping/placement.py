"""Placing points on the network, with every check a user needs told about.

Stations, population units, candidate sites and courier queries all go through
:func:`place_points`: inside the area, not lat/lon swapped, in the coordinate
system declared (:func:`check_declared_crs`), within the extract's declared
bounds, within a settable distance of a street they may join (the snapping
rule of :mod:`circle15.geo.snapping.snap`), and not nearest to a street on a small
island the network dropped. Distances in messages are geodesic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from circle15.geo.crs import check_input_crs, in_china, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from circle15.geo.errors import InputError, Problem, SettingsError, ref
from circle15.geo.network.graph import Network, haversine_m
from circle15.geo.snapping.snap import DEFAULT_RULE, JoinEnds, Joins, Snapped, SnapRule, snap_points


@dataclass(frozen=True)
class Placement:
    """Where points sit on the network (all arrays aligned with the input).

    ``outside_bounds`` marks points beyond the extract's declared bounds, where
    the network is incomplete (all False when the extract declares none).
    """

    xy: NDArray[np.float64]
    snapped: Snapped
    problems: tuple[Problem, ...]
    outside_bounds: NDArray[np.bool_]


#: a station this far beyond an extract's declared bounds is refused (metres);
#: closer, it is only flagged like any other point outside the bounds
STATION_BEYOND_BOUNDS_M = 100.0


def beyond_bounds_m(net: Network, lon: NDArray[np.float64],
                    lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Metres (about) beyond the extract's declared bounds; 0 inside or when none declared."""
    if net.bounds_lonlat is None:
        return np.zeros(lon.shape[0])
    west, south, east, north = net.bounds_lonlat
    with np.errstate(invalid="ignore"):
        dx = np.maximum.reduce([west - lon, lon - east, np.zeros_like(lon)])
        dy = np.maximum.reduce([south - lat, lat - north, np.zeros_like(lat)])
    m_per_deg = 6_371_009.0 * np.pi / 180.0
    out = np.hypot(dx * m_per_deg * np.cos(np.radians(np.clip(lat, -89.0, 89.0))),
                   dy * m_per_deg)
    return np.where(np.isfinite(out), out, 0.0)


def km_beyond(net: Network, lon: NDArray[np.float64], lat: NDArray[np.float64]
              ) -> NDArray[np.float64]:
    """Geodesic kilometres from each point to the nearest corner of the network's hull
    (the corner nearest on the unit sphere, by a KD-tree: a file of 40,000 points far
    outside is answered at once)."""
    corners = net.unproject(shapely.get_coordinates(net.hull))
    tree = cKDTree(_on_sphere(corners[:, 0], corners[:, 1]))
    _, pick = tree.query(_on_sphere(lon, lat))
    pick = np.asarray(pick, dtype=np.int64)
    return haversine_m(lon, lat, corners[pick, 0], corners[pick, 1]) / 1000.0


def _on_sphere(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Points on the unit sphere: the nearer in a straight line, the nearer geodesically."""
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _fit_m(net: Network, lon: NDArray[np.float64], lat: NDArray[np.float64],
           quantile: float) -> float:
    """How far the points sit off the streets: a quantile of their distances.

    The upper quartile for a layer, not the median: in a dense street grid a
    shifted layer still has half its points near some street, but rarely three
    quarters. For one or two points, the largest."""
    snapped = snap_points(net, net.project(lon, lat), max_dist_m=2000.0)
    d = snapped.off_m[snapped.ok]
    return float(np.quantile(d, quantile)) if d.size else float("inf")


def check_declared_crs(
    net: Network,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    declared: str,
    source: str,
    min_points: int = 3,
) -> None:
    """Refuse a layer whose points fit the streets far better in another CRS.

    Chinese map services shift coordinates by a few hundred metres (GCJ-02,
    BD-09). Points read in the wrong system sit systematically off the
    streets; read in the right one they sit on them. With ``min_points`` or
    more points inside China, the upper-quartile distance to the nearest street is
    compared across the three systems, read as if the given numbers were in
    each; a clearly better fit raises :class:`InputError` naming it. Fewer
    points (a single station posted to the service) are judged by the farthest
    one, and only a point well off the streets that converts onto one is
    refused.
    """
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any() or not in_china(lon[ok], lat[ok]).all():
        return
    few = ok.sum() < min_points
    # the raw numbers as the file holds them, in the declared system
    kind = check_input_crs(declared)
    w_lon, w_lat = to_wgs84(lon[ok], lat[ok], kind)
    if kind == "wgs84":
        raw_lon, raw_lat = w_lon, w_lat
    elif kind == "gcj02":
        raw_lon, raw_lat = wgs84_to_gcj02(w_lon, w_lat)
    else:
        raw_lon, raw_lat = wgs84_to_bd09(w_lon, w_lat)
    q = 1.0 if few else 0.75
    fits = {}
    for c in ("wgs84", "gcj02", "bd09"):
        c_lon, c_lat = to_wgs84(raw_lon, raw_lat, c)
        fits[c] = _fit_m(net, c_lon, c_lat, q)
    best = min(fits, key=lambda c: fits[c])
    here = fits[kind]
    clear = (fits[best] < here / 3 and here - fits[best] > 20.0 and here > 30.0 if few
             else fits[best] < 0.5 * here and here - fits[best] > 15.0)
    if best != kind and clear:
        names = {"wgs84": "WGS84 (GPS/OSM)", "gcj02": "GCJ-02 (Amap/Tencent)",
                 "bd09": "BD-09 (Baidu)"}
        msg = (
            f"the coordinates look like {names[best]}, not {names[kind]} as declared: read as "
            f"{kind} {'the point is' if few else 'a quarter of the points are'} {here:.0f} m "
            f"or more from the nearest street, read as {best} only {fits[best]:.0f} m. Pass "
            f"crs={best!r} (--stations-crs {best}, --population-crs {best}, ?crs={best}) "
            "if that is where they came from"
            + ("; if they really are as declared, repeat with ?trust_crs=true." if few else ".")
        )
        raise InputError(source, msg)


def place_points(
    net: Network,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    max_snap_m: float,
    ids: Sequence[str] | None = None,
    what: str = "point",
    rule: SnapRule = DEFAULT_RULE,
    strict: bool = False,
) -> Placement:
    """Project and join WGS84 points to the network, reporting each one that cannot be used.

    NaN coordinates are skipped (already reported by the reader). A point
    outside the network's area gets a message saying how far out it is and,
    when swapping longitude and latitude would put it inside, says so.
    ``strict`` (stations) also refuses a point beyond the extract's declared
    bounds, and one whose nearest street is on a small part the network
    dropped (naming ``--keep-all-components``).
    """
    if max_snap_m <= 0 or not np.isfinite(max_snap_m):
        raise SettingsError(f"the snapping distance must be a positive number of metres, "
                            f"not {max_snap_m}")
    k = int(lon.shape[0])
    good = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    xy = np.full((k, 2), np.nan)
    if good.any():
        xy[good] = net.project(lon[good], lat[good])
    # far from the network's UTM zone the projection breaks down (inf): such
    # points are certainly outside the area
    far_away = good & ~np.isfinite(xy).all(axis=1)
    good &= ~far_away
    rows = np.flatnonzero(good)
    snapped = snap_points(net, xy[rows], max_dist_m=max_snap_m, rule=rule)
    # points with no usable coordinate are not snapped at all
    snapped = _spread(snapped, rows, k)
    edge = snapped.edge
    beyond = beyond_bounds_m(net, lon, lat)
    outside = beyond > 0
    far_rows = np.flatnonzero(far_away)
    far_km = km_beyond(net, lon[far_rows], lat[far_rows]) if far_rows.size else np.empty(0)
    problems: list[Problem] = [
        Problem(f"{what} at lon={lon[i]}, lat={lat[i]} is far outside the network area "
                f"({km:,.0f} km away)", row=int(i) + 1, ident=None if ids is None else ids[i])
        for i, km in zip(far_rows.tolist(), far_km, strict=True)]
    far = np.flatnonzero(good & (edge < 0))
    # only stations (strict) and the points refused need to know about dropped islands
    ask = good.copy() if strict else np.zeros(k, dtype=bool)
    ask[far] = True
    island_d = _island_distance(net, xy, ask)
    if strict:
        problems += _strict_problems(net, lon, lat, snapped, beyond, island_d, ids, what)
    if far.size:
        problems += _far_problems(net, lon, lat, xy, far, island_d, max_snap_m, ids, what)
    return Placement(xy=xy, snapped=snapped, problems=tuple(problems), outside_bounds=outside)


def _spread(snapped: Snapped, rows: NDArray[np.int64], k: int) -> Snapped:
    """Snapped for ``rows`` of k points -> Snapped for all k (unsnapped elsewhere)."""
    if rows.size == k:
        return snapped
    full = Snapped(
        edge=np.full(k, -1, dtype=np.int64), off_m=np.full(k, np.nan),
        along_m=np.full(k, np.nan), to_u_m=np.full(k, np.nan), to_v_m=np.full(k, np.nan),
        u=np.full(k, -1, dtype=np.int64), v=np.full(k, -1, dtype=np.int64))
    for name in ("edge", "off_m", "along_m", "to_u_m", "to_v_m", "u", "v"):
        getattr(full, name)[rows] = getattr(snapped, name)
    full.fallback[rows] = snapped.fallback
    joins = None
    if snapped.joins is not None:
        j = snapped.joins
        joins = Joins(rows[j.point], j.edge, j.off_m, j.along_m, j.to_u_m, j.to_v_m, j.u, j.v)
        if "_ends" in j.__dict__:  # worked out already: the same ends, points renumbered
            e = j.ends()
            joins.keep_ends(JoinEnds(rows[e.point], e.node, e.extra_m, e.join))
    return Snapped(full.edge, full.off_m, full.along_m, full.to_u_m, full.to_v_m, full.u,
                   full.v, joins=joins, fallback=full.fallback)


def _island_distance(net: Network, xy: NDArray[np.float64], good: NDArray[np.bool_]
                     ) -> NDArray[np.float64]:
    """Metres from each point to the nearest street of a dropped small part (inf if none)."""
    out = np.full(xy.shape[0], np.inf)
    if net.dropped_geometry.size == 0 or not good.any():
        return out
    tree = shapely.STRtree(net.dropped_geometry)
    rows = np.flatnonzero(good)
    (pt_i, _), dist = tree.query_nearest(shapely.points(xy[rows]), return_distance=True,
                                         all_matches=False)
    out[rows[pt_i]] = dist
    return out


def _strict_problems(net: Network, lon: NDArray[np.float64], lat: NDArray[np.float64],
                     snapped: Snapped, beyond: NDArray[np.float64],
                     island_d: NDArray[np.float64], ids: Sequence[str] | None,
                     what: str) -> list[Problem]:
    problems = []
    for i in np.flatnonzero((beyond > STATION_BEYOND_BOUNDS_M) & snapped.ok).tolist():
        msg = (f"{what} at lon={lon[i]}, lat={lat[i]} is {beyond[i]:,.0f} m outside the "
               f"bounds the network extract declares "
               f"({', '.join(f'{b:g}' for b in net.bounds_lonlat or ())}): the streets there "
               "are incomplete; use an extract that covers it")
        problems.append(Problem(msg, row=int(i) + 1, ident=None if ids is None else ids[i]))
    island = snapped.ok & (island_d + 1e-6 < snapped.off_m)
    for i in np.flatnonzero(island).tolist():
        msg = (f"{what} at lon={lon[i]}, lat={lat[i]} is nearest to a street on a small part "
               f"of the network that is not connected to the rest and was dropped "
               f"({island_d[i]:,.0f} m away; the connected network is {snapped.off_m[i]:,.0f} "
               f"m away). Pass {ref('keep_all_components')} to keep it on its part, or move it")
        problems.append(Problem(msg, row=int(i) + 1, ident=None if ids is None else ids[i]))
    return problems


def _far_problems(net: Network, lon: NDArray[np.float64], lat: NDArray[np.float64],
                  xy: NDArray[np.float64], far: NDArray[np.int64],
                  island_d: NDArray[np.float64], max_snap_m: float,
                  ids: Sequence[str] | None, what: str) -> list[Problem]:
    pts = shapely.points(xy[far])
    inside = shapely.contains(net.hull, pts) | (shapely.distance(net.hull, pts) == 0)
    _, nearest_d = net.edge_tree.query_nearest(pts, return_distance=True, all_matches=False)
    swapped_inside = np.zeros(far.size, dtype=bool)
    could_swap = (np.abs(lon[far]) <= 90)
    if could_swap.any():
        sw = net.project(lat[far][could_swap], lon[far][could_swap])
        ok_sw = np.isfinite(sw).all(axis=1)  # inf: the swap lands far outside
        near = np.zeros(sw.shape[0], dtype=bool)
        near[ok_sw] = shapely.distance(net.hull, shapely.points(sw[ok_sw])) <= max_snap_m
        swapped_inside[could_swap] = near
    outside = np.flatnonzero(~swapped_inside & ~inside)
    km = np.full(far.size, np.nan)
    if outside.size:
        km[outside] = km_beyond(net, lon[far[outside]], lat[far[outside]])
    problems = []
    for j, i in enumerate(far.tolist()):
        ident = None if ids is None else ids[i]
        where = f"{what} at lon={lon[i]}, lat={lat[i]}"
        if swapped_inside[j]:
            msg = (f"{where} is outside the network area; with longitude and latitude "
                   "swapped it would be inside: are the columns swapped?")
        elif not inside[j]:
            msg = (f"{where} is outside the network area "
                   f"({km[j]:,.1f} km beyond its edge)")
        else:
            msg = (f"{where} is {nearest_d[j]:,.0f} m from the nearest walkable street "
                   f"(the limit is {max_snap_m:,.0f} m)")
        if island_d[i] <= max_snap_m:
            msg += (f"; a street {island_d[i]:,.0f} m away is on a small part of the network "
                    f"that was dropped: pass {ref('keep_all_components')} to keep it")
        problems.append(Problem(msg, row=int(i) + 1, ident=ident))
    return problems
