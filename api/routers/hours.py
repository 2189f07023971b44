"""Coverage by hour: the 24-hour table of a day and the planner map's night layer."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from circle15.api.deps import StateDep
from circle15.api.routers.common import GEOJSON, csv_response, records
from circle15.geo.coverage.hourly import DEFAULT_DAY, DemandLayer, coverage_by_hour
from circle15.maps.night import NIGHT_AT, night_overlay

router = APIRouter(tags=["planner"])
Fmt = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
Unknown = Annotated[Literal["open", "closed"], Query(
    description="stations whose opening_hours are unknown count as open (default) or closed")]


@router.get("/coverage/by-hour",
            summary="Covered and cross-covered share per area at each full hour of a day")
def coverage_by_hour_table(
    state: StateDep,
    day: Annotated[str, Query(max_length=10, description="Mo..Su (the next such day) or a "
                                                        "date YYYY-MM-DD")] = DEFAULT_DAY,
    unknown_hours: Unknown = "open",
    format: Fmt = "json",
) -> Any:
    cov = state.coverage()
    hourly = coverage_by_hour([DemandLayer.of("residents", cov)], cov.stations,
                              areas=state.areas, day=day, unknown=unknown_hours)
    if format == "csv":
        return csv_response(hourly.table, "coverage-by-hour")
    return {"day": hourly.day.isoformat(), "layers": list(hourly.layers),
            "unknown_hours": hourly.unknown, "stations_without_hours": hourly.without_hours,
            "note": hourly.note(), "rows": records(hourly.table)}


@router.get("/coverage/night", summary="Coverage at one moment (GeoJSON): stations open or "
                                       "closed, and who loses their station then",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def coverage_night(
    state: StateDep,
    at: Annotated[str, Query(max_length=20, description="'Tu 02:00' (the next such day) or "
                                                        "'2026-11-24 02:00'")] = NIGHT_AT,
    unknown_hours: Unknown = "open",
) -> Response:
    body = night_overlay(state.coverage(), at=at, unknown=unknown_hours)
    return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)
