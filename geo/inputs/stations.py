"""Stations: read, validated, converted to WGS84 and placed on the network."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from circle15.geo.crs import check_input_crs, to_wgs84
from circle15.geo.errors import InputError, Problem
from circle15.geo.inputs.station_hours import OpeningHoursError, check_opening_hours
from circle15.geo.inputs.tables import (
    RawTable,
    columns_text,
    find_column,
    parse_numbers,
    read_table,
)
from circle15.geo.network.graph import Network
from circle15.geo.snapping.placement import check_declared_crs, place_points
from circle15.geo.snapping.snap import DEFAULT_RULE, Snapped, SnapRule
from circle15.geo.vocab import STATION_MAX_SNAP_M

#: default farthest a station may be from a walkable street (metres); a
#: street-front shop is normally within a few tens of metres of one
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
    "battery_swap": ("battery_swap", "battery_swapping", "battery swap", "换电", "换电柜",
                     "电池更换", "换电池"),
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


#: what a station id may be, after NFKC normalisation (full-width Ａ１ is A1, the Kelvin
#: sign is K, the ligature ﬁ is fi): ASCII letters and digits, Chinese characters and
#: _ . : - (so that it stands in a URL path and no two ids look alike: Cyrillic А, Greek
#: Α and Arabic-Indic digits are refused), at most 64 characters, not dots alone
ID_PATTERN = r"^[A-Za-z0-9_.:\-\u3400-\u4dbf\u4e00-\u9fff]{1,64}$"
_ID_RE = re.compile(ID_PATTERN)
#: characters that reorder text (bidirectional embeddings, overrides and isolates): a
#: name that shows one thing and stores another
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def normal_id(sid: str) -> str:
    """A station id as it is stored and compared: NFKC-normalised and stripped."""
    return unicodedata.normalize("NFKC", sid).strip()


def _visible(text: str) -> bool:
    """Whether ``text`` has a character one can see (not only spaces, zero-width or
    formatting characters, or combining marks)."""
    return any(not ch.isspace() and unicodedata.category(ch)[0] not in ("C", "M", "Z")
               for ch in text)
#: the longest text each field may hold (characters), as the database stores them
TEXT_LIMITS = {"name": 200, "address": 500, "amenities": 500, "opening_hours": 200}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def id_problem(sid: str) -> str | None:
    """Why ``sid`` cannot be a station id (None when it can): one rule for every path."""
    if not _ID_RE.match(sid) or set(sid) == {"."}:
        odd = [ch for ch in sid if not _ID_RE.match(ch) and ch not in ".:-_"][:3]
        named = ", ".join(f"{ch!r} ({unicodedata.name(ch, f'U+{ord(ch):04X}')})"
                          for ch in odd)
        return (f"station id {sid[:80]!r} is not allowed: use at most 64 ASCII letters and "
                "digits, Chinese characters and _ . : - (no spaces or slashes)"
                + (f"; it has {named}" if named else ""))
    return None


def text_problems(field: str, values: list[str], *, column: str | None,
                  ids: list[str]) -> list[Problem]:
    """Texts too long for the store or holding control characters (NUL and friends)."""
    limit = TEXT_LIMITS[field]
    problems = []
    for i, v in enumerate(values):
        if len(v) > limit:
            problems.append(Problem(f"{field} is {len(v)} characters long; at most {limit}",
                                    row=i + 1, column=column, ident=ids[i] or None))
        if _CONTROL.search(v):
            problems.append(Problem(f"{field} contains a control character (such as NUL)",
                                    row=i + 1, column=column, ident=ids[i] or None))
        if _BIDI.search(v):
            problems.append(Problem(f"{field} contains a character that reverses or reorders "
                                    "text (a bidirectional override)", row=i + 1,
                                    column=column, ident=ids[i] or None))
    return problems


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
    rule: SnapRule = DEFAULT_RULE,
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
               f"the file has {columns_text(frame.columns)}")
        raise InputError(source, msg)
    ids = [normal_id(s) for s in _text_column(frame, id_col)]
    names = _text_column(frame, name_col)
    problems = list(raw.problems)
    for i, (sid, name) in enumerate(zip(ids, names, strict=True)):
        if not sid:
            problems.append(Problem("station id is empty", row=i + 1, column=id_col))
        elif (why := id_problem(sid)) is not None:
            problems.append(Problem(why, row=i + 1, column=id_col))
        if not _visible(name):
            problems.append(Problem("station name is empty" if not name else
                                    "station name has no visible character", row=i + 1,
                                    column=name_col, ident=sid or None))
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
    address_col = find_column(frame, ADDRESS_NAMES, source=source)
    hours_col = find_column(frame, HOURS_NAMES, source=source)
    addresses = _text_column(frame, address_col)
    hours = _text_column(frame, hours_col)
    for field, col, values in (("name", name_col, names), ("address", address_col, addresses),
                               ("opening_hours", hours_col, hours),
                               ("amenities", amen_col, amenities)):
        problems += text_problems(field, values, column=col, ids=ids)
    for i, spec in enumerate(hours):
        try:
            check_opening_hours(spec)
        except OpeningHoursError as exc:
            problems += [Problem(p.message, row=i + 1, column=hours_col, ident=ids[i] or None)
                         for p in exc.problems]
    lon, lat = to_wgs84(raw.lon, raw.lat, kind)
    # converting (BD-09 at the antimeridian, say) can push a coordinate out of range
    converted = np.isfinite(raw.lon) & np.isfinite(raw.lat) & (
        (np.abs(raw.lon) <= 180) & (np.abs(raw.lat) <= 90))
    for i in np.flatnonzero(converted & ((np.abs(lon) > 180) | (np.abs(lat) > 90))).tolist():
        problems.append(Problem(f"lon={raw.lon[i]}, lat={raw.lat[i]} in {kind} is "
                                f"lon={lon[i]:.6f}, lat={lat[i]:.6f} in WGS84: out of range",
                                row=i + 1, ident=ids[i] or None))
    if not problems and check_crs:
        check_declared_crs(net, raw.lon, raw.lat, declared=kind, source=source)
    placement = place_points(net, lon, lat, max_snap_m=max_snap_m, ids=ids, what="station",
                             rule=rule, strict=True)
    problems += placement.problems
    if problems:
        raise InputError(source, sorted(problems, key=lambda p: (p.row or 0)))
    gdf = gpd.GeoDataFrame(
        {
            "id": ids,
            "name": names,
            "address": addresses,
            "amenities": amenities,
            "opening_hours": hours,
            "status": statuses,
            "lon": lon,
            "lat": lat,
            "off_network_m": placement.snapped.off_m,
            "snap_way": net.edge_way[placement.snapped.edge],
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
    rule: SnapRule = DEFAULT_RULE,
) -> Stations:
    """Validate station records (dicts with id, name, lon, lat, …) and place them.

    The same checks as for a file: the API's create, update and import go
    through here.
    """
    from circle15.geo.inputs.tables import range_problems

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
    return stations_from_table(raw, net, crs=crs, max_snap_m=max_snap_m, check_crs=check_crs,
                               rule=rule)


def read_stations(
    path: str | Path,
    net: Network,
    *,
    crs: str = "wgs84",
    max_snap_m: float = STATION_MAX_SNAP_M,
    check_crs: bool = True,
    rule: SnapRule = DEFAULT_RULE,
) -> Stations:
    """Read stations from CSV, XLSX or GeoJSON in ``crs`` and place them.

    Required: ``id``, ``name`` and a location (lon/lat columns or point
    geometry). Optional: ``address``, ``amenities``, ``opening_hours``,
    ``status``. Chinese column names (编号, 名称, 经度, 纬度, 地址, 设施,
    开放时间, 状态) are understood too.
    """
    raw = read_table(path, ids=None)
    return stations_from_table(raw, net, crs=crs, max_snap_m=max_snap_m, check_crs=check_crs,
                               rule=rule)


