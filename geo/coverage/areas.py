"""Admin areas (towns, subdistricts: 镇/街道) read from a planner's file: named polygons
placed in the network's metric CRS, with an English name where the file has one."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from circle15.geo.coverage.count import Areas
from circle15.geo.crs import check_input_crs, geometries_to_wgs84
from circle15.geo.errors import InputError, ref
from circle15.geo.inputs.tables import find_column
from circle15.geo.network.graph import Network

#: columns that hold an area's English name, beside its own
AREA_NAME_EN_NAMES = ("name_en", "name:en", "english", "英文名")
AREA_NAME_NAMES = ("name", "名称", "town", "street", "街道", "乡镇", "district", "区县", "NAME")


def read_areas(
    path: str | Path, net: Network, *, crs: str = "wgs84", name_column: str | None = None
) -> Areas:
    """Read admin-area polygons with a name (GeoJSON, GeoPackage, Shapefile).

    Polygons from Amap (GCJ-02) or Baidu (BD-09) are converted vertex by
    vertex with ``crs``. Areas that do not touch the network are kept (their
    population is zero) but an area file that misses the network entirely is
    an error.
    """
    from circle15.geo.inputs.tables import check_size

    path = Path(path)
    source = str(path)
    check_size(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds on bad input
        raise InputError(source, f"not a readable vector file ({exc})") from exc
    if gdf.empty:
        raise InputError(source, "the file has no features")
    kind = check_input_crs(crs)
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        if kind != "wgs84":
            raise InputError(source, f"{ref('areas_crs')} {kind} needs lon/lat coordinates, "
                             "but the file "
                             f"declares {gdf.crs.name}")
        gdf = gdf.to_crs(4326)
    col = find_column(gdf, AREA_NAME_NAMES, explicit=name_column, source=source)
    if col is None:
        raise InputError(source, f"no area name column; name it one of "
                         f"{', '.join(AREA_NAME_NAMES)} or pass {ref('areas_name_column')}")
    geoms = gdf.geometry.to_numpy()
    bad = ~np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:10])
        raise InputError(source, f"features {rows} are not polygons")
    geoms = shapely.make_valid(geometries_to_wgs84(geoms, kind))
    frame = gpd.GeoDataFrame({"name": gdf[col].astype(str).to_numpy()},
                             geometry=list(geoms), crs=4326).to_crs(net.crs)
    col_en = find_column(gdf, AREA_NAME_EN_NAMES, source=source)
    if col_en is not None and col_en != col:
        frame["name_en"] = gdf[col_en].fillna("").astype(str).to_numpy()
    if not frame.geometry.intersects(net.hull).any():
        raise InputError(source, "no area overlaps the network (wrong file or wrong crs?)")
    return Areas(frame, source)
