"""Heavy state, loaded once at start-up, and coverage kept in step with the stations.

The area (network, population, areas) loads once through the use case
:func:`circle15.usecases.load_area`. Coverage and the nearest-station index
depend on the stations; they are rebuilt on the first request after any
change, so every answer reflects the stored stations. The stations' revision
is read from the database at most every ``REVISION_POLL_S`` (a write through
this process is seen at once; one through another worker within that time).
The map pages are drawn in the background (:mod:`circle15.api.pages`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from circle15.api.guards.budget import Gate, RateLimit
from circle15.api.pages import Key, PageKeeper
from circle15.api.register import check_register, seed
from circle15.api.scenario_store import ScenarioStore
from circle15.api.settings import Settings
from circle15.api.store import StationStore
from circle15.geo.courier.nearest import NearestIndex
from circle15.geo.coverage.count import Areas, Coverage
from circle15.geo.errors import InputError
from circle15.geo.inputs.stations import Stations
from circle15.geo.network.graph import Network
from circle15.geo.population.points import Population
from circle15.usecases import Area, courier_page_html, cover, load_area, planner_page_html
from circle15.usecases.area import stations_of_records
from circle15.usecases.demand import Demand, load_demand, station_loads, station_map_fields
from circle15.usecases.questions import CoverageQuestion, coverage_for
from circle15.usecases.scenarios import Evaluation, ReachBook, evaluate

log = logging.getLogger(__name__)

#: seconds a read of the stations' revision is trusted (other workers' writes show
#: within this; this process's own at once)
REVISION_POLL_S = 0.5
#: seconds /nearest may answer from an older index (``nearest_may_lag``)
MAX_LAG_S = 120.0
#: the pages drawn at start-up and after every station change, before anyone asks
DEFAULT_PAGES: tuple[Key, ...] = (("planner", "zh", "osm"), ("courier", "zh", "osm"))

#: after a change, variants (other languages, basemaps) asked for within this many seconds
#: are redrawn too, at most this many of them
RECENT_PAGE_S = 600.0
MAX_EXTRA_PAGES = 2

PageBuilder = Callable[["AppState", Coverage, str, str], str]


def _planner(state: AppState, cov: Coverage, lang: str, basemap: str) -> str:
    fields = None
    if state.demand is not None:  # each station's load (and the layers side by side)
        fields = station_map_fields(state.area, cov, state.demand,
                                    max_load=state.settings.max_load, lang=lang)
    return planner_page_html(cov, areas=state.areas, basemap=basemap,  # type: ignore[arg-type]
                             lang=lang, station_fields=fields)


def _courier(state: AppState, cov: Coverage, lang: str, basemap: str) -> str:
    # served here, the page asks /nearest on this origin and carries no network
    return courier_page_html(state.network, cov, lang=lang, basemap=basemap,  # type: ignore[arg-type]
                             api="")


@dataclass
class AppState:
    settings: Settings
    area: Area
    store: StationStore
    #: the demand layers (residents, workers, mix) of CIRCLE15_DEMAND; ``area`` counts
    #: the chosen one
    demand: Demand | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cached_revision: int = -1
    _coverage: Coverage | None = None
    _nearest: NearestIndex | None = None
    _revision: int = -1
    _revision_at: float = float("-inf")
    #: stored stations left out because they fail validation ("id: reason")
    skipped: list[str] = field(default_factory=list)
    #: how each kind of page is drawn (tests may wrap one to slow it down or fail it)
    page_builders: dict[str, PageBuilder] = field(
        default_factory=lambda: {"planner": _planner, "courier": _courier})
    pages: PageKeeper = field(init=False)
    #: the pool expensive requests wait for, and siting's per-client rate (api.budget)
    expensive: Gate = field(init=False)
    siting_rate: RateLimit = field(init=False)
    #: scenarios (in the register's database), each station's kept reach, and the
    #: evaluations of scenario versions (and of the register, by revision)
    scenarios: ScenarioStore = field(init=False)
    _book: ReachBook | None = None
    _evaluations: dict[tuple[str, int], Evaluation] = field(default_factory=dict)
    #: /nearest answers from the index there is while a newer one is computed elsewhere
    #: (``serve --workers N``: the workers are replaced by forks sharing the new one
    #: within the seconds the coverage takes), instead of each worker computing its own
    nearest_may_lag: bool = False
    _lagging_since: float | None = None
    #: coverage answers to questions other than the default one, by (revision, question)
    _answers: dict[tuple[int, CoverageQuestion], Coverage] = field(default_factory=dict)
    _demand_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        s = self.settings
        self.expensive = Gate(running=s.expensive_workers, waiting=s.expensive_queue)
        # kept in a file beside the data, so that all the workers count one window
        rates = Path(s.data_dir) / "rates.sqlite" if Path(s.data_dir).is_dir() else None
        self.siting_rate = RateLimit(s.siting_per_minute, path=rates)
        self.scenarios = ScenarioStore(self.store)
        self.pages = PageKeeper(self.draw_page, folder=self._pages_folder(),
                                wait_s=self.settings.page_wait_s)

    def serve_pages_drawn_elsewhere(self) -> None:
        """This process only serves the pages; another draws them into the shared
        folder (``circle15 serve --workers N``: the process the workers are forked from)."""
        self.pages = PageKeeper(self.draw_page, folder=self.pages.folder,
                                wait_s=self.settings.page_wait_s, drawn_elsewhere=True)

    def _pages_folder(self) -> Path:
        """Shared by the workers of one service: named by its database and area."""
        spec = f"{self.settings.sqlalchemy_url()}|{self.settings.area_spec()!r}"
        return self.settings.data_dir / "pages" / hashlib.sha1(spec.encode()).hexdigest()[:12]

    def revision(self) -> int:
        """The stations' revision, read from the database at most every REVISION_POLL_S."""
        now = time.monotonic()
        if now - self._revision_at > REVISION_POLL_S:
            self._revision = self.store.revision
            self._revision_at = now
        return self._revision

    def changed(self) -> None:
        """After a write: read the revision afresh and redraw the pages in the background."""
        self._revision_at = float("-inf")
        self.draw_pages()

    def draw_pages(self) -> None:
        """Have the default pages, and the few other variants asked for lately, drawn for
        the current stations (in the background). Any other variant is drawn when it is
        next asked for: a reader cannot make every change cost ten drawings."""
        rev = self.revision()
        lately = self.pages.recently_asked(within_s=RECENT_PAGE_S, most=MAX_EXTRA_PAGES)
        for key in dict.fromkeys([*DEFAULT_PAGES, *lately]):
            self.pages.request(key, rev)

    def draw_page(self, key: Key) -> tuple[int, str]:
        """Draw a page for the current stations: (their revision, the HTML)."""
        kind, lang, basemap = key
        rev, cov = self.snapshot()
        html = self.page_builders[kind](self, cov, lang, basemap)
        _give_back_memory()
        return rev, html

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
        rev = self.revision()
        if rev == self._cached_revision and self._coverage is not None:
            return
        all_st = self.stations()
        if all_st is None or len(all_st.active()) == 0:
            self._coverage, self._nearest = None, None
        else:
            self._coverage = cover(self.area, all_st)
            self._nearest = NearestIndex.build(self._coverage,
                                               max_snap_m=self.settings.nearest_radius_m,
                                               rule=self.area.spec.snap_rule())
        self._cached_revision = rev

    def station_loads(self) -> list[dict[str, object]]:
        """Each station's load by the current stations (plain dicts, WGS84)."""
        demand = self.demand or Demand(layers={"residents": self.area.population},
                                       primary="residents")
        return station_loads(self.area, self.coverage(), demand,
                             max_load=self.settings.max_load)

    def coverage(self) -> Coverage:
        return self.snapshot()[1]

    def book(self) -> ReachBook:
        """Each station's reach, seeded from the register's coverage (kept for good: a
        position's reach does not change with the other stations)."""
        if self._book is None:
            cov = self.coverage()
            with self._lock:
                if self._book is None:
                    self._book = ReachBook(self.area, cov)
        return self._book

    def evaluation(self, key: tuple[str, int], records: list[dict[str, object]]) -> Evaluation:
        """The evaluation of a station list known by ``key`` (a scenario and its version,
        or the register and its revision), computed once."""
        with self._lock:
            found = self._evaluations.get(key)
        if found is not None:
            return found
        return self.remember(key, evaluate(self.area, self.book(), records))

    def remember(self, key: tuple[str, int], result: Evaluation) -> Evaluation:
        """Keep an evaluation for its scenario version (a bounded number of them)."""
        with self._lock:
            if len(self._evaluations) > 256:
                self._evaluations.clear()
            self._evaluations[key] = result
        return result

    def register_evaluation(self) -> Evaluation:
        rev = self.revision()
        return self.evaluation(("register", rev), self.store.all())

    def layers(self, name: str | None = None) -> Demand:
        """The demand layers, with ``name`` among them: a layer the service was not
        started with (workers, the mix) is loaded on first ask, as the command line
        loads it, and kept."""
        with self._demand_lock:
            demand = self.demand or Demand(layers={"residents": self.area.population},
                                           primary="residents")
            if name is None or name in demand.layers:
                return demand
            spec = dataclasses.replace(self.settings.demand_spec(), demand=name)
            # loaded over the residents, whichever layer this service counts
            residents = dataclasses.replace(self.area, population=demand.layers["residents"])
            loaded = load_demand(residents, spec)
            merged = {**demand.layers, **loaded.layers}
            # the area's own layer stays the same object (coverage reuses its search)
            merged[demand.primary] = demand.layers[demand.primary]
            self.demand = Demand(merged, demand.primary, {**loaded.notes, "demand":
                                 demand.primary}, loaded.worker_sources or demand.worker_sources)
            return self.demand

    def answer(self, question: CoverageQuestion) -> Coverage:
        """The coverage that answers ``question`` for the current stations: the kept
        coverage for the default question, else counted once per station revision."""
        rev, cov = self.snapshot()
        if question == CoverageQuestion() or (
                question.at is None and question.demand in (None, self.layers().primary)
                and not question.include_planned):
            return cov
        demand = self.layers(question.demand)
        key = (rev, question)
        with self._lock:
            found = self._answers.get(key)
        if found is not None:
            return found
        stations = self.stations()
        if stations is None:
            raise InputError("stations", "there are no existing stations yet")
        result = coverage_for(self.area, stations, demand, question).coverage
        with self._lock:
            if len(self._answers) >= 16 or any(k[0] != rev for k in self._answers):
                self._answers.clear()
            self._answers[key] = result
        return result

    @property
    def coverage_revision(self) -> int:
        """The stations' revision the kept coverage was computed for (-1: none yet)."""
        return self._cached_revision

    def refresh_now(self) -> None:
        """Bring the coverage to the stored stations now (no cached revision trusted)."""
        self._revision_at = float("-inf")
        self.snapshot()

    def snapshot(self) -> tuple[int, Coverage]:
        """The coverage of the current stations, with the revision it was computed for."""
        with self._lock:
            self._refresh()
            if self._coverage is None:
                raise InputError("stations", "there are no existing stations yet; add some "
                                 "with POST /stations")
            return self._cached_revision, self._coverage

    def current_nearest(self) -> NearestIndex | None:
        """The nearest-station index when it is up to date, without waiting (None when it
        must be rebuilt first: :meth:`nearest` does that). With ``nearest_may_lag`` the
        index there is, up to date or not."""
        if self._cached_revision == self.revision():
            self._lagging_since = None
            return self._nearest  # written before the revision it belongs to
        if not self.nearest_may_lag or self._nearest is None:
            return None
        now = time.monotonic()
        if self._lagging_since is None:
            self._lagging_since = now
        # should the new one never come (its process failing), this one computes it
        return self._nearest if now - self._lagging_since < MAX_LAG_S else None

    def nearest(self) -> NearestIndex:
        with self._lock:
            self._refresh()
            if self._nearest is None:
                raise InputError("stations", "there are no existing stations yet")
            return self._nearest


def _give_back_memory() -> None:
    """Return the heap a drawing freed to the system (glibc keeps it otherwise)."""
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).malloc_trim(0)


def load_state(settings: Settings) -> AppState:
    """Read the area (network, population, areas) and open the station store."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    area = load_area(settings.area_spec())
    demand = load_demand(area, settings.demand_spec())
    store = StationStore(settings.sqlalchemy_url())
    if store.count() == 0:
        seed(store, settings, area)
    else:
        check_register(store, settings, area)
    log.info("service area: %s; %d population units; %d stations stored; %s",
             area.network.summary(), len(area.population), store.count(),
             "; ".join(demand.lines()))
    return AppState(settings, demand.area_for(area), store, demand=demand)
