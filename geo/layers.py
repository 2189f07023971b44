"""Stations and population units: validated, converted to WGS84, snapped.

Both layers go through one placement step (:func:`place_points`) that checks
each point against the network before anything is used: inside the area,
not lat/lon swapped, in the coordinate system the user declared, and within a
settable distance of a walkable street.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from circle15.geo.crs import check_input_crs, in_china, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from circle15.geo.errors import InputError, Problem, SettingsError
from circle15.geo.network import Network
from circle15.geo.snap import Snapped, snap_points
from circle15.geo.tables import RawTable, find_column, parse_numbers, read_table

log = logging.getLogger(__name__)

#: default farthest a station may be from a walkable street (metres); a
#: street-front shop is normally within a few tens of metres of one
STATION_MAX_SNAP_M = 200.0
#: default farthest a population unit may be from a walkable street (metres);
#: grid cells and building centroids can sit a few hundred metres off a street
POPULATION_MAX_SNAP_M = 500.0

#: the amenities a station may offer, with the words planners use for them
AMENITY_ALIASES: dict[str, tuple[str, ...]] = {
    "water": ("water", "drinking_water", "饮水", "热水", "饮用水", "开水"),
    "charger": ("charger", "charging", "power_bank", "充电", "充电宝", "充电器"),
    "first_aid": ("first_aid", "firstaid", "medicine", "急救", "药箱", "医药箱", "急救包"),
    "microwave": ("microwave", "微波炉", "加热"),
    "toilet": ("toilet", "toilets", "wc", "厕所", "卫生间"),
    "seats": ("seats", "seat", "rest", "座椅", "休息", "桌椅"),
    "wifi": ("wifi", "wi-fi", "无线网"),
    "umbrella": ("umbrella", "雨伞", "雨具"),
}
_AMENITY_LOOKUP = {alias.lower(): key for key, aliases in AMENITY_ALIASES.items()
                   for alias in aliases}
STATUSES = ("existing", "planned", "closed")
_STATUS_ALIASES = {"existing": "existing", "open": "existing", "active": "existing",
                   "已建": "existing", "运营": "existing", "现有": "existing",
                   "planned": "planned", "规划": "planned", "拟建": "planned",
                   "closed": "closed", "关闭": "closed", "停用": "closed"}

ID_NAMES = ("id", "station_id", "stationid", "编号", "站点编号", "code")
NAME_NAMES = ("name", "station_name", "名称", "站点名称", "驿站名称")
ADDRESS_NAMES = ("address", "addr", "地址")
AMENITY_NAMES = ("amenities", "amenity", "services", "设施", "服务")
HOURS_NAMES = ("opening_hours", "hours", "开放时间", "营业时间")
STATUS_NAMES = ("status", "状态")
COUNT_NAMES = ("population", "pop", "count", "people", "value", "人口", "人数")

OnFar = Literal["error", "drop"]


def parse_amenities(text: object) -> tuple[list[str], list[str]]:
    """Split an amenities cell ("water; charger", "饮水、充电") into known keys.

    Returns the canonical keys and the words that were not recognised.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return [], []
    words = [w.strip().lower() for w in re.split(r"[;,，；、|/]+", str(text)) if w.strip()]
    known, unknown = [], []
    for w in words:
        key = _AMENITY_LOOKUP.get(w)
        if key is None:
            unknown.append(w)
        elif key not in known:
            known.append(key)
    return known, unknown


# ---------------------------------------------------------------------------
# placement on the network


@dataclass(frozen=True)
class Placement:
    """Where points sit on the network (all arrays aligned with the input)."""

    xy: NDArray[np.float64]
    snapped: Snapped
    problems: tuple[Problem, ...]


def _median_off(net: Network, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> float:
    snapped = snap_points(net, net.project(lon, lat), max_dist_m=2000.0)
    d = snapped.off_m[snapped.ok]
    return float(np.median(d)) if d.size else float("inf")


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
    more points inside China, the median distance to the nearest street is
    compared across the three systems, read as if the given numbers were in
    each; a clearly better fit raises :class:`InputError` naming it.
    """
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.sum() < min_points or not in_china(lon[ok], lat[ok]).all():
        return
    # the raw numbers as the file holds them, in the declared system
    kind = check_input_crs(declared)
    w_lon, w_lat = to_wgs84(lon[ok], lat[ok], kind)
    if kind == "wgs84":
        raw_lon, raw_lat = w_lon, w_lat
    elif kind == "gcj02":
        raw_lon, raw_lat = wgs84_to_gcj02(w_lon, w_lat)
    else:
        raw_lon, raw_lat = wgs84_to_bd09(w_lon, w_lat)
    fits = {c: _median_off(net, *to_wgs84(raw_lon, raw_lat, c)) for c in ("wgs84", "gcj02", "bd09")}
    best = min(fits, key=lambda c: fits[c])
    here = fits[kind]
    if best != kind and fits[best] < 0.5 * here and here - fits[best] > 15.0:
        names = {"wgs84": "WGS84 (GPS/OSM)", "gcj02": "GCJ-02 (Amap/Tencent)",
                 "bd09": "BD-09 (Baidu)"}
        msg = (
            f"the coordinates look like {names[best]}, not {names[kind]} as declared: read as "
            f"{kind} the points are a median {here:.0f} m from the nearest street, read as "
            f"{best} only {fits[best]:.0f} m. Pass crs={best!r} (--crs {best}) if that is "
            "where they came from."
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
) -> Placement:
    """Project and snap WGS84 points, reporting each one that cannot be used.

    NaN coordinates are skipped (already reported by the reader). A point
    outside the network's area gets a message saying how far out it is and,
    when swapping longitude and latitude would put it inside, says so.
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
    snapped = snap_points(net, np.where(good[:, None], xy, 0.0), max_dist_m=max_snap_m)
    # points with no usable coordinate must not be snapped to (0, 0)
    edge = np.where(good, snapped.edge, -1)
    snapped = Snapped(
        edge=edge,
        off_m=np.where(good, snapped.off_m, np.nan),
        along_m=np.where(good, snapped.along_m, np.nan),
        to_u_m=np.where(good, snapped.to_u_m, np.nan),
        to_v_m=np.where(good, snapped.to_v_m, np.nan),
        u=np.where(good, snapped.u, -1),
        v=np.where(good, snapped.v, -1),
    )
    problems: list[Problem] = [
        Problem(f"{what} at lon={lon[i]}, lat={lat[i]} is far outside the network area",
                row=int(i) + 1, ident=None if ids is None else ids[i])
        for i in np.flatnonzero(far_away).tolist()]
    far = np.flatnonzero(good & (edge < 0))
    if far.size:
        pts = shapely.points(xy[far])
        dist_hull = shapely.distance(net.hull, pts)
        _, nearest_d = net.edge_tree.query_nearest(pts, return_distance=True, all_matches=False)
        swapped_inside = np.zeros(far.size, dtype=bool)
        could_swap = (np.abs(lon[far]) <= 90)
        if could_swap.any():
            sw = net.project(lat[far][could_swap], lon[far][could_swap])
            ok_sw = np.isfinite(sw).all(axis=1)  # inf: the swap lands far outside
            near = np.zeros(sw.shape[0], dtype=bool)
            near[ok_sw] = shapely.distance(net.hull, shapely.points(sw[ok_sw])) <= max_snap_m
            swapped_inside[could_swap] = near
        for j, i in enumerate(far.tolist()):
            ident = None if ids is None else ids[i]
            if swapped_inside[j]:
                msg = (f"{what} at lon={lon[i]}, lat={lat[i]} is outside the network area; "
                       "with longitude and latitude swapped it would be inside: are the "
                       "columns swapped?")
            elif dist_hull[j] > 0:
                msg = (f"{what} at lon={lon[i]}, lat={lat[i]} is outside the network area "
                       f"({dist_hull[j] / 1000:,.1f} km beyond its edge)")
            else:
                msg = (f"{what} at lon={lon[i]}, lat={lat[i]} is {nearest_d[j]:,.0f} m from the "
                       f"nearest walkable street (the limit is {max_snap_m:,.0f} m)")
            problems.append(Problem(msg, row=int(i) + 1, ident=ident))
    return Placement(xy=xy, snapped=snapped, problems=tuple(problems))


# ---------------------------------------------------------------------------
# stations


@dataclass(frozen=True, eq=False)
class Stations:
    """Stations on the network.

    ``frame`` has one row per station: ``id``, ``name``, ``address``,
    ``amenities`` (";"-joined keys of :data:`AMENITY_ALIASES`),
    ``opening_hours`` (OSM syntax, as given), ``status`` (existing/planned/
    closed), ``lon``/``lat`` (WGS84), ``off_network_m`` and point geometry in
    the network's CRS. ``snapped`` holds their positions on the network.
    """

    frame: gpd.GeoDataFrame
    snapped: Snapped
    source: str = ""
    input_crs: str = "wgs84"

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> list[str]:
        return self.frame["id"].tolist()

    def select(self, mask: NDArray[np.bool_]) -> Stations:
        """The stations where ``mask`` is True."""
        mask = np.asarray(mask, dtype=bool)
        return Stations(self.frame.loc[mask].reset_index(drop=True), self.snapped.take(mask),
                        self.source, self.input_crs)

    def active(self, *, include_planned: bool = False) -> Stations:
        """Stations that serve people: existing ones (and planned ones if asked)."""
        allowed = ("existing", "planned") if include_planned else ("existing",)
        return self.select(self.frame["status"].isin(allowed).to_numpy())


def _text_column(frame: pd.DataFrame, col: str | None) -> list[str]:
    if col is None:
        return [""] * len(frame)
    return [("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
            for v in frame[col].tolist()]


def stations_from_table(
    raw: RawTable,
    net: Network,
    *,
    crs: str = "wgs84",
    max_snap_m: float = STATION_MAX_SNAP_M,
    check_crs: bool = True,
) -> Stations:
    """Validate a station table and place it on the network.

    Raises :class:`InputError` listing every bad row; on error nothing is kept.
    """
    source = raw.source
    frame = raw.frame
    kind = check_input_crs(crs)
    id_col = find_column(frame, ID_NAMES, source=source)
    name_col = find_column(frame, NAME_NAMES, source=source)
    missing = [n for n, c in (("id", id_col), ("name", name_col)) if c is None]
    if missing:
        msg = (f"missing required column(s) {', '.join(missing)}; "
               f"the file has {', '.join(map(str, frame.columns))}")
        raise InputError(source, msg)
    ids = _text_column(frame, id_col)
    names = _text_column(frame, name_col)
    problems = list(raw.problems)
    for i, (sid, name) in enumerate(zip(ids, names, strict=True)):
        if not sid:
            problems.append(Problem("station id is empty", row=i + 1, column=id_col))
        if not name:
            problems.append(Problem("station name is empty", row=i + 1, column=name_col,
                                    ident=sid or None))
    seen: dict[str, int] = {}
    for i, sid in enumerate(ids):
        if sid and sid in seen:
            problems.append(Problem(f"duplicate station id (first used on row {seen[sid] + 1})",
                                    row=i + 1, column=id_col, ident=sid))
        seen.setdefault(sid, i)
    status_col = find_column(frame, STATUS_NAMES, source=source)
    statuses = []
    for i, s in enumerate(_text_column(frame, status_col)):
        st = _STATUS_ALIASES.get(s.lower()) if s else "existing"
        if st is None:
            problems.append(Problem(f"unknown status {s!r}; use one of {', '.join(STATUSES)}",
                                    row=i + 1, column=status_col, ident=ids[i] or None))
            st = "existing"
        statuses.append(st)
    amen_col = find_column(frame, AMENITY_NAMES, source=source)
    amenities = []
    for i, cell in enumerate(_text_column(frame, amen_col)):
        known, unknown = parse_amenities(cell)
        if unknown:
            problems.append(Problem(
                f"unknown amenity {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(AMENITY_ALIASES)}", row=i + 1, column=amen_col, ident=ids[i] or None))
        amenities.append(";".join(known))
    lon, lat = to_wgs84(raw.lon, raw.lat, kind)
    if not problems and check_crs:
        check_declared_crs(net, raw.lon, raw.lat, declared=kind, source=source)
    placement = place_points(net, lon, lat, max_snap_m=max_snap_m, ids=ids, what="station")
    problems += placement.problems
    if problems:
        raise InputError(source, sorted(problems, key=lambda p: (p.row or 0)))
    gdf = gpd.GeoDataFrame(
        {
            "id": ids,
            "name": names,
            "address": _text_column(frame, find_column(frame, ADDRESS_NAMES, source=source)),
            "amenities": amenities,
            "opening_hours": _text_column(frame, find_column(frame, HOURS_NAMES, source=source)),
            "status": statuses,
            "lon": lon,
            "lat": lat,
            "off_network_m": placement.snapped.off_m,
        },
        geometry=shapely.points(placement.xy),
        crs=net.crs,
    )
    return Stations(gdf, placement.snapped, source=source, input_crs=kind)


def stations_from_records(
    records: Sequence[dict[str, object]],
    net: Network,
    *,
    crs: str = "wgs84",
    source: str = "stations",
    max_snap_m: float = STATION_MAX_SNAP_M,
    check_crs: bool = True,
) -> Stations:
    """Validate station records (dicts with id, name, lon, lat, …) and place them.

    The same checks as for a file: the API's create, update and import go
    through here.
    """
    from circle15.geo.tables import range_problems

    if not records:
        raise InputError(source, "no stations given")
    frame = pd.DataFrame([{k: ("" if v is None else v) for k, v in r.items()} for r in records])
    for col in ("id", "name", "lon", "lat"):
        if col not in frame:
            frame[col] = ""
    frame["id"] = frame["id"].astype(str)
    ids = frame["id"].tolist()
    lon, p_lon = parse_numbers(frame, "lon", what="longitude", ids=ids)
    lat, p_lat = parse_numbers(frame, "lat", what="latitude", ids=ids)
    problems = p_lon + p_lat + range_problems(lon, lat, ids=ids)
    raw = RawTable(source, frame, lon, lat, tuple(problems))
    return stations_from_table(raw, net, crs=crs, max_snap_m=max_snap_m, check_crs=check_crs)


def read_stations(
    path: str | Path,
    net: Network,
    *,
    crs: str = "wgs84",
    max_snap_m: float = STATION_MAX_SNAP_M,
    check_crs: bool = True,
) -> Stations:
    """Read stations from CSV, XLSX or GeoJSON in ``crs`` and place them.

    Required: ``id``, ``name`` and a location (lon/lat columns or point
    geometry). Optional: ``address``, ``amenities``, ``opening_hours``,
    ``status``. Chinese column names (编号, 名称, 经度, 纬度, 地址, 设施,
    开放时间, 状态) are understood too.
    """
    raw = read_table(path, ids=None)
    return stations_from_table(raw, net, crs=crs, max_snap_m=max_snap_m, check_crs=check_crs)


# ---------------------------------------------------------------------------
# population


POPULATION_RULE = (
    "each population unit (a point or cell centre) is snapped to its nearest walkable edge; "
    "its walking time = straight-line walk to that edge + network walk; a unit counts as "
    "covered when that time is within the limit"
)


@dataclass(frozen=True, eq=False)
class Population:
    """Population units on the network.

    ``frame`` has ``unit`` (id), ``population`` (count), ``lon``/``lat``
    (WGS84), ``off_network_m`` and point geometry in the network's CRS.
    """

    frame: gpd.GeoDataFrame
    snapped: Snapped
    source: str = ""
    dropped_units: int = 0
    dropped_population: float = 0.0
    rule: str = POPULATION_RULE

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def count(self) -> NDArray[np.float64]:
        return self.frame["population"].to_numpy(dtype=float)

    @property
    def total(self) -> float:
        return float(self.count.sum())


def population_from_points(
    net: Network,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    count: NDArray[np.float64],
    *,
    unit_ids: Sequence[str] | None = None,
    source: str = "population",
    max_snap_m: float = POPULATION_MAX_SNAP_M,
    on_far: OnFar = "error",
    problems: Sequence[Problem] = (),
) -> Population:
    """Place population units (WGS84 points with counts) on the network.

    Units with zero people that cannot be placed are dropped quietly (water,
    fields); units with people farther than ``max_snap_m`` from a street are an
    error, or with ``on_far="drop"`` are dropped and counted in
    ``dropped_population``.
    """
    if on_far not in ("error", "drop"):
        raise SettingsError(f"on_far must be 'error' or 'drop', not {on_far!r}")
    problems = list(problems)
    ids = list(unit_ids) if unit_ids is not None else [str(i + 1) for i in range(len(count))]
    for i in np.flatnonzero(np.isfinite(count) & (count < 0)):
        problems.append(Problem(f"population is negative ({count[i]})", row=int(i) + 1,
                                ident=ids[i]))
    placement = place_points(net, lon, lat, max_snap_m=max_snap_m, ids=ids,
                             what="population unit")
    far_rows = {p.row for p in placement.problems}
    keep = placement.snapped.ok.copy()
    dropped_units, dropped_pop = 0, 0.0
    for p in placement.problems:
        assert p.row is not None
        row = p.row - 1
        if np.isfinite(count[row]) and count[row] == 0:
            continue  # nobody lives there; nothing to place
        if on_far == "drop":
            dropped_units += 1
            dropped_pop += float(count[row]) if np.isfinite(count[row]) else 0.0
        else:
            problems.append(p)
    if problems:
        raise InputError(source, sorted(problems, key=lambda p: (p.row or 0)))
    if dropped_units:
        log.warning("%s: dropped %d units (%.0f people) farther than %.0f m from any street",
                    source, dropped_units, dropped_pop, max_snap_m)
    zero_far = len(far_rows) - dropped_units
    if zero_far:
        log.info("%s: ignored %d empty units away from the streets", source, zero_far)
    if not keep.any():
        raise InputError(source, "no population unit lies on the network")
    gdf = gpd.GeoDataFrame(
        {
            "unit": np.asarray(ids, dtype=object)[keep],
            "population": count[keep],
            "lon": lon[keep],
            "lat": lat[keep],
            "off_network_m": placement.snapped.off_m[keep],
        },
        geometry=shapely.points(placement.xy[keep]),
        crs=net.crs,
    )
    return Population(gdf, placement.snapped.take(keep), source=source,
                      dropped_units=dropped_units, dropped_population=dropped_pop)


def read_population(
    path: str | Path,
    net: Network,
    *,
    column: str | None = None,
    crs: str = "wgs84",
    max_snap_m: float = POPULATION_MAX_SNAP_M,
    on_far: OnFar = "error",
) -> Population:
    """Read population points/cells with a count column (CSV, XLSX, GeoJSON).

    The count column is ``column`` or the first of population/pop/count/
    people/value/人口/人数; polygons are placed at a point inside them.
    """
    raw = read_table(path)
    source = raw.source
    col = find_column(raw.frame, COUNT_NAMES, explicit=column, source=source)
    if col is None:
        msg = (f"no population count column; name it one of {', '.join(COUNT_NAMES)} or pass "
               f"column=... (--population-column); the file has "
               f"{', '.join(map(str, raw.frame.columns))}")
        raise InputError(source, msg)
    count, p_count = parse_numbers(raw.frame, col, what="population")
    id_col = find_column(raw.frame, ("unit", "id", "h3", "id_hex", "cell", "编号"), source=source)
    ids = (raw.frame[id_col].astype(str).tolist() if id_col is not None
           else [str(i + 1) for i in range(len(count))])
    lon, lat = to_wgs84(raw.lon, raw.lat, check_input_crs(crs))
    return population_from_points(
        net, lon, lat, count, unit_ids=ids, source=source, max_snap_m=max_snap_m, on_far=on_far,
        problems=list(raw.problems) + p_count,
    )
