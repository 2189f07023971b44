"""The planner's workbench: scenarios tried against the register, edit by edit.

Every write sends the version it saw (``If-Match``, the ETag of the last read); a
stale one gets 412 with the current version, so two planners cannot overwrite each
other. Each edit answers with the scenario's coverage (bands, areas, the change
against the register), counted from each station's kept reach
(:mod:`circle15.usecases.scenarios`): the numbers ``circle15 coverage`` gives for
the scenario's station list.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Header, Query, Request, Response

from circle15.api.deps import StateDep, needs
from circle15.api.guards.users import User
from circle15.api.routers.common import (
    OutCrsQ,
    QuestionDep,
    csv_response,
    geojson_response,
    gpkg_response,
    records,
    xlsx_response,
)
from circle15.api.scenario_store import etag
from circle15.api.schemas import CRS, EditIn, ScenarioIn
from circle15.api.state import AppState
from circle15.geo import vocab
from circle15.geo.coverage.isochrones import isochrones
from circle15.geo.errors import InputError, NotFoundError
from circle15.geo.output.out_crs import table_in
from circle15.geo.vocab import CoordSystem
from circle15.usecases import CandidateSpec, SitingSpec, build_candidates, site
from circle15.usecases.area import cover, stations_of_records
from circle15.usecases.planning import model_pairs
from circle15.usecases.questions import CoverageQuestion, coverage_for
from circle15.usecases.scenarios import Evaluation, apply_edits, delta, evaluate

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
Planner = Annotated[User, Depends(needs("planner"))]
Admin = Annotated[User, Depends(needs("admin"))]
Viewer = Annotated[User, Depends(needs("viewer"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="the version read last "
                                                                     "(its ETag)")]


def _stations_of(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    return apply_edits(scenario["base"], scenario["edits"])


def _collection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Station records as a GeoJSON FeatureCollection of points."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
         "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")}} for r in rows]}


def _evaluate(state: AppState, scenario: dict[str, Any]) -> Evaluation:
    return state.evaluation((scenario["id"], scenario["version"]), _stations_of(scenario))


def _answer(state: AppState, ev: Evaluation) -> dict[str, Any]:
    base = state.register_evaluation()
    areas = ev.by_area()
    out: dict[str, Any] = {"stations": ev.active, "bands": records(ev.summary()),
                           "delta": delta(ev, base)}
    if areas is not None:
        before = base.by_area()
        assert before is not None
        table = areas.drop(columns="geometry")
        table["covered_change"] = (table["covered"] - before["covered"].to_numpy()).round(1)
        table["cross_change"] = (table["cross_covered"]
                                 - before["cross_covered"].to_numpy()).round(1)
        out["areas"] = records(table)
    return out


def _with_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


@router.post("", status_code=201, summary="A new scenario: a copy of the register or of "
                                           "another scenario (planner)")
def create_scenario(body: ScenarioIn, state: StateDep, user: Planner,
                    response: Response) -> dict[str, Any]:
    if body.from_ == "register":
        base = state.store.all()
    else:
        base = _stations_of(state.scenarios.get(body.from_))
    made = state.scenarios.create(body.name, body.from_, base, user.name)
    _with_etag(response, made["version"])
    return {k: v for k, v in made.items() if k != "base"}


@router.get("", summary="The scenarios")
def list_scenarios(state: StateDep, _: Viewer) -> dict[str, Any]:
    return {"scenarios": state.scenarios.all()}


@router.get("/compare", summary="Scenarios side by side: totals, the change against the "
                                "register, and per town")
def compare_scenarios(
    state: StateDep, _: Viewer,
    ids: Annotated[str, Query(max_length=400, description="scenario ids, comma-separated "
                                                          "(at most 6)")],
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Any:
    wanted = [i for i in ids.split(",") if i.strip()]
    if not 1 <= len(wanted) <= 6:
        raise InputError("ids", "name 1 to 6 scenario ids, comma-separated")
    base = state.register_evaluation()
    totals, towns = [], None
    for sid in wanted:
        sc = state.scenarios.get(sid.strip())
        ev = _evaluate(state, sc)
        last = ev.summary().iloc[-1]
        totals.append({"id": sc["id"], "name": sc["name"], "version": sc["version"],
                       "stations": ev.active, "population": float(last["population"]),
                       "covered": float(last["covered"]),
                       "cross_covered": float(last["cross_covered"]), **{
                           f"{k}_change": v for k, v in delta(ev, base).items()}})
        areas = ev.by_area()
        if areas is not None:
            if towns is None:
                towns = pd.DataFrame({"name": areas["name"].to_numpy(),
                                      "population": areas["population"].to_numpy()})
            towns[f"{sc['id']}_covered"] = areas["covered"].to_numpy()
            before = base.by_area()
            assert before is not None
            towns[f"{sc['id']}_covered_change"] = (areas["covered"].to_numpy()
                                                   - before["covered"].to_numpy()).round(1)
            towns[f"{sc['id']}_cross_covered"] = areas["cross_covered"].to_numpy()
    if format == "csv":
        return csv_response(towns if towns is not None else pd.DataFrame(totals),
                            "scenarios-compared")
    if format == "xlsx":
        sheets = {"scenarios": pd.DataFrame(totals)}
        if towns is not None:
            sheets["areas"] = towns
        return xlsx_response(sheets, "scenarios-compared")
    return {"scenarios": totals, "areas": records(towns) if towns is not None else None}


@router.post("/{sid}/suggest", summary="The best sites to add next to a scenario (greedy, "
                                       "within the siting budget)")
def suggest_sites(sid: str, state: StateDep, _: Planner, request: Request,
                  k: Annotated[int, Query(ge=1, le=vocab.SITING_MAX_K)] = 5,
                  node_spacing_m: Annotated[float, Query(
                      ge=vocab.SITING_MIN_NODE_SPACING_M, le=5000)]
                  = vocab.SERVICE_NODE_SPACING_M) -> dict[str, Any]:
    state.siting_rate.check(request.client.host if request.client else "?", "suggest")
    sc = state.scenarios.get(sid)
    s = state.settings
    spec = SitingSpec(k=k, method="greedy", max_candidates=s.siting_max_candidates,
                      max_pairs=s.siting_max_pairs)
    with state.expensive.turn("suggest"):
        # the scenario as the siting model needs it: the register's coverage (the network,
        # the people, the reach per station for the model's size) with the scenario's own
        # count of stations reaching each person, kept from its last edit (counting the
        # whole scenario afresh took a second of the district's two)
        cov = dataclasses.replace(state.coverage(), unit_count=_evaluate(state, sc).counts)
        # a district's nodes at the asked spacing can pass the request's budget: the
        # spacing widens until the model fits it (said in the answer)
        while True:
            cands, dropped = build_candidates(state.area, CandidateSpec(
                sources=("nodes",), node_spacing_m=node_spacing_m))
            fits = (len(cands) <= s.siting_max_candidates
                    and model_pairs(cov, len(cands)) <= s.siting_max_pairs)
            if fits or node_spacing_m >= 5000:
                break
            node_spacing_m = min(5000.0, node_spacing_m * 1.5)
        outcome = site(cov, cands, spec, dropped_duplicates=dropped)
    sites = outcome.best.sites_frame()
    return {"version": sc["version"], "node_spacing_m": round(node_spacing_m, 1),
            "sites": records(sites.drop(columns="geometry")[
                ["rank", "id", "lon", "lat", "marginal_gain", "cumulative_gain"]])}


@router.get("/{sid}", summary="A scenario: its stations (GeoJSON), edits and version")
def get_scenario(sid: str, state: StateDep, _: Viewer, response: Response) -> dict[str, Any]:
    sc = state.scenarios.get(sid)
    _with_etag(response, sc["version"])
    return {**{k: v for k, v in sc.items() if k != "base"},
            "stations": _collection(_stations_of(sc))}


def _edit_payload(state: AppState, body: EditIn, crs: str) -> dict[str, Any]:
    """The edit as stored: positions in WGS84, a new station checked as a file row is."""
    if body.op == "add":
        if body.station is None:
            raise InputError("edit", "op add needs a station")
        row = {**body.station.model_dump(), "amenities": ";".join(body.station.amenities)}
        placed = stations_of_records(state.area, [row], crs=crs, source="station")
        rec = placed.frame.iloc[0]
        return {"station": {"id": str(rec["id"]), "name": str(rec["name"]),
                            "address": str(rec["address"]), "amenities": str(rec["amenities"]),
                            "opening_hours": str(rec["opening_hours"]),
                            "status": str(rec["status"]), "lon": float(rec["lon"]),
                            "lat": float(rec["lat"])}}
    if not body.station_id:
        raise InputError("edit", f"op {body.op} needs a station_id")
    if body.op == "remove":
        return {"station_id": body.station_id}
    if body.op == "move":
        if body.lon is None or body.lat is None:
            raise InputError("edit", "op move needs lon and lat")
        probe = {"id": "move", "name": "move", "lon": body.lon, "lat": body.lat}
        rec = stations_of_records(state.area, [probe], crs=crs, source="move").frame.iloc[0]
        return {"station_id": body.station_id, "lon": float(rec["lon"]),
                "lat": float(rec["lat"])}
    changes = body.model_dump(include={"name", "address", "opening_hours", "status"},
                              exclude_none=True)
    if body.amenities is not None:
        changes["amenities"] = ";".join(body.amenities)
    return {"station_id": body.station_id, **changes}


@router.post("/{sid}/edits", summary="One edit, under If-Match; answers the new version and "
                                     "the scenario's coverage (planner)")
def edit_scenario(sid: str, body: EditIn, state: StateDep, user: Planner, response: Response,
                  if_match: IfMatch = None,
                  crs: Annotated[CRS, Query(description="coordinates of lon/lat")]
                  = CoordSystem.WGS84) -> dict[str, Any]:
    sc = state.scenarios.get(sid)
    payload = _edit_payload(state, body, str(crs))
    edits = [*sc["edits"], {"op": body.op, **payload}]
    # checked and evaluated before it is stored: a bad edit leaves the scenario as it was
    before = _evaluate(state, sc)  # (kept from the last edit)
    ev = evaluate(state.area, state.book(), apply_edits(sc["base"], edits), since=before)
    version = state.scenarios.log(sid, if_match, body.op, payload, user.name)
    state.remember((sid, version), ev)
    _with_etag(response, version)
    # what this edit changed (people newly covered, cross-covered), beside the change
    # of the whole scenario against the register
    return {"version": version, **_answer(state, ev), "this_edit": delta(ev, before)}


@router.get("/{sid}/isochrone", summary="A scenario station's 15-minute walking area "
            "(GeoJSON)", response_class=Response,
            responses={200: {"content": {"application/geo+json": {}}}})
def scenario_isochrone(sid: str, state: StateDep, _: Viewer,
                       station: Annotated[str, Query(max_length=64)]) -> Response:
    rows = [r for r in _stations_of(state.scenarios.get(sid)) if r["id"] == station]
    if not rows:
        raise NotFoundError(f"scenario {sid} has no station with id {station!r}")
    placed = stations_of_records(state.area, [{**rows[0], "status": "existing"}],
                                 source="scenario", check_crs=False)
    with state.expensive.turn("isochrones"):
        iso = isochrones(cover(state.area, placed), union=False)
    return geojson_response(iso[iso["station"] == station])


@router.post("/{sid}/undo", summary="Undo the last edit, under If-Match (planner)")
def undo_edit(sid: str, state: StateDep, user: Planner, response: Response,
              if_match: IfMatch = None) -> dict[str, Any]:
    version = state.scenarios.undo(sid, if_match, user.name)
    sc = state.scenarios.get(sid)
    _with_etag(response, version)
    return {"version": version, **_answer(state, _evaluate(state, sc))}


@router.get("/{sid}/coverage", summary="The scenario's coverage: bands, areas, the change "
                                       "against the register")
def scenario_coverage(sid: str, state: StateDep, _: Viewer, q: QuestionDep,
                      response: Response) -> dict[str, Any]:
    sc = state.scenarios.get(sid)
    _with_etag(response, sc["version"])
    if q == CoverageQuestion():
        return {"version": sc["version"], **_answer(state, _evaluate(state, sc))}
    # another layer or a moment: counted in full, by the same use case as the CLI
    stations = stations_of_records(state.area, _stations_of(sc), source="scenario",
                                   check_crs=False)
    cov = coverage_for(state.area, stations, state.layers(q.demand), q).coverage
    return {"version": sc["version"], "stations": len(cov.stations),
            "notes": cov.notes, "bands": records(cov.summary())}


@router.post("/{sid}/adopt", summary="The register becomes the scenario's stations, in one "
                                     "transaction (admin)")
def adopt_scenario(sid: str, state: StateDep, user: Admin, response: Response,
                   if_match: IfMatch = None) -> dict[str, Any]:
    sc = state.scenarios.get(sid)
    stations = _stations_of(sc)
    ev = _evaluate(state, sc)  # checked: a scenario that no longer passes is not adopted
    version = state.scenarios.log(sid, if_match or etag(sc["version"]), "adopt",
                                  {"stations": len(stations)}, user.name)
    state.store.replace_all(ev.records)
    state.changed()
    _with_etag(response, version)
    return {"adopted": sid, "stations": len(ev.records), "version": version}


@router.get("/{sid}/history", summary="The audit trail: every change, who made it and when")
def scenario_history(sid: str, state: StateDep, _: Viewer) -> dict[str, Any]:
    return {"history": state.scenarios.history(sid)}


@router.get("/{sid}/stations", summary="The scenario's stations as CSV (with a BOM), "
            "XLSX, GeoJSON or GeoPackage", response_class=Response)
def scenario_stations(
    sid: str, state: StateDep, _: Viewer,
    format: Annotated[Literal["csv", "xlsx", "geojson", "gpkg"], Query()] = "csv",
    out_crs: OutCrsQ = CoordSystem.WGS84,
) -> Response:
    stations = pd.DataFrame(_stations_of(state.scenarios.get(sid)))
    if format == "gpkg":
        return gpkg_response(stations, f"scenario-{sid}", str(out_crs))
    table = table_in(stations, str(out_crs))
    if format == "csv":
        return csv_response(table, f"scenario-{sid}")
    if format == "xlsx":
        return xlsx_response({"stations": table}, f"scenario-{sid}")
    return Response(json.dumps(_collection(records(table)),
                               ensure_ascii=False), media_type="application/geo+json")


@router.delete("/{sid}", status_code=204, summary="Delete a scenario (planner)")
def delete_scenario(sid: str, state: StateDep, user: Planner) -> Response:
    state.scenarios.delete(sid, user.name)
    return Response(status_code=204)
