"""Read user tables (CSV, XLSX, GeoJSON/GeoPackage) with clear errors.

Every reader returns the rows as strings or objects plus WGS84-ready
coordinates; checking what the values mean is the caller's job. Row numbers in
error messages count data rows from 1.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from circle15.geo.errors import InputError, Problem
from circle15.geo.inputs.limits import (
    check_shape,
    check_xlsx,
    decode,
    header_of,
    separator_name,
)
from circle15.geo.inputs.limits import current as current_limits

TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb")

#: column names a user might give each field (lower-cased, spaces removed)
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")

#: refuse files bigger than this (bytes); a station or population table this
#: large is almost certainly the wrong file
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class RawTable:
    """Rows of a user file with their coordinates as given (not yet converted).

    ``lon``/``lat`` are NaN where a row had no usable coordinate; the reasons
    are in ``problems``. ``geometry`` is set for vector files (points or
    polygons, WGS84 or the file's declared CRS converted to WGS84).
    """

    source: str
    frame: pd.DataFrame
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    problems: tuple[Problem, ...]
    geometry: NDArray[np.object_] | None = None

    def take(self, index: NDArray[np.int64]) -> RawTable:
        """The rows at ``index``, renumbered from 1 (other rows' problems left behind)."""
        index = np.asarray(index, dtype=np.int64)
        rows = {int(i) + 1: j + 1 for j, i in enumerate(index.tolist())}
        kept = tuple(Problem(p.message, rows[p.row], p.column, p.ident)
                     for p in self.problems if p.row in rows)
        return RawTable(self.source, self.frame.iloc[index].reset_index(drop=True),
                        self.lon[index], self.lat[index], kept,
                        None if self.geometry is None else self.geometry[index])


def columns_text(columns: Iterable[object], most: int = 30) -> str:
    """Column names for a message: the first ``most`` and how many more."""
    names = [str(c) for c in columns]
    more = len(names) - most
    return ", ".join(names[:most]) + (f" and {more:,} more" if more > 0 else "")


def _norm(name: object) -> str:
    return str(name).strip().lower().replace(" ", "").replace("_", "")


def find_column(
    frame: pd.DataFrame, names: Iterable[str], *, explicit: str | None = None, source: str
) -> str | None:
    """The column of ``frame`` matching ``explicit`` or one of ``names``."""
    if explicit is not None:
        if explicit in frame.columns:
            return explicit
        msg = f"no column {explicit!r}; the file has {columns_text(frame.columns)}"
        raise InputError(source, msg)
    by_norm = {_norm(c): c for c in frame.columns}
    for name in names:
        if _norm(name) in by_norm:
            return str(by_norm[_norm(name)])
    return None


def parse_numbers(
    frame: pd.DataFrame, column: str, *, what: str, ids: Sequence[str] | None = None
) -> tuple[NDArray[np.float64], list[Problem]]:
    """Parse a column as finite floats; report every row that is not one."""
    raw = frame[column]
    values = np.array(pd.to_numeric(raw, errors="coerce"), dtype=float)  # writable copy
    problems = []
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        given = raw.iloc[i]
        shown = "" if given is None or (isinstance(given, float) and math.isnan(given)) else given
        reason = "is empty" if shown == "" else f"is not a finite number ({shown!r})"
        problems.append(
            Problem(f"{what} {reason}", row=int(i) + 1, column=column,
                    ident=None if ids is None else ids[i])
        )
        values[i] = np.nan
    return values, problems


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV as text cells, its encoding (UTF-8 with or without a byte-order mark, or
    GB18030/GBK) and separator (comma, semicolon, tab, vertical bar) found first, and
    its shape checked against the reading limits before pandas builds it."""
    source = str(path)
    limits = current_limits()
    text, encoding = decode(path.read_bytes(), source)
    _, sep, columns = header_of(text, source, limits)
    check_shape(source, text.count("\n"), columns, limits)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(source, f"not a readable CSV table ({exc}; read as {encoding}, "
                                 f"{separator_name(sep)}-separated)") from exc
    frame.attrs["read_as"] = f"{encoding}, {separator_name(sep)}-separated"
    return frame


def check_size(path: Path) -> None:
    if not path.is_file():
        raise InputError(str(path), "no such file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        msg = f"the file is {size / 1e6:,.0f} MB, over the {MAX_FILE_BYTES / 1e6:,.0f} MB limit"
        raise InputError(str(path), msg)
    if size == 0:
        raise InputError(str(path), "the file is empty")


def _head(path: Path, n: int = 4096) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def sniff(path: Path) -> None:
    """Refuse a file whose content does not match its name, in plain words."""
    suffix = path.suffix.lower()
    head = _head(path)
    is_zip = head.startswith(b"PK\x03\x04")
    textual = b"\x00" not in head
    looks_json = head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"["))
    source = str(path)
    if suffix in (".xlsx", ".xlsm") and not is_zip:
        hint = (" (it looks like a text table: save it as .csv)" if textual and not looks_json
                else "")
        raise InputError(source, f"is named {suffix} but is not an Excel workbook{hint}")
    if suffix in (".csv", ".txt") and not textual:
        what = "an Excel workbook: save it as .xlsx" if is_zip else "binary data"
        raise InputError(source, f"is named {suffix} but is not a text table (it looks like "
                                 f"{what})")
    if suffix in (".geojson", ".json") and not looks_json:
        raise InputError(source, f"is named {suffix} but is not GeoJSON (it does not start "
                                 "with '{')")
    if suffix == ".fgb" and not head.startswith(b"fgb"):
        raise InputError(source, "is named .fgb but is not a FlatGeobuf file")
    if suffix == ".gpkg" and not head.startswith(b"SQLite format 3"):
        raise InputError(source, "is named .gpkg but is not a GeoPackage")


def read_table(
    path: str | Path,
    *,
    lon_column: str | None = None,
    lat_column: str | None = None,
    ids: str | None = None,
) -> RawTable:
    """Read a CSV/XLSX table or a vector file into a :class:`RawTable`.

    Tables need longitude and latitude columns (``lon``/``lng``/``longitude``/
    ``x``/``经度`` and ``lat``/``latitude``/``y``/``纬度``, or the names given);
    vector files carry geometry (points, or polygons reduced to a point inside).
    """
    path = Path(path)
    source = str(path)
    check_size(path)
    sniff(path)
    suffix = path.suffix.lower()
    if suffix in VECTOR_SUFFIXES:
        return _read_vector(path)
    if suffix in (".xlsx", ".xlsm"):
        check_xlsx(path, source, current_limits())
        try:
            frame = pd.read_excel(path, dtype=object)
        except Exception as exc:  # openpyxl raises many kinds on bad files
            raise InputError(source, f"not a readable Excel workbook ({exc})") from exc
        frame = frame.where(pd.notna(frame), "")
    elif suffix in (".csv", ".txt"):
        frame = read_csv(path)
    else:
        msg = f"unsupported file type {suffix!r}; use {', '.join(TABLE_SUFFIXES + VECTOR_SUFFIXES)}"
        raise InputError(source, msg)
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise InputError(source, "the table has no rows")
    lon_col = find_column(frame, LON_NAMES, explicit=lon_column, source=source)
    lat_col = find_column(frame, LAT_NAMES, explicit=lat_column, source=source)
    missing = [n for n, c in (("longitude", lon_col), ("latitude", lat_col)) if c is None]
    if missing:
        msg = (
            f"missing {' and '.join(missing)} column(s); expected one of "
            f"{'/'.join(LON_NAMES)} and {'/'.join(LAT_NAMES)}; "
            f"the file has {columns_text(frame.columns)}"
            + (f" (read as {frame.attrs['read_as']})" if "read_as" in frame.attrs else "")
        )
        raise InputError(source, msg)
    assert lon_col is not None and lat_col is not None
    id_values = None
    if ids is not None and ids in frame.columns:
        id_values = frame[ids].astype(str).tolist()
    lon, p_lon = parse_numbers(frame, lon_col, what="longitude", ids=id_values)
    lat, p_lat = parse_numbers(frame, lat_col, what="latitude", ids=id_values)
    problems = p_lon + p_lat
    problems += range_problems(lon, lat, ids=id_values)
    return RawTable(source, frame, lon, lat, tuple(problems))


def range_problems(
    lon: NDArray[np.float64], lat: NDArray[np.float64], *, ids: Sequence[str] | None = None
) -> list[Problem]:
    """Rows whose longitude/latitude are outside [-180, 180] / [-90, 90]."""
    problems = []
    for i in np.flatnonzero((np.abs(lon) > 180) | (np.abs(lat) > 90)).tolist():
        hint = ""
        if abs(lat[i]) > 90 and abs(lon[i]) <= 90:
            hint = " (are longitude and latitude swapped?)"
        problems.append(
            Problem(
                f"coordinate lon={lon[i]}, lat={lat[i]} is out of range{hint}",
                row=int(i) + 1,
                ident=None if ids is None else ids[i],
            )
        )
    return problems


def _read_vector(path: Path) -> RawTable:
    import geopandas as gpd

    source = str(path)
    try:
        import pyogrio

        features = int(pyogrio.read_info(path).get("features") or 0)
    except Exception:  # unreadable: said below, by the reader itself
        features = 0
    check_shape(source, features, 1, current_limits())
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio/GDAL raise DataSourceError and friends
        reason = str(exc).replace(str(path), path.name)
        raise InputError(source, f"not a readable vector file ({reason})") from exc
    if gdf.empty:
        raise InputError(source, "the file has no features")
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geoms = gdf.geometry.to_numpy()
    problems = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        problems.append(Problem("feature has no geometry", row=int(i) + 1))
    many = np.flatnonzero(~missing & (shapely.get_type_id(geoms) == 4)
                          & (shapely.get_num_geometries(geoms) > 1))
    for j in many.tolist():  # a MultiPoint is many places, not one
        problems.append(Problem(f"a MultiPoint of {shapely.get_num_geometries(geoms[j]):,} "
                                "points is not one place: give one Point feature per "
                                "place", row=int(j) + 1))
    missing = missing.copy()
    missing[many] = True
    points = np.array([None] * len(geoms), dtype=object)
    have = ~missing
    if have.any():
        is_point = shapely.get_type_id(geoms[have]) == 0
        pts = np.where(is_point, geoms[have], shapely.point_on_surface(geoms[have]))
        points[have] = pts
    xy = np.full((len(geoms), 2), np.nan)
    if have.any():
        xy[have] = shapely.get_coordinates(points[have])[:, :2]
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    problems += range_problems(xy[:, 0], xy[:, 1])
    return RawTable(source, frame, xy[:, 0], xy[:, 1], tuple(problems), geometry=geoms)
