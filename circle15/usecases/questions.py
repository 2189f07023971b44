"""The planner's coverage questions, answered once for every front end.

A question says which demand layer to count (residents, workers, the mix), at
which moment (only the stations open then), and how stations with unknown
hours count. :func:`coverage_for` answers it from an area, its demand layers
and the stations; :func:`hours_of_day` gives the 24-hour table of every
loaded layer. The command line, the service and the Python API call these
two, so ``circle15 coverage --at 'Tu 02:00' --demand workers`` and
``GET /coverage/summary?at=Tu%2002:00&demand=workers`` count the same people.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from circle15.geo.coverage.count import Coverage, compute_coverage
from circle15.geo.coverage.hourly import (
    DemandLayer,
    HourlyCoverage,
    OpenStations,
    coverage_by_hour,
    parse_at,
    stations_open_at,
    stations_timezone,
)
from circle15.geo.errors import InputError, SettingsError, ref
from circle15.geo.inputs.stations import Stations
from circle15.geo.vocab import DAY, DemandKind, UnknownHours, words
from circle15.usecases.area import Area, cover
from circle15.usecases.demand import Demand, cover_layers


@dataclass(frozen=True)
class CoverageQuestion:
    """Who to count and when.

    ``demand``: a layer name (None: the layer the area was loaded to count).
    ``at``: ``'Tu 02:00'`` (the next such day) or ``'2026-11-24 02:00'``, in the
    stations' time zone; None counts every station whatever its hours.
    ``unknown_hours``: stations whose hours are unknown then count as open or closed.
    """

    demand: str | None = None
    at: str | None = None
    unknown_hours: str = UnknownHours.OPEN
    include_planned: bool = False

    def __post_init__(self) -> None:
        if self.demand is not None and self.demand not in words(DemandKind):
            raise SettingsError(f"{ref('demand')} must be one of "
                                f"{', '.join(words(DemandKind))}, not {self.demand!r}")
        if self.unknown_hours not in words(UnknownHours):
            raise SettingsError(f"{ref('unknown_hours')} must be open or closed, "
                                f"not {self.unknown_hours!r}")


@dataclass(frozen=True, eq=False)
class Moment:
    """The stations open at the question's moment."""

    text: str
    opened: OpenStations
    total: int

    def note(self) -> str:
        return self.opened.note()

    def notes(self) -> dict[str, str]:
        """What the summary files and JSON answers say about the moment."""
        o = self.opened
        return {"at": o.when.isoformat(), "stations_open_at": f"{o.n_open} of {self.total}",
                "unknown_hours": f"{o.n_unknown} unknown then, counted as {o.unknown}"}


@dataclass(frozen=True, eq=False)
class CoverageAnswer:
    """The coverage that answers a question, and the moment it was asked for (if any)."""

    coverage: Coverage
    layer: str
    moment: Moment | None


def open_at(stations: Stations, at: str | None, unknown_hours: str = UnknownHours.OPEN
            ) -> tuple[Stations, Moment | None]:
    """The stations open at ``at`` (all of them when ``at`` is None; maybe none), and the
    moment."""
    if not at:
        return stations, None
    when = parse_at(at, timezone=stations_timezone(stations))
    opened = stations_open_at(stations, when, unknown=unknown_hours)
    return stations.select(opened.open), Moment(at, opened, len(stations))


def stations_at(stations: Stations, at: str | None, unknown_hours: str = UnknownHours.OPEN
                ) -> tuple[Stations, Moment | None]:
    """The stations open at ``at`` (all of them when ``at`` is None), and the moment; a
    moment when none is open is an error (there is no coverage to count)."""
    chosen, moment = open_at(stations, at, unknown_hours)
    if moment is not None and moment.opened.n_open == 0:
        when = moment.opened.when
        raise InputError(stations.source or "stations",
                         f"no station is open at {when:%a %Y-%m-%d %H:%M} (unknown hours "
                         f"counted as {unknown_hours})")
    return chosen, moment


def layer_name(demand: Demand, question: CoverageQuestion) -> str:
    """The layer a question counts, checked against the layers loaded."""
    name = question.demand or demand.primary
    if name not in demand.layers:
        raise SettingsError(f"{ref('demand')} {name!r} is not loaded here (loaded: "
                            f"{', '.join(demand.layers)})")
    return name


def coverage_for(area: Area, stations: Stations, demand: Demand,
                 question: CoverageQuestion = CoverageQuestion(), *,
                 progress: bool = False) -> CoverageAnswer:
    """Coverage of the question's layer by the stations open at its moment.

    ``area`` may count any layer: the question's layer is swapped in. The answer's
    notes carry the demand notes (with the layer asked for) and the moment's.
    """
    name = layer_name(demand, question)
    chosen, moment = stations_at(stations, question.at, question.unknown_hours)
    cov = cover(demand.area_for(area, name), chosen, include_planned=question.include_planned,
                progress=progress)
    notes = {**demand.notes, "demand": name, **(moment.notes() if moment else {})}
    return CoverageAnswer(cov.with_notes(notes), name, moment)


def layer_coverage(area: Area, cov: Coverage, demand: Demand, name: str) -> Coverage:
    """Coverage of layer ``name`` by the same stations as ``cov`` (``cov`` itself when it
    counts that layer)."""
    pop = demand.layers[name]
    if pop is cov.population:
        return cov
    return compute_coverage(area.network, cov.stations, pop, settings=cov.settings)


def hours_of_day(area: Area, base: Coverage, demand: Demand, *, day: str | date = DAY,
                 unknown_hours: str = UnknownHours.OPEN) -> HourlyCoverage:
    """The 24-hour table of ``day`` for every loaded demand layer. ``base`` is the
    coverage by every station that may open (not one moment's): their hours decide
    which of them count at each hour."""
    layers = [DemandLayer.of(name, c) for name, c in cover_layers(area, base, demand).items()]
    return coverage_by_hour(layers, base.stations, areas=area.areas, day=day,
                            unknown=unknown_hours)


def layers_for(demand: Demand, name: str) -> Demand:
    """The layers a command line asking for ``name`` loads, in its order: residents;
    workers for workers or the mix; the mix for the mix. Their 24-hour table is what
    ``--by-hour --demand NAME`` writes, whatever else a service has loaded since."""
    wanted = {"residents": ["residents"], "workers": ["residents", "workers"],
              "mix": ["residents", "workers", "mix"]}[name]
    missing = [w for w in wanted if w not in demand.layers]
    if missing:
        raise SettingsError(f"{ref('demand')} {name!r} needs the layers {', '.join(missing)}, "
                            "which are not loaded")
    return dataclasses.replace(demand, layers={w: demand.layers[w] for w in wanted},
                               primary=name, _covered={})
