"""Request bodies, with the limits and examples shown in the OpenAPI docs."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from circle15.geo import vocab
from circle15.geo.vocab import CoordSystem, Objective

CRS: TypeAlias = CoordSystem
#: bodies take exactly the JSON types their schema documents: no true for 1.0, no "5" for 5
_STRICT = ConfigDict(extra="forbid", strict=True)

_EXAMPLE: dict[str, Any] = {
    "id": "SY-001", "name": "顺义区后沙峪镇暖心驿站", "lon": 116.5457, "lat": 40.1135,
    "address": "后沙峪镇裕民大街 1 号", "amenities": ["water", "charger", "first_aid"],
    "opening_hours": "Mo-Su 08:00-20:00", "status": "existing",
}


class StationBody(BaseModel):
    """A station's fields apart from its id."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="longitude, degrees")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="latitude, degrees")
    address: str = Field("", max_length=500)
    amenities: list[str] = Field(default_factory=list, max_length=20,
                                 description="water, charger, first_aid, microwave, toilet, "
                                             "seats, wifi, umbrella, battery_swap (or their "
                                             "Chinese words, e.g. 换电)")
    opening_hours: str = Field("", max_length=200, description="OSM opening_hours syntax")
    status: Literal["existing", "planned", "closed"] = "existing"


class StationIn(StationBody):
    """A new station."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [_EXAMPLE]})

    id: str = Field(min_length=1, max_length=80,
                    description="ASCII letters and digits, Chinese characters and _ . : -, at "
                                "most 64, after NFKC normalisation (full-width Ａ１ is stored as "
                                "A1): the rule every import obeys, checked by the same code")


class SitingRequest(BaseModel):
    """Where should the next stations go?"""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [
        {"k": 5, "objective": "coverage", "candidates": ["nodes"], "node_spacing_m": 200}]})

    k: int = Field(vocab.SERVICE_SITES_K, ge=1, le=vocab.SITING_MAX_K)
    # strict models take JSON's strings for the vocabulary's words
    objective: Objective = Field(Objective.COVERAGE, strict=False)
    target: float = Field(0.9, gt=0, le=1, description="share of the coverable population")
    first_weight: float = Field(0.0, ge=0, le=1)
    candidates: list[Literal["nodes", "shops"]] = Field(
        default_factory=lambda: list[Literal["nodes", "shops"]](["nodes"]),
        min_length=1, max_length=2)
    node_spacing_m: float = Field(vocab.SERVICE_NODE_SPACING_M,
                                  ge=vocab.SITING_MIN_NODE_SPACING_M, le=5000)
    method: Literal["exact", "greedy"] = "exact"
    time_limit_s: float = Field(vocab.SERVICE_SITING_TIME_LIMIT_S, gt=0,
                                le=vocab.SITING_MAX_TIME_LIMIT_S)
    curve_k: int = Field(10, ge=1, le=vocab.SITING_MAX_K)


class WhatIfRequest(BaseModel):
    """Stations to add (or move: remove and add with the same id) and to remove."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [
        {"add": [_EXAMPLE], "remove": ["SY-002"], "crs": "wgs84"}]})

    add: list[StationIn] = Field(default_factory=list, max_length=500)
    remove: list[str] = Field(default_factory=list, max_length=500)
    crs: CRS = Field(CoordSystem.WGS84, strict=False)
    trust_crs: bool = Field(False, description="skip the check that the coordinates are in "
                                               "the declared system")


class ScenarioIn(BaseModel):
    """A new scenario: a copy of the register, or of another scenario's stations."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200)
    from_: str = Field("register", alias="from", max_length=64,
                       description="'register' or the id of a scenario to copy")


class EditIn(BaseModel):
    """One edit: add a station, remove one, move one, or change its other fields."""

    model_config = _STRICT

    op: Literal["add", "remove", "move", "update"]
    station: StationIn | None = Field(None, description="the station to add (op add)")
    station_id: str | None = Field(None, max_length=80, description="ops remove, move, update")
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False,
                              description="where to move it (op move)")
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    name: str | None = Field(None, min_length=1, max_length=200)
    address: str | None = Field(None, max_length=500)
    amenities: list[str] | None = Field(None, max_length=20)
    opening_hours: str | None = Field(None, max_length=200)
    status: Literal["existing", "planned", "closed"] | None = None
