"""One vocabulary: the words circle15 takes as options, and every default, declared once.

The command line's choices and defaults, the service's settings and query
parameters, the use-case specs and the core all read them from here, so a
default changes in one place and the front ends cannot drift apart. Each
enum's values are the words users type (``--mode ebike``, ``?demand=workers``,
``CIRCLE15_MODE=ebike``); as :class:`enum.StrEnum` members they compare equal
to those strings.

Units are in the names: ``_MIN`` minutes, ``_M`` metres, ``_KMH`` km/h.
"""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """How people reach a station: the network they move on and its default speed."""

    WALK = "walk"
    EBIKE = "ebike"
    BIKE = "bike"


class CoordSystem(StrEnum):
    """Coordinate systems of inputs and outputs: WGS84 (GPS, OSM), GCJ-02 (Amap,
    Tencent), BD-09 (Baidu)."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


class DemandKind(StrEnum):
    """Who coverage counts: residents, outdoor workers, or a weighted mix of both."""

    RESIDENTS = "residents"
    WORKERS = "workers"
    MIX = "mix"


class Basemap(StrEnum):
    """The map pages' background: OSM tiles, Amap tiles (overlays in GCJ-02), or the
    offline basemap drawn from the extract itself."""

    OSM = "osm"
    AMAP = "amap"
    BLANK = "blank"


class Objective(StrEnum):
    """What siting maximises: people newly covered, newly cross-covered (two stations),
    or the fewest sites reaching a target share."""

    COVERAGE = "coverage"
    CROSS = "cross"
    TARGET = "target"


class Method(StrEnum):
    """How siting solves: the exact solver (HiGHS, with a proven gap), greedy, or both."""

    EXACT = "exact"
    GREEDY = "greedy"
    BOTH = "both"


class GapLevel(StrEnum):
    """Gaps in coverage (no station within the limit) or in cross coverage (fewer than two)."""

    COVERED = "covered"
    CROSS = "cross"


class UnknownHours(StrEnum):
    """How a station whose opening hours are unknown counts at a given moment."""

    OPEN = "open"
    CLOSED = "closed"


class Lang(StrEnum):
    """The language of pages and reports."""

    ZH = "zh"
    EN = "en"


def words(enum: type[StrEnum]) -> tuple[str, ...]:
    """The values of ``enum`` as plain strings (argparse choices, messages)."""
    return tuple(str(m.value) for m in enum)


#: the service limit, minutes
MINUTES = 15.0
#: shorter limits reported beside it, minutes
BANDS_MIN: tuple[float, ...] = (5.0, 10.0)
#: each mode's default speed, km/h
SPEEDS_KMH: dict[str, float] = {Mode.WALK: 4.0, Mode.EBIKE: 15.0, Mode.BIKE: 12.0}
#: the speeds a mode may be given, km/h
MIN_SPEED_KMH, MAX_SPEED_KMH = 0.5, 30.0
#: how far a station may be from a street it can join, metres
STATION_MAX_SNAP_M = 200.0
#: how far a population unit (a person, a worker) may be from a street, metres
POPULATION_MAX_SNAP_M = 500.0
#: how far a courier may be from a street for ``/nearest`` to answer, metres
NEAREST_RADIUS_M = 500.0
#: stations a courier's answer lists by default, and at most
NEAREST_K, NEAREST_K_MAX = 3, 20
#: a point joins the best eligible street within this many metres beyond its nearest one
SNAP_SLACK_M = 50.0
#: the day of a 24-hour table: a working day
DAY = "Tu"
#: the night moment of the maps, reports and ``/coverage/night``
NIGHT_AT = f"{DAY} 02:00"
#: the mix of residents and workers when ``demand`` is ``mix``
MIX: tuple[tuple[str, float], ...] = ((DemandKind.RESIDENTS, 0.5), (DemandKind.WORKERS, 0.5))
#: the share of residents taken as outdoor workers when no total is given (the national
#: ratio of new-employment-form workers)
WORKERS_RATIO = 0.06
#: new stations a siting run places
SITES_K = 10
#: seconds the exact siting solver may take
SITING_TIME_LIMIT_S = 60.0
#: spacing of thinned network-node candidates, metres
NODE_SPACING_M = 100.0
#: how far a shop may be from a street to be a candidate, metres
SHOP_MAX_SNAP_M = 50.0
#: size of the gap hexagons, centre to corner, metres
GAP_HEX_M = 300.0

# a request's own budget: the service's siting defaults are smaller than the command
# line's on purpose (an anonymous request must stay cheap)
#: new sites a POST /siting places unless it says
SERVICE_SITES_K = 5
#: node candidates' spacing for POST /siting unless it says, metres
SERVICE_NODE_SPACING_M = 200.0
#: seconds POST /siting's exact solver may take unless it says
SERVICE_SITING_TIME_LIMIT_S = 20.0

# a request's caps, checked before any work: beyond them the service answers 422
#: new sites one POST /siting may ask for, and the k-curve's length
SITING_MAX_K = 50
#: the exact solver's time one request may ask for, seconds
SITING_MAX_TIME_LIMIT_S = 60.0
#: node candidates no closer than this, metres (20 m thinning made 7 GB models)
SITING_MIN_NODE_SPACING_M = 50.0
#: candidate sites one siting request may search from
SITING_MAX_CANDIDATES = 5_000
#: candidate-person pairs within the limit one siting model may hold (about 40 bytes each
#: through the reduction and the solver: 10 million is about 0.4 GB)
SITING_MAX_PAIRS = 10_000_000
#: stations one area's register may hold (the service refuses writes past it): 4 times
#: the district's 500; coverage of 2,000 stations on the district city takes seconds and
#: well under 2 GB (bench/README.md), where 40,000 ran a 24 GB machine out of memory
MAX_STATIONS = 2_000
