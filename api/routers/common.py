"""Helpers shared by the routers: GeoJSON responses and CSV tables."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import Response

from circle15.geo.output.export import csv_text

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


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.replace({np.inf: None, -np.inf: None}).astype(object)
    return json.loads(json.dumps(clean.where(clean.notna(), None).to_dict("records"),
                                 default=_plain))
