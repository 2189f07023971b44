"""Population units (points or cell centres with a count) on the network."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from circle15.geo.crs import check_input_crs, to_wgs84
from circle15.geo.errors import InputError, Problem, SettingsError, ref
from circle15.geo.inputs.tables import columns_text, find_column, parse_numbers, read_table
from circle15.geo.network.graph import Network
from circle15.geo.snapping.placement import place_points
from circle15.geo.snapping.snap import DEFAULT_RULE, Snapped, SnapRule
from circle15.geo.vocab import POPULATION_MAX_SNAP_M

log = logging.getLogger(__name__)

#: default farthest a population unit may be from a walkable street (metres);
#: grid cells and building centroids can sit a few hundred metres off a street

COUNT_NAMES = ("population", "pop", "count", "people", "value", "人口", "人数")

OnFar = Literal["error", "drop"]


POPULATION_RULE = (
    "each population unit (a point or cell centre) joins the walking network at the streets "
    "it can step onto; its walking time = straight-line walk to the street + walk along it + "
    "network walk, the best over its joins; a unit counts as covered when that time is within "
    "the limit"
)


@dataclass(frozen=True, eq=False)
class Population:
    """Population units on the network.

    ``frame`` has ``unit`` (id), ``population`` (count), ``lon``/``lat``
    (WGS84), ``off_network_m`` and point geometry in the network's CRS.
    """

    frame: gpd.GeoDataFrame
    snapped: Snapped
    source: str = ""
    dropped_units: int = 0
    dropped_population: float = 0.0
    rule: str = POPULATION_RULE

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def count(self) -> NDArray[np.float64]:
        return self.frame["population"].to_numpy(dtype=float)

    @property
    def total(self) -> float:
        return float(self.count.sum())

    @property
    def fallback_units(self) -> int:
        """Units with no eligible street within the limit, joined to the nearest walkable one."""
        return int(self.snapped.fallback.sum())

    @property
    def outside_bounds_units(self) -> int:
        """Units beyond the extract's declared bounds (the network there is incomplete)."""
        col = self.frame.get("outside_bounds")
        return 0 if col is None else int(col.sum())


def population_from_points(
    net: Network,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    count: NDArray[np.float64],
    *,
    unit_ids: Sequence[str] | None = None,
    source: str = "population",
    max_snap_m: float = POPULATION_MAX_SNAP_M,
    on_far: OnFar = "error",
    problems: Sequence[Problem] = (),
    rule: SnapRule = DEFAULT_RULE,
) -> Population:
    """Place population units (WGS84 points with counts) on the network.

    Units with zero people that cannot be placed are dropped quietly (water,
    fields); units with people farther than ``max_snap_m`` from a street are an
    error, or with ``on_far="drop"`` are dropped and counted in
    ``dropped_population``.
    """
    if on_far not in ("error", "drop"):
        raise SettingsError(f"on_far must be 'error' or 'drop', not {on_far!r}")
    problems = list(problems)
    ids = list(unit_ids) if unit_ids is not None else [str(i + 1) for i in range(len(count))]
    for i in np.flatnonzero(np.isfinite(count) & (count < 0)):
        problems.append(Problem(f"population is negative ({count[i]})", row=int(i) + 1,
                                ident=ids[i]))
    placement = place_points(net, lon, lat, max_snap_m=max_snap_m, ids=ids, rule=rule,
                             what="population unit")
    far_rows = {p.row for p in placement.problems}
    keep = placement.snapped.ok.copy()
    dropped_units, dropped_pop = 0, 0.0
    for p in placement.problems:
        assert p.row is not None
        row = p.row - 1
        if np.isfinite(count[row]) and count[row] == 0:
            continue  # nobody lives there; nothing to place
        if on_far == "drop":
            dropped_units += 1
            dropped_pop += float(count[row]) if np.isfinite(count[row]) else 0.0
        else:
            problems.append(p)
    if problems:
        raise InputError(source, sorted(problems, key=lambda p: (p.row or 0)))
    if dropped_units:
        log.warning("%s: dropped %d units (%.0f people) farther than %.0f m from any street",
                    source, dropped_units, dropped_pop, max_snap_m)
    zero_far = len(far_rows) - dropped_units
    if zero_far:
        log.info("%s: ignored %d empty units away from the streets", source, zero_far)
    if not keep.any():
        raise InputError(source, "no population unit lies on the network")
    gdf = gpd.GeoDataFrame(
        {
            "unit": np.asarray(ids, dtype=object)[keep],
            "population": count[keep],
            "lon": lon[keep],
            "lat": lat[keep],
            "off_network_m": placement.snapped.off_m[keep],
            "snap_fallback": placement.snapped.fallback[keep],
            "outside_bounds": placement.outside_bounds[keep],
        },
        geometry=shapely.points(placement.xy[keep]),
        crs=net.crs,
    )
    return Population(gdf, placement.snapped.take(keep), source=source,
                      dropped_units=dropped_units, dropped_population=dropped_pop,
                      rule=f"{POPULATION_RULE} ({rule.describe()})")


@dataclass(frozen=True)
class PopulationTable:
    """Population points as a file holds them, converted to WGS84, not yet placed."""

    source: str
    ids: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    count: NDArray[np.float64]
    problems: tuple[Problem, ...]

    def take(self, index: NDArray[np.int64]) -> PopulationTable:
        """The rows at ``index`` (problems of other rows are left behind)."""
        rows = {int(i) + 1: j + 1 for j, i in enumerate(np.asarray(index).tolist())}
        kept = tuple(Problem(p.message, rows[p.row], p.column, p.ident)
                     for p in self.problems if p.row in rows)
        return PopulationTable(self.source, [self.ids[i] for i in index], self.lon[index],
                               self.lat[index], self.count[index], kept)

    def place(self, net: Network, *, max_snap_m: float = POPULATION_MAX_SNAP_M,
              on_far: OnFar = "error", rule: SnapRule = DEFAULT_RULE) -> Population:
        return population_from_points(
            net, self.lon, self.lat, self.count, unit_ids=self.ids, source=self.source,
            max_snap_m=max_snap_m, on_far=on_far, rule=rule, problems=list(self.problems))


def read_population_table(path: str | Path, *, column: str | None = None,
                          crs: str = "wgs84", names: Sequence[str] = COUNT_NAMES,
                          what: str = "population",
                          option: str = ref("population_column")) -> PopulationTable:
    """Population points/cells with a count column (CSV, XLSX, GeoJSON), unplaced.

    The count column is ``column`` or the first of ``names`` (population/pop/
    count/people/value/人口/人数); polygons are placed at a point inside them.
    ``what`` and ``option`` name the layer and its column option in messages.
    """
    raw = read_table(path)
    source = raw.source
    col = find_column(raw.frame, names, explicit=column, source=source)
    if col is None:
        msg = (f"no {what} count column; name it one of {', '.join(names)} or pass "
               f"{option}; the file has "
               f"{columns_text(raw.frame.columns)}")
        raise InputError(source, msg)
    count, p_count = parse_numbers(raw.frame, col, what=what)
    id_col = find_column(raw.frame, ("unit", "id", "h3", "id_hex", "cell", "编号"), source=source)
    ids = (raw.frame[id_col].astype(str).tolist() if id_col is not None
           else [str(i + 1) for i in range(len(count))])
    lon, lat = to_wgs84(raw.lon, raw.lat, check_input_crs(crs))
    return PopulationTable(source, ids, lon, lat, count, (*raw.problems, *p_count))


def read_population(
    path: str | Path,
    net: Network,
    *,
    column: str | None = None,
    crs: str = "wgs84",
    max_snap_m: float = POPULATION_MAX_SNAP_M,
    on_far: OnFar = "error",
    rule: SnapRule = DEFAULT_RULE,
) -> Population:
    """Read population points/cells with a count column (CSV, XLSX, GeoJSON) and place
    them on the network (:func:`read_population_table`, then :meth:`PopulationTable.place`)."""
    return read_population_table(path, column=column, crs=crs).place(
        net, max_snap_m=max_snap_m, on_far=on_far, rule=rule)
