"""Heavy state, loaded once at start-up, and coverage kept in step with the stations.

The network, population and areas load once. Coverage, gaps inputs and the
nearest-station index depend on the stations; they are rebuilt on the first
request after any change (tens of milliseconds on a district network), so
every answer reflects the stored stations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from circle15.api.settings import Settings
from circle15.api.store import StationStore
from circle15.geo.coverage import Areas, Coverage, CoverageSettings, compute_coverage, read_areas
from circle15.geo.errors import InputError
from circle15.geo.nearest import NearestIndex
from circle15.geo.network import Network
from circle15.geo.network_cache import load_network
from circle15.geo.population import (
    buildings_population,
    dasymetric_population,
    raster_population,
    read_census,
    read_osm_buildings,
)
from circle15.geo.population_points import Population, read_population
from circle15.geo.stations import Stations, stations_from_records

log = logging.getLogger(__name__)

DEMO_POPULATION = 60_000


@dataclass
class AppState:
    settings: Settings
    network: Network
    network_source: str
    population: Population
    areas: Areas | None
    store: StationStore
    coverage_settings: CoverageSettings
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cached_revision: int = -1
    _coverage: Coverage | None = None
    _nearest: NearestIndex | None = None
    _pages: dict[tuple[object, ...], str] = field(default_factory=dict)

    def page(self, key: tuple[object, ...], build: Callable[[], str]) -> str:
        """A rendered page, kept until the stations change (maps take a second to build)."""
        rev = self.store.revision
        full = (rev, *key)
        if full not in self._pages:
            html = build()
            self._pages = {k: v for k, v in self._pages.items() if k[0] == rev}
            self._pages[full] = html
        return self._pages[full]

    def stations(self) -> Stations | None:
        """All stored stations, validated and placed (None when there are none)."""
        records = self.store.all()
        if not records:
            return None
        return stations_from_records(records, self.network, source="database", check_crs=False)

    def _refresh(self) -> None:
        rev = self.store.revision
        if rev == self._cached_revision and self._coverage is not None:
            return
        all_st = self.stations()
        active = all_st.active() if all_st is not None else None
        if active is None or len(active) == 0:
            self._coverage, self._nearest = None, None
        else:
            self._coverage = compute_coverage(self.network, active, self.population,
                                              settings=self.coverage_settings)
            self._nearest = NearestIndex.build(self._coverage,
                                               max_snap_m=self.settings.max_snap_m)
        self._cached_revision = rev

    def coverage(self) -> Coverage:
        with self._lock:
            self._refresh()
            if self._coverage is None:
                raise InputError("stations", "there are no existing stations yet; add some "
                                 "with POST /stations")
            return self._coverage

    def nearest(self) -> NearestIndex:
        with self._lock:
            self._refresh()
            if self._nearest is None:
                raise InputError("stations", "there are no existing stations yet")
            return self._nearest


def load_state(settings: Settings) -> AppState:
    """Read the area (network, population, areas) and open the station store."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.network:
        source = settings.network
    else:
        from circle15.geo.demo import demo_osm_path

        source = str(demo_osm_path())
    net = load_network(source)
    if settings.population:
        path = Path(settings.population)
        if path.suffix.lower() in (".tif", ".tiff"):
            pop = raster_population(path, net).place(net, max_snap_m=settings.max_snap_m)
        else:
            pop = read_population(path, net, column=settings.population_column,
                                  max_snap_m=settings.max_snap_m, on_far="drop")
    elif settings.census:
        if not Path(source).is_file():
            raise InputError("population", "census spreading reads buildings from the OSM "
                             "file given as CIRCLE15_NETWORK")
        census = read_census(settings.census, crs=settings.census_crs,
                             table=settings.census_table)
        pop = dasymetric_population(census, read_osm_buildings(source, net), net,
                                    source=settings.census).place(
            net, max_snap_m=settings.max_snap_m)
    else:
        total = settings.buildings_total or DEMO_POPULATION
        if not Path(source).is_file():
            raise InputError("population", "give CIRCLE15_POPULATION, or a network file to "
                             "estimate people from its buildings")
        pop = buildings_population(read_osm_buildings(source, net), net, total=total,
                                   source=f"buildings of {source}").place(net)
    areas = read_areas(settings.areas, net, crs=settings.areas_crs) if settings.areas else None
    store = StationStore(settings.sqlalchemy_url())
    if store.count() == 0:
        _seed(store, settings, net)
    cov_settings = CoverageSettings.of(settings.minutes, speed_kmh=settings.speed_kmh)
    log.info("service area: %s; %d population units; %d stations stored", net.summary(),
             len(pop), store.count())
    return AppState(settings, net, source, pop, areas, store, cov_settings)


def _seed(store: StationStore, settings: Settings, net: Network) -> None:
    """Fill an empty database: the configured seed file, or the demo's examples."""
    import tempfile

    from circle15.geo.stations import read_stations

    if settings.stations_seed:
        stations = read_stations(settings.stations_seed, net)
    elif not settings.network:
        from circle15.geo.demo import write_demo_inputs

        with tempfile.TemporaryDirectory() as tmp:
            stations = read_stations(write_demo_inputs(net, Path(tmp)).stations_csv, net)
    else:
        return
    store.insert_many(records_of(stations))


def records_of(stations: Stations) -> list[dict[str, object]]:
    """Database records of validated stations."""
    f = stations.frame
    return [{"id": r["id"], "name": r["name"], "address": r["address"],
             "amenities": r["amenities"], "opening_hours": r["opening_hours"],
             "status": r["status"], "lon": float(r["lon"]), "lat": float(r["lat"])}
            for r in f.to_dict("records")]
