"""Load an area (network, population, admin areas) from one settings object, and
cover it with stations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from circle15.geo import vocab
from circle15.geo.coverage.areas import read_areas
from circle15.geo.coverage.count import Areas, Coverage, CoverageSettings, compute_coverage
from circle15.geo.errors import InputError, ref
from circle15.geo.forked import trim_heap
from circle15.geo.inputs.stations import Stations
from circle15.geo.network.cache import load_network
from circle15.geo.network.graph import Network
from circle15.geo.population.points import Population, read_population
from circle15.geo.snapping.snap import SnapRule

#: people the demo area shares over its OSM buildings when no population is
#: given (an assumption, and every output that uses it says so)
DEMO_POPULATION = 60_000.0

#: a progress callback: prints or logs one line about a step
Step = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class AreaSpec:
    """Everything that defines an area and how it is counted.

    ``network`` is an OSM file, an osmnx GraphML file or a place name (None:
    the offline demo extract). The population comes from exactly one of
    ``population`` (points/cells table or GeoTIFF), ``census`` (polygons
    spread over the OSM buildings) or ``buildings_total`` (buildings alone);
    with none of them, the demo's building estimate of ``DEMO_POPULATION``.
    """

    network: str | None = None
    population: str | None = None
    population_column: str | None = None
    population_crs: str = "wgs84"
    raster_density: bool = False
    census: str | None = None
    census_crs: str = "wgs84"
    census_table: str | None = None
    census_name_column: str | None = None
    census_count_column: str | None = None
    buildings_total: float | None = None
    areas: str | None = None
    areas_crs: str = "wgs84"
    areas_name_column: str | None = None
    minutes: float = vocab.MINUTES
    bands: tuple[float, ...] = vocab.BANDS_MIN
    #: None: the mode's default (walk 4, ebike 15, bike 12 km/h)
    speed_kmh: float | None = None
    #: walk (default), ebike or bike: the network and default speed
    mode: str = "walk"
    station_max_snap_m: float = vocab.STATION_MAX_SNAP_M
    population_max_snap_m: float = vocab.POPULATION_MAX_SNAP_M
    drop_far_population: bool = False
    keep_all_components: bool = False
    use_cache: bool = True
    snap_avoid: str | None = None
    snap_slack_m: float | None = None

    def __post_init__(self) -> None:
        # the settings are checked when the spec is made, before anything loads
        self.coverage_settings()
        self.snap_rule()

    @property
    def network_source(self) -> str:
        if self.network:
            return self.network
        from circle15.geo.inputs.demo import demo_osm_path

        return str(demo_osm_path())

    @property
    def is_demo(self) -> bool:
        return not self.network

    def snap_rule(self) -> SnapRule:
        return SnapRule.of(self.snap_avoid, self.snap_slack_m)

    def coverage_settings(self) -> CoverageSettings:
        return CoverageSettings.of(self.minutes, speed_kmh=self.speed_kmh, bands_min=self.bands,
                                   mode=self.mode)


@dataclass(frozen=True, eq=False)
class Area:
    """An area loaded once: its walking network, population and admin areas."""

    spec: AreaSpec
    network: Network
    population: Population
    areas: Areas | None

    @property
    def source(self) -> str:
        return self.spec.network_source


def load_network_of(spec: AreaSpec) -> Network:
    return load_network(spec.network_source, use_cache=spec.use_cache,
                        keep_all_components=spec.keep_all_components, mode=spec.mode)


def load_population(spec: AreaSpec, net: Network) -> Population:
    """The population layer from whichever source the spec names (the one place
    that decides), placed on the network once and then read from the cache."""
    from circle15.geo.population.cache import cached_population

    files = [Path(p) for p in (spec.population, spec.census, spec.network_source)
             if p and Path(p).is_file()]
    inputs = {k: getattr(spec, k) for k in (
        "population", "population_column", "population_crs", "raster_density", "census",
        "census_crs", "census_table", "census_name_column", "census_count_column",
        "buildings_total", "population_max_snap_m", "drop_far_population", "snap_avoid",
        "snap_slack_m")}
    return cached_population(net, inputs, files, lambda: _place_population(spec, net),
                             use_cache=spec.use_cache,
                             keep_all_components=spec.keep_all_components)


def _place_population(spec: AreaSpec, net: Network) -> Population:
    from circle15.geo.population.sources import (
        buildings_population,
        dasymetric_population,
        raster_population,
        read_census,
        read_osm_buildings,
    )

    snap, rule = spec.population_max_snap_m, spec.snap_rule()
    source = spec.network_source
    if spec.population:
        path = Path(spec.population)
        if path.suffix.lower() in (".tif", ".tiff"):
            return raster_population(path, net, density=spec.raster_density).place(
                net, max_snap_m=snap, rule=rule)
        return read_population(path, net, column=spec.population_column,
                               crs=spec.population_crs, max_snap_m=snap,
                               on_far="drop" if spec.drop_far_population else "error", rule=rule)
    if not Path(source).is_file():
        raise InputError("population", "population estimates read buildings from an OSM file: "
                         f"give {ref('network')} FILE, or a population table or GeoTIFF with "
                         f"{ref('population')}")
    buildings = read_osm_buildings(source, net)
    if spec.census:
        census = read_census(spec.census, crs=spec.census_crs,
                             name_column=spec.census_name_column,
                             count_column=spec.census_count_column, table=spec.census_table)
        return dasymetric_population(census, buildings, net, source=spec.census).place(
            net, max_snap_m=snap, rule=rule)
    total = spec.buildings_total if spec.buildings_total else DEMO_POPULATION
    what = (f"buildings of {source}" if spec.buildings_total else
            f"buildings of {source}, an assumed total of {DEMO_POPULATION:,.0f} (not census data)")
    return buildings_population(buildings, net, total=total, source=what).place(
        net, max_snap_m=snap, rule=rule)


def load_area(spec: AreaSpec, *, step: Step = _quiet) -> Area:
    """Read and check the network, the population and the admin areas of ``spec``."""
    step(f"loading the walking network from {spec.network_source}")
    net = load_network_of(spec)
    step(f"network: {net.summary()}")
    pop = load_population(spec, net)
    step(f"population: {len(pop):,} units, {pop.total:,.0f} people"
         + (f" ({pop.dropped_population:,.0f} dropped, too far from streets)"
            if pop.dropped_units else ""))
    areas = (read_areas(spec.areas, net, crs=spec.areas_crs, name_column=spec.areas_name_column)
             if spec.areas else None)
    trim_heap()  # what reading the files left behind (a first run parses the OSM file)
    return Area(spec, net, pop, areas)


def read_station_file(area: Area, path: str | Path, *, crs: str = "wgs84",
                      check_crs: bool = True) -> Stations:
    """A station file placed on the area's network under the area's snapping rule."""
    from circle15.geo.inputs.stations import read_stations

    return read_stations(path, area.network, crs=crs, max_snap_m=area.spec.station_max_snap_m,
                         rule=area.spec.snap_rule(), check_crs=check_crs)


def stations_of_records(area: Area, records: list[dict[str, object]], *, crs: str = "wgs84",
                        source: str = "stations", check_crs: bool = True) -> Stations:
    """Station records (API bodies, database rows) placed like a file's."""
    from circle15.geo.inputs.stations import stations_from_records

    return stations_from_records(records, area.network, crs=crs, source=source,
                                 max_snap_m=area.spec.station_max_snap_m, check_crs=check_crs,
                                 rule=area.spec.snap_rule())


def cover(area: Area, stations: Stations, *, include_planned: bool = False,
          progress: bool = False) -> Coverage:
    """Coverage of the area's population by the stations that serve people."""
    active = stations.active(include_planned=include_planned)
    if len(active) == 0:
        raise InputError("stations", "there are no existing stations to count"
                         + ("" if include_planned else
                            f" (planned ones count with {ref('include_planned')})"))
    return compute_coverage(area.network, active, area.population,
                            settings=area.spec.coverage_settings(), progress=progress)


def population_caveats(area: Area, population: Population) -> list[str]:
    """What a reader must know about how the people were placed: units that joined the
    nearest street by the fallback, units beyond the extract's bounds, units left out."""
    pop, notes = population, []
    if pop.fallback_units:
        notes.append(f"{pop.fallback_units:,} units had no street they may join within "
                     f"{area.spec.population_max_snap_m:g} m and joined the nearest walkable one")
    if pop.outside_bounds_units:
        notes.append(f"{pop.outside_bounds_units:,} units lie outside the extract's declared "
                     "bounds, where its streets are incomplete (flagged outside_bounds)")
    if pop.dropped_units:
        notes.append(f"{pop.dropped_units:,} units ({pop.dropped_population:,.0f} people) were "
                     "dropped, too far from any street")
    return notes
