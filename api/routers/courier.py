"""Courier endpoint: the nearest stations by walking time, with the route."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from circle15.api.deps import StateDep
from circle15.api.schemas import CRS
from circle15.geo.nearest import NearestAnswer
from circle15.geo.stations import AMENITY_ALIASES

router = APIRouter(tags=["courier"])
_AMENITY_WORDS = sorted({w for k, words in AMENITY_ALIASES.items() for w in (k, *words)},
                        key=len, reverse=True)
Amenity = Annotated[str | None, Query(description="only stations offering this: "
                                      + ", ".join(AMENITY_ALIASES)
                                      + " (or their Chinese words, e.g. 换电)",
                                      pattern="(?i)^(" + "|".join(_AMENITY_WORDS)
                                      + ")$")]


# the answer's schema is geo's own result type (a dataclass): one definition for
# geo, this endpoint and the courier page
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
    open_24h: Annotated[bool, Query(description="only stations open 24/7")] = False,
    crs: Annotated[CRS, Query(description="coordinate system of lon/lat and of the answer")]
    = "wgs84",
) -> Response:
    # a sub-millisecond lookup: answered on the event loop and serialised directly
    # (FastAPI's generic encoder would cost more than the search itself)
    index = state.nearest()
    # an aware time: the stations' hours convert it to the area's own zone
    when = datetime.now(ZoneInfo(state.settings.timezone))
    answer = index.answer(lon, lat, k=k, crs=crs, amenity=amenity, open_now=open_now, when=when,
                          open_24h=open_24h)
    return Response(json.dumps(answer.as_dict(), ensure_ascii=False, separators=(",", ":")),
                    media_type="application/json")
