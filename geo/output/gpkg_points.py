"""Point layers written to a GeoPackage straight from their lon/lat columns.

A district's coverage layer has 100,000 population units: points whose WGS84
lon/lat the frame already carries. Written through geopandas, every point is
projected again into a new GEOS geometry (0.2 s on the district, almost all of it
making geometries) and encoded to WKB again. Here the WKB is laid out by numpy
from the lon/lat columns (21 bytes a point) and handed to GDAL through Arrow,
which is what pyogrio's own Arrow path writes, without the geometries.

Only for frames whose lon/lat columns are their geometry: every row a point, the
columns finite, and a sample of the geometry projected to WGS84 within a
millimetre of them. Anything else is written the general way (the caller's).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from circle15.geo.output.out_crs import pyproj_crs, table_in

#: rows whose geometry is checked against the lon/lat columns
_SAMPLE = 64
#: how far (degrees, about a millimetre) the columns may be from the geometry
_TOLERANCE_DEG = 1e-8
#: a WKB point: byte order (1 = little endian), type (1 = Point), x, y
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def lonlat_is_geometry(gdf: gpd.GeoDataFrame) -> bool:
    """Whether the frame's ``lon``/``lat`` columns are its point geometry in WGS84."""
    if gdf.crs is None or len(gdf) == 0 or not {"lon", "lat"} <= set(gdf.columns):
        return False
    try:
        lon = gdf["lon"].to_numpy(dtype=float)
        lat = gdf["lat"].to_numpy(dtype=float)
    except (TypeError, ValueError):
        return False
    geoms = gdf.geometry.to_numpy()
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()
            and (shapely.get_type_id(geoms) == 0).all()):  # 0: Point
        return False
    rows = np.unique(np.linspace(0, len(gdf) - 1, _SAMPLE).astype(np.int64))
    xy = shapely.get_coordinates(geoms[rows])
    if len(xy) != len(rows):  # an empty point
        return False
    to_wgs84 = pyproj.Transformer.from_crs(gdf.crs, 4326, always_xy=True)
    g_lon, g_lat = to_wgs84.transform(xy[:, 0], xy[:, 1])
    return bool((np.abs(g_lon - lon[rows]) <= _TOLERANCE_DEG).all()
                and (np.abs(g_lat - lat[rows]) <= _TOLERANCE_DEG).all())


def point_wkb(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.uint8]:
    """The WKB of points (x, y), one after another (21 bytes each)."""
    out = np.empty(len(x), dtype=_WKB_POINT)
    out["order"], out["type"], out["x"], out["y"] = 1, 1, x, y
    return out.view(np.uint8)


def write_points(path: Path, layer: str, gdf: gpd.GeoDataFrame, out_crs: str) -> bool:
    """Write ``gdf`` as the point layer ``layer`` of the GeoPackage ``path``, in
    ``out_crs`` lon/lat, as :func:`circle15.geo.output.out_crs.frame_in` and geopandas would
    (the same columns, values and CRS). False, writing nothing, when its lon/lat
    columns are not its geometry."""
    import pyarrow as pa
    from pyogrio.raw import write_arrow

    if not lonlat_is_geometry(gdf):
        return False
    attrs = table_in(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), out_crs)
    try:
        table = pa.Table.from_pandas(attrs, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False  # a column Arrow cannot hold: the general way copes
    if any(pa.types.is_null(f.type) for f in table.schema):
        return False
    n = len(attrs)
    wkb = point_wkb(attrs["lon"].to_numpy(dtype=float), attrs["lat"].to_numpy(dtype=float))
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * _WKB_POINT.itemsize).data)
    geometry = pa.Array.from_buffers(pa.binary(), n, [None, offsets, pa.py_buffer(wkb.data)])
    crs = pyproj_crs(out_crs)
    epsg = crs.to_epsg()
    write_arrow(table.append_column("geometry", geometry), str(path), layer=layer,
                driver="GPKG", geometry_name="geometry", geometry_type="Point",
                crs=f"EPSG:{epsg}" if epsg else crs.to_wkt("WKT1_GDAL"))
    return True
