"""Stations' opening hours, read and evaluated by the maintained OSM parser.

A thin layer over ``opening-hours-py`` (import name ``opening_hours``), which
understands the whole OSM ``opening_hours`` syntax: ``24/7``, ``Mo-Fr
08:00-18:00; Sa 09:00-12:00``, spans past midnight, months, public holidays,
``unknown`` rules and more. Here it is read in the area's time zone, and its
answers are put the way the rest of circle15 asks:

- :func:`check_opening_hours` validates a string, with an error that says
  where the syntax goes wrong;
- :meth:`Hours.is_open` answers ``True``, ``False`` or ``None`` (unknown:
  no hours given, hours not understood, or an ``unknown`` rule);
- :meth:`Hours.schedule` lists the open (and unknown) intervals over a
  window, for pages that check the clock themselves.

Naive datetimes are wall-clock times in the area's time zone; aware ones are
converted to it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import opening_hours

from circle15.geo.errors import InputError, Problem, SettingsError

#: what a place's hours say at one moment
State = Literal["open", "closed", "unknown"]
_STATE: dict[opening_hours.State, State] = {
    opening_hours.State.OPEN: "open",
    opening_hours.State.CLOSED: "closed",
    opening_hours.State.UNKNOWN: "unknown",
}
_AS_BOOL: dict[State, bool | None] = {"open": True, "closed": False, "unknown": None}

Interval = tuple[datetime, datetime]
#: how far ahead anyone asks what hours will do (a week and a day): a rule that does not
#: change within it counts as constant. The parser's own search for the next change has
#: no bound: for ``Mo-Su 00:00-24:00`` it looks years ahead (about a second per call)
HORIZON = timedelta(days=8)
#: what the parser raises on bad syntax (present at run time, absent from its stubs)
_PARSER_ERROR: type[Exception] = getattr(opening_hours, "ParserError", SyntaxError)


class OpeningHoursError(InputError):
    """An ``opening_hours`` string that is not valid OSM syntax."""

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        super().__init__("opening_hours", [Problem(
            f"{spec!r} is not valid OSM opening_hours syntax: {reason}")])


def _reason(error: Exception) -> str:
    """The parser's message in one line: where it stopped and what it expected."""
    text = str(error)
    where = re.search(r"-->\s*\d+:(\d+)", text)
    expected = re.search(r"=\s*(.+)$", text.strip(), flags=re.MULTILINE)
    parts = []
    if where:
        parts.append(f"at character {where.group(1)}")
    parts.append(expected.group(1).strip() if expected else text.strip().splitlines()[0])
    return ", ".join(parts)


def check_opening_hours(spec: str) -> str:
    """``spec`` stripped, if it is empty (hours unknown) or valid OSM syntax.

    Raises
    ------
    OpeningHoursError
        The string is not valid syntax (e.g. ``"Mo-Xx 25:00-99:99"``); the
        message says at which character and what was expected there.
    """
    spec = spec.strip()
    if spec:
        try:
            opening_hours.OpeningHours(spec)
        except _PARSER_ERROR as e:
            raise OpeningHoursError(spec, _reason(e)) from e
    return spec


@functools.lru_cache(maxsize=64)
def area_timezone(lon: float, lat: float) -> ZoneInfo | None:
    """The time zone at (lon, lat) in WGS84 degrees, as the parser infers it
    from coordinates (``None`` where it knows none, e.g. at sea). Remembered:
    each answer costs the parser a look through its zone map (0.3 s)."""
    probe = opening_hours.OpeningHours("24/7", coords=(lat, lon))
    start = next(probe.intervals(datetime(2000, 1, 1)), None)
    tz = start[0].tzinfo if start else None
    return tz if isinstance(tz, ZoneInfo) else None


def time_zone(timezone: ZoneInfo | str | None = None, *,
              lonlat: tuple[float, float] | None = None) -> ZoneInfo | None:
    """``timezone`` as a :class:`~zoneinfo.ZoneInfo`; when None, the zone at
    ``lonlat`` (WGS84 degrees) if given.

    Raises
    ------
    SettingsError
        ``timezone`` names no known time zone.
    """
    if isinstance(timezone, str):
        try:
            return ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            msg = f"{timezone!r} is not a known time zone (e.g. 'Asia/Shanghai')"
            raise SettingsError(msg) from e
    if timezone is None and lonlat is not None:
        return area_timezone(*lonlat)
    return timezone


@dataclass(frozen=True)
class Schedule:
    """What a place's hours say over the window ``[start, end)``.

    ``constant`` is set when the hours never change at all (``24/7`` is
    ``"open"``; ``off`` is ``"closed"``; no hours or hours not understood are
    ``"unknown"``): that answer holds at any time, inside the window or not.
    Otherwise ``open`` and ``unknown`` list the intervals in the window
    (aware datetimes, sorted, not overlapping); the rest of the window is
    closed, and outside the window nothing is known.
    """

    start: datetime
    end: datetime
    constant: State | None
    open: list[Interval] = field(default_factory=list)
    unknown: list[Interval] = field(default_factory=list)

    def is_open(self, when: datetime) -> bool | None:
        """Open at ``when`` (an aware datetime) by this schedule, or None."""
        if self.constant is not None:
            return _AS_BOOL[self.constant]
        if not self.start <= when < self.end:
            return None
        if any(a <= when < b for a, b in self.open):
            return True
        return None if any(a <= when < b for a, b in self.unknown) else False


@dataclass(frozen=True, eq=False)
class Hours:
    """One place's opening hours, parsed once and evaluated many times.

    Build with :meth:`parse` (invalid syntax is an error) or :meth:`read`
    (invalid syntax reads as unknown, for stored data).
    """

    spec: str
    timezone: ZoneInfo | None
    #: the parsed expression; None when the hours are unknown
    rules: opening_hours.OpeningHours | None
    #: constant_from's answers, by start
    _constant: dict[datetime, State | None] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, spec: str, *, timezone: ZoneInfo | str | None = None,
              lonlat: tuple[float, float] | None = None) -> Hours:
        """Hours from OSM syntax; ``""`` means unknown.

        Parameters
        ----------
        spec
            The ``opening_hours`` string.
        timezone
            The area's time zone; None: inferred from ``lonlat`` if given.
        lonlat
            The place in WGS84 degrees, for public holidays, sunrise/sunset
            and (without ``timezone``) the time zone.

        Raises
        ------
        OpeningHoursError
            The string is not valid syntax.
        """
        spec = check_opening_hours(spec)
        tz = time_zone(timezone, lonlat=lonlat)
        if not spec:
            return cls(spec, tz, None)
        coords = (lonlat[1], lonlat[0]) if lonlat is not None else None
        rules = opening_hours.OpeningHours(spec, timezone=tz, coords=coords, auto_timezone=False)
        return cls(spec, tz, rules)

    @classmethod
    def read(cls, spec: str, *, timezone: ZoneInfo | str | None = None,
             lonlat: tuple[float, float] | None = None) -> Hours:
        """Like :meth:`parse`, but hours that are not valid syntax are unknown."""
        try:
            return cls.parse(spec, timezone=timezone, lonlat=lonlat)
        except OpeningHoursError:
            return cls(spec.strip(), time_zone(timezone, lonlat=lonlat), None)

    def state(self, when: datetime | None = None) -> State:
        """``"open"``, ``"closed"`` or ``"unknown"`` at ``when`` (default: now)."""
        if self.rules is None:
            return "unknown"
        return _STATE[self.rules.state(None if when is None else self._local(when))[0]]

    def is_open(self, when: datetime | None = None) -> bool | None:
        """Open at ``when`` (default: now): True, False, or None when unknown."""
        return _AS_BOOL[self.state(when)]

    def opens_next(self, when: datetime) -> datetime | None:
        """When a place closed at ``when`` next opens, within :data:`HORIZON` (an aware
        datetime in the area's zone); None when it is open, its hours are unknown, or
        it stays closed that long."""
        if self.rules is None:
            return None
        local, at = self._local(when), self._aware(when)
        for a, _b, st, _comment in self.rules.intervals(local, local + HORIZON):
            if _STATE[st] == "open":
                return None if self._aware(a) <= at else self._aware(a)
        return None

    def schedule(self, start: datetime, end: datetime) -> Schedule:
        """The open and unknown intervals from ``start`` to ``end``."""
        if end <= start:
            msg = f"the window must end after it starts ({start} .. {end})"
            raise ValueError(msg)
        start, end = self._aware(start), self._aware(end)
        if self.rules is None:
            return Schedule(start, end, "unknown")
        constant = self.constant_from(start)
        if constant is not None:  # 24/7, Mo-Su 00:00-24:00, off, ...: whatever the spelling
            return Schedule(start, end, constant)
        found: dict[State, list[Interval]] = {"open": [], "closed": [], "unknown": []}
        for a, b, st, _comment in self.rules.intervals(self._local(start), self._local(end)):
            found[_STATE[st]].append((self._aware(a), self._aware(b)))
        return Schedule(start, end, None, found["open"], found["unknown"])

    def constant_from(self, start: datetime) -> State | None:
        """The one state the hours keep from ``start`` over :data:`HORIZON` (``"open"``
        for every spelling of always open, ``"closed"`` for never open), or None when
        they change within it. One bounded pass over the intervals: microseconds,
        remembered per start."""
        if self.rules is None:
            return "unknown"
        if start not in self._constant:
            local = self._local(start)
            spans = self.rules.intervals(local, local + HORIZON)
            first = next(spans, None)
            second = next(spans, None)
            self._constant[start] = (
                _STATE[first[2]] if first is not None and second is None
                and first[0] <= local and first[1] is not None
                and first[1] >= local + HORIZON else None)
        return self._constant[start]

    def _local(self, when: datetime) -> datetime:
        """``when`` as the parser reads it: in the area's zone, or naive local time."""
        if self.timezone is None:
            return when.astimezone().replace(tzinfo=None) if when.tzinfo else when
        return when.astimezone(self.timezone) if when.tzinfo else when

    def _aware(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            return when.replace(tzinfo=self.timezone) if self.timezone else when.astimezone()
        return when.astimezone(self.timezone) if self.timezone else when
