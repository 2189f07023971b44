"""Stations: list, get, create, update, delete, bulk import (all-or-nothing)."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import shapely
from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from circle15.api.deps import PlannerDep, StateDep
from circle15.api.register import records_of
from circle15.api.routers.common import geojson_response
from circle15.api.schemas import CRS, StationBody, StationIn
from circle15.api.settings import Settings
from circle15.api.state import AppState
from circle15.geo.errors import InputError, NotFoundError, PayloadTooLargeError, ref
from circle15.geo.inputs.limits import TableLimits, reading
from circle15.geo.inputs.stations import normal_id
from circle15.geo.inputs.tables import TABLE_SUFFIXES, VECTOR_SUFFIXES
from circle15.usecases.area import read_station_file, stations_of_records

#: columns a station upload may have (a station table has about ten)
MAX_UPLOAD_COLUMNS = 64

router = APIRouter(prefix="/stations", tags=["stations"])


def _feature_collection(rows: list[dict[str, Any]]) -> Response:
    gdf = gpd.GeoDataFrame(rows, geometry=shapely.points(
        [[r["lon"], r["lat"]] for r in rows]) if rows else [], crs=4326)
    if rows:
        gdf["amenities"] = [[a for a in r["amenities"].split(";") if a] for r in rows]
    return geojson_response(gdf)


TrustCRS = Annotated[bool, Query(description="skip the check that the coordinates are in "
                                            "the declared system (e.g. GCJ-02 sent as WGS84)")]


def _room_for(state: AppState, n_new: int, source: str) -> None:
    """Refuse, before storing anything, a write that would take the register past
    ``max_stations``."""
    limit, have = state.settings.max_stations, state.store.count()
    if have + n_new > limit:
        raise InputError(source, f"{n_new:,} new station(s) would make {have + n_new:,}, more "
                                 f"than the {limit:,} this service holds "
                                 f"({ref('max_stations')}); nothing was stored")


def _validated(state: AppState, rows: list[dict[str, Any]], crs: str, source: str, *,
               trust_crs: bool = False) -> list[dict[str, Any]]:
    """Records checked and converted exactly as a file would be (WGS84 out)."""
    for r in rows:
        if isinstance(r.get("amenities"), list):
            r["amenities"] = ";".join(r["amenities"])
    placed = stations_of_records(state.area, rows, crs=crs, source=source,
                                 check_crs=not trust_crs)
    return records_of(placed)


@router.get("", summary="All stations (GeoJSON)", response_class=Response,
            responses={200: {"content": {"application/geo+json": {}}}})
def list_stations(state: StateDep) -> Response:
    return _feature_collection(state.store.all())


@router.get("/{station_id}", summary="One station")
def get_station(station_id: str, state: StateDep) -> dict[str, Any]:
    station_id = normal_id(station_id)  # Ａ１ asks for A1, as it was stored
    row = state.store.get(station_id)
    if row is None:
        raise NotFoundError(f"no station with id {station_id!r}")
    return {**row, "amenities": [a for a in row["amenities"].split(";") if a]}


@router.post("", status_code=201, summary="Add a station (planner token)",
             dependencies=[PlannerDep])
def create_station(body: StationIn, state: StateDep,
                   crs: Annotated[CRS, Query(description="coordinate system of lon/lat")]
                   = CRS.WGS84, trust_crs: TrustCRS = False) -> dict[str, Any]:
    _room_for(state, 1, "station")
    rec = _validated(state, [body.model_dump()], crs, "station", trust_crs=trust_crs)[0]
    state.store.insert_many([rec])
    state.changed()
    return {**rec, "amenities": [a for a in rec["amenities"].split(";") if a], "crs_in": crs}


@router.put("/{station_id}", summary="Change a station (planner token)",
            dependencies=[PlannerDep])
def update_station(station_id: str, body: StationBody, state: StateDep,
                   crs: Annotated[CRS, Query()] = CRS.WGS84,
                   trust_crs: TrustCRS = False) -> dict[str, Any]:
    station_id = normal_id(station_id)
    if state.store.get(station_id) is None:
        raise NotFoundError(f"no station with id {station_id!r}")
    rec = _validated(state, [{**body.model_dump(), "id": station_id}], crs, "station",
                     trust_crs=trust_crs)[0]
    state.store.update(station_id, rec)
    state.changed()
    return {**rec, "amenities": [a for a in rec["amenities"].split(";") if a], "crs_in": crs}


@router.delete("/{station_id}", status_code=204, summary="Remove a station (planner token)",
               dependencies=[PlannerDep])
def delete_station(station_id: str, state: StateDep) -> Response:
    station_id = normal_id(station_id)
    if not state.store.delete(station_id):
        raise NotFoundError(f"no station with id {station_id!r}")
    state.changed()
    return Response(status_code=204)


@router.post("/import", status_code=201, dependencies=[PlannerDep],
             summary="Import a CSV/XLSX/GeoJSON of stations: all rows or none")
async def import_stations(
    request: Request,
    state: StateDep,
    file: Annotated[UploadFile, File(description="CSV, XLSX or GeoJSON")],
    crs: Annotated[CRS, Query()] = CRS.WGS84,
    trust_crs: TrustCRS = False,
) -> dict[str, Any]:
    form = await request.form()
    if len(form.getlist("file")) != 1:
        raise InputError("upload", "send exactly one file, in the form field 'file'")
    name = Path(file.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in TABLE_SUFFIXES + VECTOR_SUFFIXES:
        raise InputError(name, f"unsupported file type {suffix!r}; use CSV, XLSX or GeoJSON")
    limit = state.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"{name}: the upload is over the {limit:,} byte limit")
    # parsing a large file takes seconds: off the event loop, so the service keeps answering
    recs = await run_in_threadpool(_parse_upload, state, data, name, suffix, crs, trust_crs)
    _room_for(state, len(recs), name)
    await run_in_threadpool(state.store.insert_many, recs)
    await run_in_threadpool(state.changed)
    return {"imported": len(recs), "crs_in": crs, "ids": [r["id"] for r in recs]}


def upload_limits(settings: Settings) -> TableLimits:
    """What a station upload may hold: no more rows than the register may hold stations,
    a station table's width, and an XLSX that unpacks to at most 64 MB."""
    rows = settings.max_stations
    return TableLimits(max_rows=rows, max_columns=MAX_UPLOAD_COLUMNS,
                       max_cells=rows * MAX_UPLOAD_COLUMNS, max_header_bytes=16 * 1024,
                       max_inflated_bytes=64 * 1024 * 1024)


def _parse_upload(state: AppState, data: bytes, name: str, suffix: str, crs: str,
                  trust_crs: bool) -> list[dict[str, Any]]:
    """The upload's stations, checked like any file; messages name the upload, never
    the temporary file it was parsed from."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            with reading(upload_limits(state.settings)):
                stations = read_station_file(state.area, path, crs=crs,
                                             check_crs=not trust_crs)
        except InputError as exc:
            raise InputError(name, [replace(p, message=p.message.replace(str(path), name))
                                    for p in exc.problems], total=exc.total) from exc
    return records_of(stations)
