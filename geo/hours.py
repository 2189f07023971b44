"""Opening hours in the common subset of OSM's ``opening_hours`` syntax.

Understood: ``24/7``; rules separated by ``;`` such as ``Mo-Fr 08:00-18:00``,
``Sa,Su 09:00-12:00,14:00-17:00``, ``Su off``, a times-only rule
(``08:00-20:00``, every day) and spans past midnight (``20:00-02:00``). Later
rules override earlier ones for the days they name, as in OSM. Anything else
is "unknown" (``None``), never guessed. The courier page carries the same
rules in JavaScript.
"""

from __future__ import annotations

import re
from datetime import datetime

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

Week = dict[int, list[tuple[int, int]]]


def _days(text: str) -> set[int] | None:
    out: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            if a not in DAYS or b not in DAYS:
                return None
            i, j = DAYS.index(a), DAYS.index(b)
            out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif part in DAYS:
            out.add(DAYS.index(part))
        else:
            return None
    return out


def _spans(text: str) -> list[tuple[int, int]] | None:
    spans = []
    for part in text.split(","):
        m = _TIME.match(part.strip())
        if m is None:
            return None
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            return None
        spans.append((h1 * 60 + m1, h2 * 60 + m2))
    return spans


def parse_hours(spec: str) -> Week | None:
    """Minutes-of-day spans open on each weekday (0 = Monday), or None if not understood."""
    spec = spec.strip()
    if not spec:
        return None
    if spec == "24/7":
        return {d: [(0, 24 * 60)] for d in range(7)}
    week: Week = {d: [] for d in range(7)}
    for rule in (r.strip() for r in spec.split(";")):
        if not rule:
            continue
        parts = rule.split()
        if len(parts) == 1:
            days: set[int] | None = set(range(7))
            times = parts[0]
        elif len(parts) == 2:
            days, times = _days(parts[0]), parts[1]
        else:
            return None
        if days is None:
            return None
        if times == "off":
            for d in days:
                week[d] = []
            continue
        spans = _spans(times)
        if spans is None:
            return None
        for d in days:
            week[d] = list(spans)
    return week


def is_open(spec: str, when: datetime) -> bool | None:
    """Whether a place with these hours is open at ``when`` (local time), or None."""
    return open_in(parse_hours(spec), when)


def open_in(week: Week | None, when: datetime) -> bool | None:
    """Like :func:`is_open` for hours already parsed (None: not understood)."""
    if week is None:
        return None
    day, minute = when.weekday(), when.hour * 60 + when.minute
    for start, end in week[day]:
        if start <= minute < end or (end <= start and minute >= start):
            return True
    # a span of yesterday running past midnight
    return any(end <= start and minute < end for start, end in week[(day - 1) % 7])
