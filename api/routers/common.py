"""Helpers shared by the routers: GeoJSON responses and CSV tables."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import Depends, Query, Response

from circle15.geo.output.export import csv_text, round_for_csv, safe_for_spreadsheets
from circle15.geo.output.gpkg_points import write_points
from circle15.geo.output.out_crs import frame_in, table_in
from circle15.geo.vocab import CoordSystem, DemandKind, UnknownHours
from circle15.usecases.questions import CoverageQuestion

GEOJSON = "application/geo+json"


def geojson_response(gdf: gpd.GeoDataFrame) -> Response:
    """A FeatureCollection in WGS84 (``application/geo+json``)."""
    out = gdf.to_crs(4326) if gdf.crs is not None else gdf
    geoms = shapely.to_geojson(shapely.transform(out.geometry.to_numpy(),
                                                 lambda xy: np.round(xy, 6)))
    props = pd.DataFrame(out.drop(columns=out.geometry.name)).replace(
        {np.inf: None, -np.inf: None}).astype(object).where(lambda d: d.notna(), None)
    features = ",".join(
        f'{{"type":"Feature","properties":{json.dumps(p, default=_plain, ensure_ascii=False)},'
        f'"geometry":{g}}}' for p, g in zip(props.to_dict("records"), geoms, strict=True))
    body = f'{{"type":"FeatureCollection","features":[{features}]}}'
    return Response(body, media_type=GEOJSON)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def csv_response(frame: pd.DataFrame, name: str) -> Response:
    # with a byte-order mark: Excel (as set up in China) reads BOM-less UTF-8 as GBK
    return Response("\ufeff" + csv_text(frame), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(sheets: dict[str, pd.DataFrame], name: str) -> Response:
    """Tables as one workbook, a sheet each, shown as their CSV would be (rounded by
    unit, formulas neutralised)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as book:
        for title, frame in sheets.items():
            plain = frame.drop(columns="geometry") if "geometry" in frame.columns else frame
            safe_for_spreadsheets(round_for_csv(pd.DataFrame(plain))).to_excel(
                book, sheet_name=title[:31], index=False)
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def gpkg_response(stations: pd.DataFrame, name: str, out_crs: str) -> Response:
    """Station records (WGS84 ``lon``/``lat``) as a GeoPackage point layer in ``out_crs``."""
    gdf = gpd.GeoDataFrame(stations, geometry=gpd.points_from_xy(stations["lon"],
                                                                 stations["lat"]), crs=4326)
    with tempfile.TemporaryDirectory(prefix="c15-gpkg-") as folder:
        path = Path(folder) / f"{name}.gpkg"
        if not write_points(path, "stations", gdf, out_crs):
            frame_in(gdf, out_crs).to_file(path, layer="stations", driver="GPKG")
        body = path.read_bytes()
    return Response(body, media_type="application/geopackage+sqlite3",
                    headers={"Content-Disposition": f'attachment; filename="{name}.gpkg"'})


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.replace({np.inf: None, -np.inf: None}).astype(object)
    return json.loads(json.dumps(clean.where(clean.notna(), None).to_dict("records"),
                                 default=_plain))


# ---------------------------------------------------------------------------
# the coverage question and the output system, as query parameters (one vocabulary with
# the command line: circle15.geo.vocab)

DemandQ = Annotated[DemandKind | None, Query(
    description="who to count: residents, workers or mix (default: the service's "
                "CIRCLE15_DEMAND); workers and the mix load on first ask")]
AtQ = Annotated[str | None, Query(
    max_length=20, description="count only the stations open then: 'Tu 02:00' (the next "
                               "such day) or '2026-11-24 02:00', in the area's time zone")]
UnknownQ = Annotated[UnknownHours, Query(
    description="stations whose opening_hours are unknown count as open (default) or closed")]
OutCrsQ = Annotated[CoordSystem, Query(
    description="coordinates of the download: wgs84 (default), gcj02 (Amap) or bd09 "
                "(Baidu); the CSV says which in its crs column")]


def question(demand: DemandQ = None, at: AtQ = None,
             unknown_hours: UnknownQ = UnknownHours.OPEN) -> CoverageQuestion:
    """The coverage question of a request, as the command line's options give it."""
    return CoverageQuestion(demand=None if demand is None else str(demand), at=at or None,
                            unknown_hours=str(unknown_hours))


QuestionDep = Annotated[CoverageQuestion, Depends(question)]


def table_response(frame: pd.DataFrame, name: str, out_crs: str) -> Response:
    """A CSV download with its lon/lat in ``out_crs``."""
    return csv_response(table_in(frame, out_crs), name)


def geojson_in(gdf: gpd.GeoDataFrame, out_crs: str) -> Response:
    """GeoJSON whose coordinates (and lon/lat properties) are in ``out_crs`` (RFC 7946
    readers assume WGS84: other systems are for the Chinese map platforms' SDKs)."""
    if out_crs == CoordSystem.WGS84:
        return geojson_response(gdf)
    return geojson_response(frame_in(gdf, out_crs).set_crs(None, allow_override=True))
