"""Coverage by hour: the 24-hour table of a day and the planner map's night layer."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from circle15.api.deps import StateDep
from circle15.api.routers.common import GEOJSON, DemandQ, UnknownQ, csv_response, records
from circle15.geo.vocab import DAY, UnknownHours
from circle15.maps.night import NIGHT_AT, night_overlay
from circle15.usecases.questions import hours_of_day, layers_for

router = APIRouter(tags=["planner"])
Fmt = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]

@router.get("/coverage/by-hour",
            summary="Covered and cross-covered share per area at each full hour of a day")
def coverage_by_hour_table(
    state: StateDep,
    day: Annotated[str, Query(max_length=10, description="Mo..Su (the next such day) or a "
                                                        "date YYYY-MM-DD")] = DAY,
    demand: DemandQ = None,
    unknown_hours: UnknownQ = UnknownHours.OPEN,
    format: Fmt = "json",
) -> Any:
    """Every demand layer the command line's ``--by-hour --demand D`` counts (residents;
    workers for workers or the mix; the mix), with the same numbers."""
    name = str(demand) if demand is not None else state.layers().primary
    layers = layers_for(state.layers(name), name)
    hourly = hours_of_day(state.area, state.coverage(), layers, day=day,
                          unknown_hours=str(unknown_hours))
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
    unknown_hours: UnknownQ = UnknownHours.OPEN,
) -> Response:
    body = night_overlay(state.coverage(), at=at, unknown=str(unknown_hours))
    return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)
