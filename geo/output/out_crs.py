"""Outputs in the coordinate system of the map platform they are for.

Everything is computed in metres and leaves as WGS84 (EPSG:4326) unless the
planner asks for GCJ-02 (Amap, Tencent) or BD-09 (Baidu): then every vertex of
every geometry and every ``lon``/``lat`` column is converted by the project's
formulas (:mod:`circle15.geo.crs`), and the output says so: each table gets a
``coord_crs`` column and GeoPackage layers declare a geographic CRS named for
the offset system (GCJ-02 and BD-09 have no EPSG code; their datum is WGS84's,
so tools that ignore the name place them as they would on those platforms).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from circle15.geo.crs import InputCRS, check_input_crs, wgs84_to_bd09, wgs84_to_gcj02

#: the column that says which system a table's lon/lat are in
CRS_COLUMN = "coord_crs"
#: what each output system is, for people
CRS_LABELS = {"wgs84": "WGS84 (EPSG:4326; GPS, OSM)",
              "gcj02": "GCJ-02 (Amap/Gaode, Tencent)",
              "bd09": "BD-09 (Baidu)"}

_Arr = NDArray[np.float64]


def check_output_crs(crs: str) -> InputCRS:
    """A user's output system (wgs84, gcj02, bd09; aliases as for inputs)."""
    return check_input_crs(crs)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[_Arr, _Arr]:
    """WGS84 degrees -> ``crs`` degrees."""
    kind = check_output_crs(crs)
    if kind == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if kind == "bd09":
        return wgs84_to_bd09(lon, lat)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def geometries_from_wgs84(geoms: ArrayLike, crs: str) -> NDArray[np.object_]:
    """Every vertex of WGS84 shapely geometries converted to ``crs``."""
    kind = check_output_crs(crs)
    arr = np.asarray(geoms, dtype=object)
    if kind == "wgs84":
        return arr

    def convert(xy: _Arr) -> _Arr:
        return np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], kind))

    return np.asarray(shapely.transform(arr, convert), dtype=object)


def pyproj_crs(crs: str) -> pyproj.CRS:
    """The CRS a GeoPackage layer in ``crs`` declares: EPSG:4326, or a geographic CRS
    on the WGS84 datum named for the offset system."""
    kind = check_output_crs(crs)
    if kind == "wgs84":
        return pyproj.CRS.from_epsg(4326)
    # WGS84's ellipsoid under a datum of its own name, so that no tool (GDAL included)
    # matches it to EPSG:4326 and the file names the system its coordinates are in
    wkt = (f'GEOGCS["{CRS_LABELS[kind]}",DATUM["{kind.upper()} offset of WGS 84",'
           'SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],'
           'UNIT["degree",0.0174532925199433],AXIS["Longitude",EAST],AXIS["Latitude",NORTH]]')
    return pyproj.CRS.from_wkt(wkt)


def _lonlat_pairs(columns: list[Any]) -> list[tuple[str, str]]:
    """(lon, lat) column pairs: ``lon``/``lat`` and ``<x>_lon``/``<x>_lat``."""
    names = {str(c) for c in columns}
    pairs = []
    for c in map(str, columns):
        if c == "lon" or c.endswith("_lon"):
            lat = c[:-3] + "lat"
            if lat in names:
                pairs.append((c, lat))
    return pairs


def table_in(table: pd.DataFrame, crs: str) -> pd.DataFrame:
    """A copy whose WGS84 lon/lat columns are in ``crs``, with :data:`CRS_COLUMN`
    saying which (only for tables that have coordinates)."""
    kind = check_output_crs(crs)
    pairs = _lonlat_pairs(list(table.columns))
    if not pairs:
        return table
    out = table.copy()
    for lon_c, lat_c in pairs:
        lon = pd.to_numeric(out[lon_c], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(out[lat_c], errors="coerce").to_numpy(dtype=float)
        x, y = from_wgs84(lon, lat, kind)
        out[lon_c], out[lat_c] = x, y
    out[CRS_COLUMN] = kind
    return out


def frame_in(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """A frame in any projected or geographic CRS as lon/lat in ``crs``: geometry
    vertex by vertex, lon/lat columns too, with :data:`CRS_COLUMN` (always: the
    geometry has coordinates)."""
    kind = check_output_crs(crs)
    wgs = gdf.to_crs(4326) if gdf.crs is not None else gdf
    if kind == "wgs84":
        out = wgs.copy()
        out[CRS_COLUMN] = kind
        return out
    geoms = geometries_from_wgs84(wgs.geometry.to_numpy(), kind)
    attrs = table_in(pd.DataFrame(wgs.drop(columns=wgs.geometry.name)), kind)
    out = gpd.GeoDataFrame(attrs, geometry=list(geoms), crs=pyproj_crs(kind))
    if CRS_COLUMN not in out.columns:
        out[CRS_COLUMN] = kind
    return out
