"""Courier endpoint: the nearest stations by walking time, with the route."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from circle15.api.deps import StateDep
from circle15.api.state import AppState
from circle15.geo import vocab
from circle15.geo.courier.nearest import NearestAnswer, NearestIndex
from circle15.geo.errors import SettingsError
from circle15.geo.inputs.stations import AMENITY_ALIASES
from circle15.geo.vocab import CoordSystem, Mode, words

router = APIRouter(tags=["courier"])
#: the bounds of a courier's question: the route's validation and the quick path's check
#: (:func:`within_bounds`) read them both
LON_RANGE, LAT_RANGE, K_RANGE = (-180.0, 180.0), (-90.0, 90.0), (1, vocab.NEAREST_K_MAX)


def within_bounds(lon: float, lat: float, k: int) -> bool:
    return (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]
            and K_RANGE[0] <= k <= K_RANGE[1])


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
    lon: Annotated[float, Query(ge=LON_RANGE[0], le=LON_RANGE[1], allow_inf_nan=False,
                                description="longitude")],
    lat: Annotated[float, Query(ge=LAT_RANGE[0], le=LAT_RANGE[1], allow_inf_nan=False,
                                description="latitude")],
    k: Annotated[int, Query(ge=K_RANGE[0], le=K_RANGE[1])] = vocab.NEAREST_K,
    amenity: Amenity = None,
    open_now: bool = False,
    open_24h: Annotated[bool, Query(description="only stations open 24/7")] = False,
    crs: Annotated[CoordSystem, Query(
        description="coordinate system of lon/lat and of the answer")] = CoordSystem.WGS84,
    mode: Annotated[Mode | None, Query(
        description="travel mode the times are for: walk, ebike or bike; the service "
                    "answers in its own (CIRCLE15_MODE, default walk)")] = None,
) -> Response:
    if mode is not None and mode != state.settings.mode:
        # one network per service: CIRCLE15_MODE chooses it
        raise SettingsError(f"mode={mode}: this service computes {state.settings.mode} times "
                            f"(CIRCLE15_MODE={state.settings.mode}); a service started with "
                            f"CIRCLE15_MODE={mode} answers for {mode}")
    # a lookup of a millisecond: answered on the event loop and serialised directly
    # (FastAPI's generic encoder would cost more than the search itself); only while the
    # index is rebuilt after a station change is the wait moved off the loop
    index = state.current_nearest() or await run_in_threadpool(state.nearest)
    return Response(answer_json(state, index, lon, lat, k=k, crs=str(crs), amenity=amenity,
                                open_now=open_now, open_24h=open_24h),
                    media_type="application/json")


def answer_json(state: AppState, index: NearestIndex, lon: float, lat: float,
                **query: Any) -> bytes:
    """The body of a /nearest answer (both ways in: the route above and
    :func:`quick_nearest`)."""
    # an aware time: the stations' hours convert it to the area's own zone
    when = datetime.now(ZoneInfo(state.settings.timezone))
    answer = index.answer(lon, lat, when=when, **query)
    return orjson.dumps(answer.as_dict(), option=orjson.OPT_SERIALIZE_NUMPY)


_NUMBER = re.compile(r"-?\d{1,3}(\.\d{1,12})?")
_QUICK_CRS = frozenset(words(CoordSystem))


def quick_nearest(state: AppState | None, query: str) -> bytes | None:
    """/nearest for the courier's everyday question (``lon``, ``lat``, ``k``, ``crs``
    and nothing else) without FastAPI's per-request validation and dependency work.

    None for anything else: another parameter, a value the route would refuse, a
    position the index refuses, an index being rebuilt. The request then goes the
    documented way and gets the same answer, or its proper error.
    """
    if state is None:
        return None
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs) or not {"lon", "lat"} <= params.keys() <= {
            "lon", "lat", "k", "crs"}:
        return None
    lon_s, lat_s, k_s = params["lon"], params["lat"], params.get("k", str(vocab.NEAREST_K))
    crs = params.get("crs", "wgs84")
    if not (_NUMBER.fullmatch(lon_s) and _NUMBER.fullmatch(lat_s) and k_s.isdigit()
            and len(k_s) <= 2 and crs in _QUICK_CRS):
        return None
    lon, lat, k = float(lon_s), float(lat_s), int(k_s)
    if not within_bounds(lon, lat, k):
        return None
    try:  # anything wrong (storage down, a position refused) is said by the route
        index = state.current_nearest()
        return None if index is None else answer_json(state, index, lon, lat, k=k, crs=crs)
    except Exception:
        return None
