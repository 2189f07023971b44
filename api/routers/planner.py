"""Planner endpoints: coverage, areas, isochrones, population, gaps, siting, what-if."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request, Response

from circle15.api.deps import StateDep
from circle15.api.routers.common import (
    OutCrsQ,
    QuestionDep,
    csv_response,
    geojson_in,
    geojson_response,
    records,
    table_response,
)
from circle15.api.schemas import SitingRequest, WhatIfRequest
from circle15.geo import vocab
from circle15.geo.coverage.gaps import find_gaps
from circle15.geo.coverage.isochrones import isochrones
from circle15.geo.coverage.whatif import what_if
from circle15.geo.errors import InputError, NotFoundError
from circle15.geo.vocab import CoordSystem, GapLevel
from circle15.usecases import CandidateSpec, SitingSpec, build_candidates, site
from circle15.usecases.area import stations_of_records

router = APIRouter(tags=["planner"])
Fmt = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]


@router.get("/coverage/summary", summary="Covered, cross-covered, uncovered people per band")
def coverage_summary(state: StateDep, q: QuestionDep, format: Fmt = "json") -> Any:
    """The same numbers as ``circle15 coverage`` (``summary.csv``) with the same
    ``--demand``, ``--at`` and ``--unknown-hours``."""
    cov = state.answer(q)
    table = cov.summary()
    if format == "csv":
        return csv_response(table, "coverage-summary")
    return {"minutes": cov.settings.minutes, "speed_kmh": cov.settings.speed_kmh,
            "stations": len(cov.stations), "counting_rule": cov.population.rule,
            "notes": cov.notes, "bands": records(table)}


@router.get("/coverage/areas", summary="Coverage per admin area (geojson: with their "
                                    "outlines, simplified to 20 m)")
def coverage_areas(state: StateDep, q: QuestionDep,
                   format: Annotated[Literal["json", "csv", "geojson"], Query()] = "json"
                   ) -> Any:
    if state.areas is None:
        raise NotFoundError("no areas are configured (set CIRCLE15_AREAS)")
    cov = state.answer(q)
    shapes = cov.by_area(state.areas)
    if format == "geojson":
        return geojson_response(shapes.assign(geometry=shapes.geometry.simplify(20.0)))
    table = shapes.drop(columns="geometry")
    if format == "csv":
        return csv_response(table, "coverage-areas")
    return {"notes": cov.notes, "areas": records(table)}


@router.get("/coverage/stations",
            summary="Each station's load: people whose nearest station it is, per demand layer")
def coverage_stations(state: StateDep, format: Fmt = "json",
                      out_crs: OutCrsQ = CoordSystem.WGS84) -> Any:
    """Per station and demand layer (residents; workers and the mix with
    CIRCLE15_DEMAND): ``{layer}_nearest`` (people within the limit whose nearest
    station it is; these add up to the covered total), ``{layer}_reached`` (within
    its limit, counted at every station reaching them), ``load``, ``load_share``,
    ``overloaded`` (above CIRCLE15_MAX_LOAD) and ``load_rank``."""
    import pandas as pd

    rows = state.station_loads()
    if format == "csv":
        return table_response(pd.DataFrame(rows), "coverage-stations", str(out_crs))
    return {"max_load": state.settings.max_load, "stations": rows}


@router.get("/isochrones", summary="Isochrone polygons (GeoJSON), per station or union",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
def get_isochrones(
    state: StateDep,
    station: Annotated[str | None, Query(max_length=64, description="a station id")] = None,
    minutes: Annotated[float | None, Query(gt=0, le=240, description="one band")] = None,
) -> Response:
    cov = state.coverage()
    bands = cov.settings.bands_min
    if minutes is not None and minutes not in bands:
        raise InputError("minutes", f"minutes must be one of the bands {list(bands)}")
    sel_bands = (minutes,) if minutes is not None else bands
    if station is not None:
        if station not in cov.stations.ids:
            raise NotFoundError(f"no existing station with id {station!r}")
        iso = isochrones(cov, union=False, station_bands_min=sel_bands)
        iso = iso[iso["station"] == station]
    else:
        with state.expensive.turn("isochrones"):
            iso = isochrones(cov, per_station=False, bands_min=sel_bands)
    return geojson_response(iso)


@router.get("/population", summary="Population units with walking times and station counts",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
def population(state: StateDep, q: QuestionDep, out_crs: OutCrsQ = CoordSystem.WGS84
               ) -> Response:
    units = state.answer(q).units_frame()
    return geojson_in(units.drop(columns=["lon", "lat"]), out_crs)


@router.get("/gaps", summary="Gap areas, ranked by people not served",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
def gaps(
    state: StateDep,
    q: QuestionDep,
    level: Annotated[GapLevel, Query()] = GapLevel.COVERED,
    hex_m: Annotated[float, Query(ge=50, le=5000)] = vocab.GAP_HEX_M,
    merge: bool = False,
    out_crs: OutCrsQ = CoordSystem.WGS84,
) -> Response:
    gaps = find_gaps(state.answer(q), level=str(level), hex_m=hex_m,
                     merge=merge, areas=state.areas)
    return geojson_in(gaps, out_crs)


@router.post("/siting", summary="Choose sites for new stations")
def siting(body: SitingRequest, state: StateDep, q: QuestionDep,
           request: Request) -> dict[str, Any]:
    """Within a budget: k, the time limit and the node spacing are capped by the schema;
    the candidates and the model's size are checked before any search; requests run in
    the service's bounded pool (429 with Retry-After when it is full) and at most
    CIRCLE15_SITING_PER_MINUTE a minute from one client."""
    state.siting_rate.check(request.client.host if request.client else "?", "siting")
    s = state.settings
    spec = SitingSpec(
        k=body.k, objective=body.objective, target=body.target, first_weight=body.first_weight,
        method=body.method, time_limit_s=body.time_limit_s, curve_k=body.curve_k,
        max_candidates=s.siting_max_candidates, max_pairs=s.siting_max_pairs)
    with state.expensive.turn("siting"):
        cov = state.answer(q)
        cands, dropped = build_candidates(state.area, CandidateSpec(
            sources=tuple(body.candidates), node_spacing_m=body.node_spacing_m))
        outcome = site(cov, cands, spec, dropped_duplicates=dropped)
    sites = outcome.best.sites_frame()
    features = []
    for rec in records(sites.drop(columns="geometry")):
        features.append({"type": "Feature", "properties": rec,
                         "geometry": {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]}})
    return {"summary": {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                        for k, v in outcome.best.summary().items()},
            "sites": {"type": "FeatureCollection", "features": features},
            "curve": records(outcome.curve)}


@router.post("/whatif", summary="Coverage change if stations are added, moved or removed")
def whatif(body: WhatIfRequest, state: StateDep) -> dict[str, Any]:
    cov = state.coverage()
    add = None
    if body.add:
        rows = [{**s.model_dump(), "amenities": ";".join(s.amenities)} for s in body.add]
        add = stations_of_records(state.area, rows, crs=body.crs, source="add",
                                  check_crs=not body.trust_crs)
    with state.expensive.turn("what-if"):
        result = what_if(cov, add=add, remove=body.remove)
    return {"delta": result.delta(), "bands": records(result.summary())}
