"""Coverage by hour: who is within reach of a station that is open at a given time.

Stations' ``opening_hours`` (OSM syntax) are evaluated by the maintained
parser (:mod:`circle15.geo.inputs.station_hours`). The walking searches run once:
a :class:`~circle15.geo.coverage.reach.Reach` already lists every (station, person)
within the limit, so coverage at any moment only masks the closed stations'
entries and counts again (no search per hour).

Stations whose hours are unknown at a moment (no ``opening_hours``, hours
that are not valid syntax, or an ``unknown`` rule) count as the planner says:
``unknown="open"`` (the default) or ``"closed"``; every result says how many
there were.

Demand comes in named layers (:class:`DemandLayer`: residents, workers, ...),
each with its own units and reach, so one table shows them side by side.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from circle15.geo.coverage.count import CROSS_COVERAGE, Areas, Coverage, first_area
from circle15.geo.coverage.reach import Reach
from circle15.geo.errors import SettingsError, ref
from circle15.geo.inputs.station_hours import Hours, State, area_timezone
from circle15.geo.inputs.stations import Stations
from circle15.geo.vocab import DAY

#: how stations with unknown hours count
UnknownHours = Literal["open", "closed"]
UNKNOWN_HOURS: tuple[str, ...] = ("open", "closed")
#: OSM weekday abbreviations, Monday first (as ``opening_hours`` writes them)
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
#: the day ``--by-hour`` tabulates unless told: a typical working day
DEFAULT_DAY = DAY
#: the row of the whole area in the hourly table
ALL_AREAS = "(all)"

_AT_RE = re.compile(r"^\s*(?:(?P<wd>[A-Za-z]{2})|(?P<date>\d{4}-\d{2}-\d{2}))?"
                    r"[\sT]*(?P<hh>\d{1,2}):(?P<mm>\d{2})\s*$")


def check_unknown_hours(value: str) -> UnknownHours:
    if value not in UNKNOWN_HOURS:
        msg = f"unknown hours count as 'open' or 'closed', not {value!r}"
        raise SettingsError(msg)
    return value  # type: ignore[return-value]


def stations_timezone(stations: Stations) -> ZoneInfo | None:
    """The time zone at the stations' mean position (WGS84)."""
    if len(stations) == 0:
        return None
    return area_timezone(float(stations.frame["lon"].mean()), float(stations.frame["lat"].mean()))


def _weekday(text: str) -> int:
    key = text.strip()[:2].capitalize()
    if key not in WEEKDAYS:
        msg = f"{text!r} is not a weekday; use one of {', '.join(WEEKDAYS)}"
        raise SettingsError(msg)
    return WEEKDAYS.index(key)


def day_of(weekday: str | date, *, today: date | None = None) -> date:
    """The date of ``weekday`` (``"Tu"``; or a date, returned as is): the next such day
    on or after ``today`` (default: today), so that holiday rules apply as they will."""
    if isinstance(weekday, date):
        return weekday
    try:
        return date.fromisoformat(weekday.strip())
    except ValueError:
        pass
    today = today or date.today()
    return today + timedelta(days=(_weekday(weekday) - today.weekday()) % 7)


def parse_at(text: str, *, timezone: ZoneInfo | None, today: date | None = None) -> datetime:
    """A moment from ``"Tu 02:00"``, ``"2026-11-24 02:00"`` or ``"02:00"`` (on a Tuesday),
    in the area's time zone. A weekday means its next occurrence on or after ``today``.

    Raises
    ------
    SettingsError
        The text is none of these forms, or the time is not a time of day.
    """
    m = _AT_RE.match(text)
    if not m:
        msg = (f"{ref('at')} {text!r}: give a weekday and a time like 'Tu 02:00', or a date "
               "and a time "
               "like '2026-11-24 02:00'")
        raise SettingsError(msg)
    hh, mm = int(m["hh"]), int(m["mm"])
    if hh > 23 or mm > 59:
        msg = f"{ref('at')} {text!r}: {hh:02d}:{mm:02d} is not a time of day (00:00 to 23:59)"
        raise SettingsError(msg)
    try:
        day = day_of(m["date"] or m["wd"] or DEFAULT_DAY, today=today)
    except (SettingsError, ValueError) as e:
        msg = f"{ref('at')} {text!r}: {e}"
        raise SettingsError(msg) from e
    return datetime.combine(day, time(hh, mm), tzinfo=timezone)


@dataclass(frozen=True)
class OpenStations:
    """Which stations are open at one moment, by their hours and the unknown-hours rule."""

    when: datetime
    #: open (counted) per station, after applying ``unknown``
    open: NDArray[np.bool_]
    #: what the hours said: "open", "closed" or "unknown" per station
    states: tuple[State, ...]
    unknown: UnknownHours
    #: stations with no usable hours at all (none given, or not valid syntax)
    without_hours: int

    @property
    def n_open(self) -> int:
        return int(self.open.sum())

    @property
    def n_unknown(self) -> int:
        return sum(s == "unknown" for s in self.states)

    def note(self) -> str:
        """One line for people: how many open, and how unknown hours were counted."""
        n = len(self.states)
        return (f"{self.when:%a %Y-%m-%d %H:%M} ({self.when.tzname() or 'local time'}): "
                f"{self.n_open} of {n} stations open; {self.n_unknown} with unknown hours then "
                f"({self.without_hours} without usable opening_hours), counted as "
                f"{self.unknown}")


def _hours_by_spec(stations: Stations, tz: ZoneInfo | None) -> tuple[list[Hours], NDArray[Any]]:
    """Each distinct hours text parsed once, and which one each station has."""
    specs = [str(s) if isinstance(s, str) else "" for s in stations.frame["opening_hours"]]
    uniq, inverse = np.unique(np.asarray(specs, dtype=object).astype(str), return_inverse=True)
    lonlat = ((float(stations.frame["lon"].mean()), float(stations.frame["lat"].mean()))
              if len(stations) else None)
    return [Hours.read(str(s), timezone=tz, lonlat=lonlat) for s in uniq], inverse


def open_by_time(stations: Stations, moments: Sequence[datetime], *,
                 unknown: UnknownHours = "open") -> list[OpenStations]:
    """:class:`OpenStations` at each of ``moments`` (aware, or naive local times of the
    area). Each distinct hours text is parsed once and asked once per moment."""
    unknown = check_unknown_hours(unknown)
    tz = stations_timezone(stations)
    hours, inverse = _hours_by_spec(stations, tz)
    no_rules = np.asarray([h.rules is None for h in hours], dtype=bool)
    without = int(no_rules[inverse].sum()) if len(stations) else 0
    out = []
    for when in moments:
        when = when if when.tzinfo or tz is None else when.replace(tzinfo=tz)
        per_spec = np.asarray([h.state(when) for h in hours], dtype=object)
        states = per_spec[inverse] if len(stations) else np.empty(0, dtype=object)
        is_open = (states == "open") | ((states == "unknown") & (unknown == "open"))
        out.append(OpenStations(when, np.asarray(is_open, dtype=bool), tuple(states.tolist()),
                                unknown, without))
    return out


def stations_open_at(stations: Stations, when: datetime, *,
                     unknown: UnknownHours = "open") -> OpenStations:
    """Which of ``stations`` are open at ``when``."""
    return open_by_time(stations, [when], unknown=unknown)[0]


# ---------------------------------------------------------------------------
# demand layers and masked coverage


@dataclass(frozen=True, eq=False)
class DemandLayer:
    """One kind of demand (residents, workers, ...): its units' weights and positions,
    and who reaches them (station indices refer to the coverage's stations)."""

    name: str
    weights: NDArray[np.float64]
    #: unit points in the network's CRS
    points: NDArray[np.object_]
    reach: Reach
    limit_m: float

    @classmethod
    def of(cls, name: str, cov: Coverage) -> DemandLayer:
        """The layer of ``cov``'s population (its reach within the service limit)."""
        return cls(name, cov.population.count, cov.population.frame.geometry.to_numpy(),
                   cov.reach, cov.settings.limit_m)

    def station_counts(self, open_mask: NDArray[np.bool_] | None = None) -> NDArray[np.int64]:
        """How many (open) stations reach each unit within the limit."""
        sel = self.reach.dist_m <= self.limit_m
        if open_mask is not None:
            sel &= np.asarray(open_mask, dtype=bool)[self.reach.source]
        return np.bincount(self.reach.target[sel], minlength=len(self.weights))

    def sole_covered(self, open_mask: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
        """Per station: the demand it alone covers (among the open stations)."""
        counts = self.station_counts(open_mask)
        sel = (self.reach.dist_m <= self.limit_m) & (counts[self.reach.target] == 1)
        if open_mask is not None:
            sel &= np.asarray(open_mask, dtype=bool)[self.reach.source]
        return _sums(self.reach.source[sel], self.weights[self.reach.target[sel]],
                     self.reach.n_sources)


def _sums(index: NDArray[Any], weights: NDArray[Any], n: int) -> NDArray[np.float64]:
    """Weights summed per index 0..n-1."""
    return np.asarray(np.bincount(index, weights=weights, minlength=n), dtype=np.float64)


@dataclass(frozen=True)
class CoveredAt:
    """Demand of one layer covered (1+ open stations) and cross-covered (2+) at one moment."""

    layer: str
    population: float
    covered: float
    cross_covered: float

    @property
    def covered_share(self) -> float:
        return self.covered / self.population if self.population else float("nan")

    @property
    def cross_share(self) -> float:
        return self.cross_covered / self.population if self.population else float("nan")


def covered_at(layer: DemandLayer, open_stations: OpenStations) -> CoveredAt:
    """Coverage of ``layer`` counting only the stations open then."""
    counts = layer.station_counts(open_stations.open)
    w = layer.weights
    return CoveredAt(layer.name, float(w.sum()), float(w[counts >= 1].sum()),
                     float(w[counts >= CROSS_COVERAGE].sum()))


@dataclass(frozen=True)
class HourlyCoverage:
    """The 24-hour table of one day: one row per area and hour (``hour`` 0-23, at
    the full hour), with ``stations_open``, ``stations_unknown`` and per layer ``L``:
    ``population_L``, ``covered_L``, ``cross_covered_L``, ``covered_L_share``,
    ``cross_L_share``. The whole area is the area named :data:`ALL_AREAS`."""

    day: date
    layers: tuple[str, ...]
    table: pd.DataFrame
    opens: tuple[OpenStations, ...] = field(repr=False)

    @property
    def unknown(self) -> UnknownHours:
        return self.opens[0].unknown

    @property
    def without_hours(self) -> int:
        return self.opens[0].without_hours

    def note(self) -> str:
        n = len(self.opens[0].states)
        fewest = min(o.n_open for o in self.opens)
        return (f"{self.day:%a %Y-%m-%d}: {fewest} to {max(o.n_open for o in self.opens)} of "
                f"{n} stations open by the hour; {self.without_hours} stations without usable "
                f"opening_hours counted as {self.unknown}")


def _area_index(points: NDArray[np.object_], areas: Areas | None) -> tuple[NDArray[np.int64],
                                                                         list[str]]:
    """Area number of each unit (-1 outside every area) and the areas' names."""
    if areas is None:
        return np.full(len(points), -1, dtype=np.int64), []
    idx = np.full(len(points), -1, dtype=np.int64)
    u, a = first_area(points, areas.frame.geometry.to_numpy())
    idx[u] = a
    return idx, [str(n) for n in areas.frame["name"]]


def coverage_by_hour(layers: Sequence[DemandLayer], stations: Stations, *,
                     areas: Areas | None = None, day: str | date = DEFAULT_DAY,
                     unknown: UnknownHours = "open", today: date | None = None
                     ) -> HourlyCoverage:
    """Covered and cross-covered demand of each layer at each full hour of ``day``.

    ``stations`` are the ones the layers' reach refers to (same order). Hours
    with the same stations open share one count.
    """
    if not layers:
        raise SettingsError("coverage by hour needs at least one demand layer")
    if len({lay.name for lay in layers}) != len(layers):
        raise SettingsError("demand layers need distinct names")
    the_day = day_of(day, today=today)
    tz = stations_timezone(stations)
    moments = [datetime.combine(the_day, time(h), tzinfo=tz) for h in range(24)]
    opens = open_by_time(stations, moments, unknown=unknown)
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    per_layer: list[dict[bytes, tuple[NDArray[np.float64], ...]]] = []
    prepared = []
    for lay in layers:
        idx, names = _area_index(lay.points, areas)
        prepared.append(idx)
        per_layer.append({})
    n_areas = len(names)
    for h, op in enumerate(opens):
        base = [{"area": name, "weekday": WEEKDAYS[the_day.weekday()], "date": the_day.isoformat(),
                 "hour": h, "time": f"{h:02d}:00", "stations_open": op.n_open,
                 "stations_unknown": op.n_unknown} for name in [*names, ALL_AREAS]]
        key = op.open.tobytes()
        for lay, idx, cache in zip(layers, prepared, per_layer, strict=True):
            if key not in cache:
                counts = lay.station_counts(op.open)
                w = lay.weights
                slot = np.where(idx >= 0, idx, n_areas)
                pop = _sums(slot, w, n_areas + 1)
                cov = _sums(slot, w * (counts >= 1), n_areas + 1)
                cross = _sums(slot, w * (counts >= CROSS_COVERAGE), n_areas + 1)
                # the last slot becomes the whole area (inside an area or not)
                pop[-1], cov[-1], cross[-1] = w.sum(), cov.sum(), cross.sum()
                cache[key] = (pop, cov, cross)
            pop, cov, cross = cache[key]
            with np.errstate(invalid="ignore", divide="ignore"):
                cov_share = np.where(pop > 0, cov / pop, np.nan)
                cross_share = np.where(pop > 0, cross / pop, np.nan)
            for j, row in enumerate(base):
                row[f"population_{lay.name}"] = float(pop[j])
                row[f"covered_{lay.name}"] = float(cov[j])
                row[f"cross_covered_{lay.name}"] = float(cross[j])
                row[f"covered_{lay.name}_share"] = float(cov_share[j])
                row[f"cross_{lay.name}_share"] = float(cross_share[j])
        rows += base
    # rows by area (in the areas' order, the whole area last), then by hour
    order = np.argsort(np.arange(len(rows)) % (n_areas + 1), kind="stable")
    table = pd.DataFrame([rows[i] for i in order])
    return HourlyCoverage(the_day, tuple(lay.name for lay in layers), table, tuple(opens))
