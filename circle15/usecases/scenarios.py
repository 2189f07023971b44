"""Scenarios: a station list tried out against the register, evaluated edit by edit.

A scenario is a list of station records (the register's, or another scenario's,
at its creation) and an ordered list of edits: add, remove, move, update. Its
stations are the base with the edits applied (:func:`apply_edits`), checked and
placed exactly as a station file is.

Evaluating it is cheap because each station's reach (the units within the limit
and the metres to each) depends on that station alone: :class:`ReachBook` keeps
every reach it has seen, keyed by where the station is, so an edit costs one
bounded search for a new position and a recount of the stations reaching each
unit, never a recompute. The counts are those :func:`compute_coverage` makes for
the same stations, so the numbers equal ``circle15 coverage``'s for the
scenario's station list exactly.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from circle15.geo.coverage.count import Coverage, counts_by_area, first_area, summarise_counts
from circle15.geo.coverage.reach import reach_within
from circle15.geo.errors import InputError, NotFoundError
from circle15.geo.inputs.stations import Stations
from circle15.usecases.area import Area, stations_of_records

#: the kinds of edit
OPS = ("add", "remove", "move", "update")
#: fields an ``update`` may change
UPDATABLE = ("name", "address", "amenities", "opening_hours", "status")

Record = dict[str, Any]


def apply_edits(base: Sequence[Record], edits: Sequence[Record]) -> list[Record]:
    """The station records after ``edits`` (each ``{"op": ..., ...}``), in order: an edit
    that names a station the list does not hold (or adds one it holds) is an error
    naming the edit."""
    stations = {str(r["id"]): dict(r) for r in base}
    for n, edit in enumerate(edits, start=1):
        op = edit.get("op")
        sid = str(edit.get("station_id") or (edit.get("station") or {}).get("id") or "")
        if op == "add":
            record = dict(edit["station"])
            if sid in stations:
                raise InputError(f"edit {n}", f"a station with id {sid!r} is already there")
            stations[sid] = {"address": "", "amenities": "", "opening_hours": "",
                             "status": "existing", **record}
        elif op in ("remove", "move", "update"):
            if sid not in stations:
                raise NotFoundError(f"edit {n}: no station with id {sid!r} in this scenario")
            if op == "remove":
                del stations[sid]
            elif op == "move":
                stations[sid] = {**stations[sid], "lon": edit["lon"], "lat": edit["lat"]}
            else:
                changes = {k: v for k, v in edit.items() if k in UPDATABLE and v is not None}
                stations[sid] = {**stations[sid], **changes}
        else:
            raise InputError(f"edit {n}", f"unknown op {op!r}; use one of {', '.join(OPS)}")
    return list(stations.values())


def _key(lon: float, lat: float) -> tuple[float, float]:
    return (round(float(lon), 7), round(float(lat), 7))


def _fingerprint(record: Record) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in record.items()))


class ReachBook:
    """Every station's reach over the area's units, by position, and every record
    already checked: seeded from the register's coverage; a new or changed record is
    checked and placed once, a new position searched once (thread-safe)."""

    def __init__(self, area: Area, base: Coverage) -> None:
        self.area = area
        self.settings = base.settings
        self._lock = threading.Lock()
        self._reach: dict[tuple[float, float], tuple[NDArray[np.int32],
                                                     NDArray[np.float64]]] = {}
        self._checked: dict[tuple[Any, ...], Record] = {}
        self._tree: cKDTree | None = None
        r = base.reach
        ptr = np.searchsorted(r.source, np.arange(len(base.stations) + 1))
        f = base.stations.frame
        for i, (lon, lat) in enumerate(zip(f["lon"], f["lat"], strict=True)):
            lo, hi = ptr[i], ptr[i + 1]
            self._reach[_key(lon, lat)] = (r.target[lo:hi].copy(), r.dist_m[lo:hi].copy())
        self.searched = 0

    def checked(self, records: Sequence[Record]) -> list[Record]:
        """The records as stored after checking (WGS84, normalised), checking only those
        not seen before, all of them at once so that every problem is said; the new
        positions' reach is searched on the way."""
        prints = [_fingerprint(r) for r in records]
        with self._lock:
            new = [i for i, fp in enumerate(prints) if fp not in self._checked]
        if new:
            placed = stations_of_records(self.area, [records[i] for i in new],
                                         source="scenario", check_crs=False)
            f = placed.frame
            missing = [j for j, (lon, lat) in enumerate(zip(f["lon"], f["lat"], strict=True))
                       if _key(lon, lat) not in self._reach]
            if missing:
                self._search(placed, missing)
            rows = [{"id": r["id"], "name": r["name"], "address": r["address"],
                     "amenities": r["amenities"], "opening_hours": r["opening_hours"],
                     "status": r["status"], "lon": float(r["lon"]), "lat": float(r["lat"])}
                    for r in f.to_dict("records")]
            with self._lock:
                for i, row in zip(new, rows, strict=True):
                    self._checked[prints[i]] = row
        with self._lock:
            return [self._checked[fp] for fp in prints]

    def _search(self, placed: Stations, rows: list[int]) -> None:
        """The reach of ``placed``'s ``rows``: searched towards the units near them only
        (a way is never shorter than the straight line, so no unit farther than the
        limit plus the station's step onto the street can be within it)."""
        idx = np.asarray(rows, dtype=np.int64)
        pop = self.area.population
        if self._tree is None:
            self._tree = cKDTree(shapely.get_coordinates(pop.frame.geometry.to_numpy()))
        xy = shapely.get_coordinates(placed.frame.geometry.to_numpy()[idx])
        radius = self.settings.limit_m + self.area.spec.station_max_snap_m + 1.0
        near = np.unique(np.concatenate([np.asarray(found, dtype=np.int64) for found in
                                         self._tree.query_ball_point(xy, radius)]
                                        + [np.empty(0, dtype=np.int64)]))
        found, _, _ = reach_within(self.area.network, placed.snapped.take(idx),
                                   pop.snapped.take(near), limit_m=self.settings.limit_m,
                                   keep_nodes=False)
        ptr = np.searchsorted(found.source, np.arange(idx.size + 1))
        f = placed.frame
        with self._lock:
            for j, i in enumerate(rows):
                key = _key(f["lon"].iloc[i], f["lat"].iloc[i])
                self._reach[key] = (near[found.target[ptr[j]:ptr[j + 1]]].astype(np.int32),
                                    found.dist_m[ptr[j]:ptr[j + 1]].copy())
            self.searched += len(rows)

    def reach(self, record: Record) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """A checked record's reach (units within the limit, metres)."""
        return self.reach_at(_key(record["lon"], record["lat"]))

    def reach_at(self, key: tuple[float, float]) -> tuple[NDArray[np.int32],
                                                          NDArray[np.float64]]:
        """The reach of the station at a checked position (:func:`_key`)."""
        with self._lock:
            return self._reach[key]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A station list's coverage of the area's people: the stations reaching each unit
    within each band, and the tables made from them."""

    area: Area
    #: the station records as checked (WGS84)
    records: list[Record]
    #: stations counted (existing ones) reaching each unit, one row per band
    counts: NDArray[np.int64]

    @property
    def active(self) -> int:
        return sum(r["status"] == "existing" for r in self.records)

    @functools.cached_property
    def _summary(self) -> pd.DataFrame:
        return summarise_counts(self.area.population.count, self.counts,
                                self.area.spec.coverage_settings())

    @functools.cached_property
    def _by_area(self) -> gpd.GeoDataFrame | None:
        if self.area.areas is None:
            return None
        return counts_by_area(self.area.population, self.counts,
                              self.area.spec.coverage_settings(), self.area.areas,
                              index=_unit_areas(self.area))

    def summary(self) -> pd.DataFrame:
        """People covered, cross-covered and uncovered per band (worked out once)."""
        return self._summary.copy()

    def by_area(self) -> gpd.GeoDataFrame | None:
        """The same per admin area at the limit (worked out once; None without areas)."""
        return None if self._by_area is None else self._by_area.copy()


_AREA_INDEX: dict[int, tuple[Area, tuple[NDArray[np.int64], NDArray[np.int64]]]] = {}


def _unit_areas(area: Area) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Which admin area holds each unit, worked out once per loaded area."""
    hit = _AREA_INDEX.get(id(area))
    if hit is None or hit[0] is not area:
        assert area.areas is not None
        hit = (area, first_area(area.population.frame.geometry.to_numpy(),
                                area.areas.frame.geometry.to_numpy()))
        _AREA_INDEX.clear()  # one service, one area
        _AREA_INDEX[id(area)] = hit
    return hit[1]


def evaluate(area: Area, book: ReachBook, records: Sequence[Record], *,
             since: Evaluation | None = None) -> Evaluation:
    """The coverage of ``records`` (checked and placed as a file is, once each; the
    existing stations count), recounted from each station's kept reach; with ``since``
    (the evaluation of a list it differs from by a few edits), only the stations that
    differ are counted in or out of its counts."""
    checked = book.checked(records)
    settings = book.settings
    n = len(area.population)
    now = Counter(_key(r["lon"], r["lat"]) for r in checked if r["status"] == "existing")
    if since is not None and since.area is area:
        was = Counter(_key(r["lon"], r["lat"]) for r in since.records
                      if r["status"] == "existing")
        counts = since.counts.copy()
        for key, times in (now - was).items():
            _count(counts, *book.reach_at(key), settings.bands_m, times)
        for key, times in (was - now).items():
            _count(counts, *book.reach_at(key), settings.bands_m, -times)
        return Evaluation(area, checked, counts)
    counts = np.zeros((len(settings.bands_m), n), dtype=np.int64)
    reaches = [book.reach_at(key) for key, times in now.items() for _ in range(times)]
    if reaches:
        units = np.concatenate([u for u, _ in reaches])
        dist = np.concatenate([d for _, d in reaches])
        for j, band in enumerate(settings.bands_m):
            counts[j] = np.bincount(units[dist <= band], minlength=n)
    return Evaluation(area, checked, counts)


def _count(counts: NDArray[np.int64], units: NDArray[np.int32], dist: NDArray[np.float64],
           bands_m: Sequence[float], times: int) -> None:
    """Count one station's reach into (``times`` > 0) or out of (< 0) ``counts``."""
    for j, band in enumerate(bands_m):
        np.add.at(counts[j], units[dist <= band], times)


def delta(now: Evaluation, before: Evaluation) -> dict[str, float]:
    """What the scenario changes against ``before`` (the register), at the limit."""
    a, b = now.summary().iloc[-1], before.summary().iloc[-1]
    return {"stations": now.active - before.active,
            "covered": float(a["covered"] - b["covered"]),
            "cross_covered": float(a["cross_covered"] - b["cross_covered"]),
            "uncovered": float(a["uncovered"] - b["uncovered"])}
