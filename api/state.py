"""Heavy state, loaded once at start-up, and coverage kept in step with the stations.

The area (network, population, areas) loads once through the use case
:func:`circle15.usecases.load_area`. Coverage and the nearest-station index
depend on the stations; they are rebuilt on the first request after any
change (tens of milliseconds on a district network), so every answer reflects
the stored stations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from circle15.api.settings import Settings
from circle15.api.store import StationStore
from circle15.geo.coverage import Areas, Coverage
from circle15.geo.errors import InputError
from circle15.geo.nearest import NearestIndex
from circle15.geo.network import Network
from circle15.geo.population_points import Population
from circle15.geo.stations import Stations
from circle15.usecases import Area, cover, load_area
from circle15.usecases.area import read_station_file, stations_of_records

log = logging.getLogger(__name__)

@dataclass
class AppState:
    settings: Settings
    area: Area
    store: StationStore
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cached_revision: int = -1
    _coverage: Coverage | None = None
    _nearest: NearestIndex | None = None
    _pages: dict[tuple[object, ...], str] = field(default_factory=dict)
    #: stored stations left out because they fail validation ("id: reason")
    skipped: list[str] = field(default_factory=list)

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
        """All stored stations, validated and placed (None when there are none).

        A stored row that no longer passes (written by an older version, or by
        hand) is skipped and reported in ``skipped``, never allowed to break
        every read.
        """
        records = self.store.all()
        skipped: list[str] = []
        while records:
            try:
                placed = stations_of_records(self.area, records, source="database",
                                             check_crs=False)
            except InputError as exc:
                bad = {p.row - 1 for p in exc.problems if p.row is not None}
                if not bad:
                    raise
                skipped += [f"{records[i]['id']}: {p}" for p in exc.problems
                            if p.row is not None for i in [p.row - 1]]
                records = [r for i, r in enumerate(records) if i not in bad]
                continue
            break
        if skipped:
            log.warning("skipped %d stored station(s) that fail validation: %s",
                        len(skipped), "; ".join(skipped[:5]))
        self.skipped = skipped
        return placed if records else None

    @property
    def network(self) -> Network:
        return self.area.network

    @property
    def network_source(self) -> str:
        return self.area.source

    @property
    def population(self) -> Population:
        return self.area.population

    @property
    def areas(self) -> Areas | None:
        return self.area.areas

    def _refresh(self) -> None:
        rev = self.store.revision
        if rev == self._cached_revision and self._coverage is not None:
            return
        all_st = self.stations()
        if all_st is None or len(all_st.active()) == 0:
            self._coverage, self._nearest = None, None
        else:
            self._coverage = cover(self.area, all_st)
            self._nearest = NearestIndex.build(self._coverage,
                                               max_snap_m=self.settings.max_snap_m,
                                               rule=self.area.spec.snap_rule())
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
    area = load_area(settings.area_spec())
    store = StationStore(settings.sqlalchemy_url())
    if store.count() == 0:
        _seed(store, settings, area)
    log.info("service area: %s; %d population units; %d stations stored",
             area.network.summary(), len(area.population), store.count())
    return AppState(settings, area, store)


def _seed(store: StationStore, settings: Settings, area: Area) -> None:
    """Fill an empty database: the configured seed file, or the demo's examples."""
    import tempfile

    if settings.stations_seed:
        stations = read_station_file(area, settings.stations_seed)
    elif not settings.network:
        from circle15.geo.demo import write_demo_inputs

        with tempfile.TemporaryDirectory() as tmp:
            stations = read_station_file(
                area, write_demo_inputs(area.network, Path(tmp)).stations_csv)
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
