"""Courier endpoint: the nearest stations by walking time, with the route."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from circle15.api.deps import StateDep
from circle15.api.schemas import CRS
from circle15.geo.layers import AMENITY_ALIASES
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

router = APIRouter(tags=["courier"])
Amenity = Annotated[str | None, Query(description="only stations offering this: "
                                      + ", ".join(AMENITY_ALIASES),
                                      pattern="^(" + "|".join(AMENITY_ALIASES) + ")$")]


class Route(BaseModel):
    type: Literal["LineString"]
    coordinates: list[list[float]]


class NearestStationOut(BaseModel):
    id: str
    name: str
    distance_m: float
    walk_min: float
    amenities: list[str]
    opening_hours: str
    open_now: bool | None
    lon: float
    lat: float
    route: Route


class NearestAnswer(BaseModel):
    """The stations, nearest first; coordinates in ``crs``."""

    crs: str
    walking_speed_kmh: float
    limit_min: float
    stations: list[NearestStationOut]


@router.get("/nearest", summary="The k nearest stations by walking time, with routes",
            response_model=NearestAnswer,
            openapi_extra={"x-example": "/nearest?lon=24.94&lat=60.17&k=3"})
async def nearest(
    state: StateDep,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="longitude")],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="latitude")],
    k: Annotated[int, Query(ge=1, le=20)] = 3,
    amenity: Amenity = None,
    open_now: bool = False,
    crs: Annotated[CRS, Query(description="coordinate system of lon/lat and of the answer")]
    = "wgs84",
) -> Response:
    # a sub-millisecond lookup: answered on the event loop and serialised directly
    # (FastAPI's generic encoder would cost more than the search itself)
    index = state.nearest()
    when = datetime.now(ZoneInfo(state.settings.timezone)).replace(tzinfo=None)
    found = index.query(lon, lat, k=k, crs=crs, amenity=amenity, open_now=open_now, when=when)
    body = {"crs": crs, "walking_speed_kmh": index.coverage.settings.speed_kmh,
            "limit_min": index.coverage.settings.minutes,
            "stations": [f.as_dict() for f in found]}
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    media_type="application/json")
