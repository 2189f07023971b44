"""Coverage: who is within N minutes' walk of a station, of two, of none.

All numbers come from network distances to people (edge-snapped, with the
off-network walk added), never from point-in-isochrone-polygon tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import cached_property, partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from circle15.geo.coverage.reach import (
    Nearest,
    Reach,
    augmented_graph,
    nearest_sources,
    reach_within,
    same_edge_pairs,
    within_limit,
)
from circle15.geo.errors import InputError, SettingsError
from circle15.geo.forked import Forked
from circle15.geo.inputs.stations import Stations
from circle15.geo.modes import TravelMode, check_mode
from circle15.geo.network.graph import Network
from circle15.geo.population.points import Population
from circle15.geo.vocab import MINUTES

#: walking speed: GB 50180-2018 puts the 15-minute life circle at 800-1,000 m,
#: i.e. 1,000 m in 15 minutes
DEFAULT_SPEED_KMH = 4.0
DEFAULT_MINUTES = MINUTES
DEFAULT_BANDS_MIN = (5.0, 10.0)
#: cross coverage (交叉覆盖): reached by at least this many stations
CROSS_COVERAGE = 2


@dataclass(frozen=True)
class CoverageSettings:
    """Time limits and walking speed.

    ``bands_min`` are the limits reported, in minutes, ascending; the last is
    the service limit (15 by default). ``speed_kmh`` converts them to metres.
    """

    bands_min: tuple[float, ...] = (*DEFAULT_BANDS_MIN, DEFAULT_MINUTES)
    speed_kmh: float = DEFAULT_SPEED_KMH
    #: the travel mode (walk, ebike, bike; :mod:`circle15.geo.modes`)
    mode: str = "walk"

    def __post_init__(self) -> None:
        if not (0.5 <= self.speed_kmh <= 30):
            raise SettingsError(f"walking speed must be between 0.5 and 30 km/h, "
                                f"not {self.speed_kmh}")
        if not self.bands_min or any(not (0 < b <= 240) for b in self.bands_min):
            raise SettingsError(f"time limits must be between 0 and 240 minutes, "
                                f"not {self.bands_min}")
        object.__setattr__(self, "bands_min", tuple(sorted(set(map(float, self.bands_min)))))
        object.__setattr__(self, "mode", check_mode(self.mode))

    @classmethod
    def of(cls, minutes: float = DEFAULT_MINUTES, *, speed_kmh: float | None = None,
           bands_min: tuple[float, ...] = DEFAULT_BANDS_MIN, mode: str = "walk"
           ) -> CoverageSettings:
        """Settings with service limit ``minutes`` plus the shorter ``bands_min``;
        ``speed_kmh`` defaults to the mode's (walk 4, ebike 15, bike 12)."""
        if not (0 < minutes <= 240):
            raise SettingsError(f"the time limit must be between 0 and 240 minutes, "
                                f"not {minutes}")
        travel = TravelMode.of(mode, speed_kmh)
        return cls((*tuple(b for b in bands_min if b < minutes), float(minutes)),
                   travel.speed_kmh, travel.name)

    @property
    def minutes(self) -> float:
        return self.bands_min[-1]

    @property
    def metres_per_minute(self) -> float:
        return self.speed_kmh * 1000.0 / 60.0

    @property
    def bands_m(self) -> tuple[float, ...]:
        return tuple(b * self.metres_per_minute for b in self.bands_min)

    @property
    def limit_m(self) -> float:
        return self.bands_m[-1]


@dataclass(frozen=True, eq=False)
class Coverage:
    """The result of :func:`compute_coverage`; arrays are aligned with the inputs.

    Attributes
    ----------
    nearest
        Nearest station and walking distance for every node and population
        unit within the service limit (``inf`` / -1 beyond it). For times
        beyond the limit (gap analysis) use :attr:`nearest_any`.
    reach
        Every (station, unit, metres) within the service limit.
    node_count
        Stations reaching each node, per band: shape (bands, nodes).
    unit_count
        Stations reaching each unit, per band: shape (bands, units).
    node_reach
        Every (station, node, metres) within the limit (for isochrones).
    """

    settings: CoverageSettings
    network: Network
    stations: Stations
    population: Population
    nearest: Nearest
    reach: Reach
    node_count: NDArray[np.int64]
    unit_count: NDArray[np.int64]
    node_reach: Reach
    notes: dict[str, str] = field(default_factory=dict)

    @cached_property
    def nearest_any(self) -> Nearest:
        """Like :attr:`nearest` but unbounded: the time to the nearest station
        also for people beyond the limit (one more search, done on demand)."""
        return nearest_sources(self.network, self.stations.snapped, self.population.snapped)

    def with_notes(self, notes: dict[str, str]) -> Coverage:
        """This coverage with ``notes`` added; what it computed on demand is kept."""
        new = replace(self, notes={**self.notes, **notes})
        new.__dict__.update({k: v for k, v in self.__dict__.items()
                             if k not in new.__dict__ and k not in self.__dataclass_fields__})
        return new

    def bands(self) -> list[BandSummary]:
        """The typed summary: one :class:`BandSummary` per band (:meth:`summary` as objects)."""
        return band_summaries(self.population.count, self.unit_count, self.settings)

    @property
    def unit_time_min(self) -> NDArray[np.float64]:
        """Walking minutes from each unit to its nearest station, at any distance
        (inf only where no station can be reached at all)."""
        return self.nearest_any.target_dist_m / self.settings.metres_per_minute

    @property
    def node_time_min(self) -> NDArray[np.float64]:
        return self.nearest_any.node_dist_m / self.settings.metres_per_minute

    def summary(self) -> pd.DataFrame:
        """Population covered, cross-covered and uncovered, one row per band."""
        return summarise_counts(self.population.count, self.unit_count, self.settings)

    def units_frame(self) -> gpd.GeoDataFrame:
        """Population units with nearest station, minutes and station counts."""
        gdf = self.population.frame.copy()
        ids = np.asarray(self.stations.ids, dtype=object)
        src = self.nearest_any.target_source
        nearest_id = ids[np.maximum(src, 0)]
        nearest_id[src < 0] = None
        gdf["nearest_station"] = nearest_id
        t = self.unit_time_min
        gdf["walk_min"] = np.where(np.isfinite(t), np.round(t, 2), np.nan)
        for j, b in enumerate(self.settings.bands_min):
            gdf[f"stations_{b:g}min"] = self.unit_count[j]
        gdf["covered"] = self.unit_count[-1] >= 1
        gdf["cross_covered"] = self.unit_count[-1] >= CROSS_COVERAGE
        # where each unit joined the network: the join on its way to the nearest station
        snapped = self.population.snapped
        joins = snapped.all_joins()
        row = self.nearest_any.target_join
        used = row >= 0
        edge = np.where(used, joins.edge[np.maximum(row, 0)], snapped.edge)
        gdf["snap_way"] = self.network.edge_way[edge]
        gdf["snap_m"] = np.round(np.where(used, joins.off_m[np.maximum(row, 0)],
                                          snapped.off_m), 1)
        return gdf

    def stations_frame(self) -> gpd.GeoDataFrame:
        """Stations with the population each reaches and serves first."""
        gdf = self.stations.frame.copy()
        pop = self.population.count
        reach_pop = np.bincount(self.reach.source, weights=pop[self.reach.target],
                                minlength=len(gdf))
        src = self.nearest.target_source
        covered = np.isfinite(self.nearest.target_dist_m) & (
            self.nearest.target_dist_m <= self.settings.limit_m)
        nearest_pop = np.bincount(src[covered], weights=pop[covered], minlength=len(gdf))
        gdf["population_reached"] = np.round(reach_pop, 1)
        gdf["population_nearest"] = np.round(nearest_pop, 1)
        return gdf

    @cached_property
    def _by_area_memo(self) -> dict[int, tuple[Areas, gpd.GeoDataFrame]]:
        return {}

    def by_area(self, areas: Areas) -> gpd.GeoDataFrame:
        """Per-area population, covered and cross-covered, with shares (worked out
        once per areas object; each call gets its own copy)."""
        hit = self._by_area_memo.get(id(areas))
        if hit is None or hit[0] is not areas:
            hit = (areas, self._by_area(areas))
            self._by_area_memo[id(areas)] = hit
        return hit[1].copy()

    def _by_area(self, areas: Areas) -> gpd.GeoDataFrame:
        return counts_by_area(self.population, self.unit_count, self.settings, areas)


def first_area(points: NDArray[np.object_], areas: NDArray[np.object_]
               ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(point, area) for every point inside an area; a point on a shared border goes
    to the first area listed, so everyone is counted once."""
    if points.size and (shapely.get_type_id(points) == 0).all():
        # points: each area in turn tests the points in its box not yet placed
        # (prepared, vectorised), several times faster than a tree of areas
        xy = shapely.get_coordinates(points)
        owner = np.full(points.size, -1, dtype=np.int64)
        for j, area in enumerate(areas):
            if area is None or shapely.is_empty(area):
                continue
            x0, y0, x1, y1 = shapely.bounds(area)
            cand = np.flatnonzero((owner < 0) & (xy[:, 0] >= x0) & (xy[:, 0] <= x1)
                                  & (xy[:, 1] >= y0) & (xy[:, 1] <= y1))
            shapely.prepare(area)
            owner[cand[shapely.intersects_xy(area, xy[cand, 0], xy[cand, 1])]] = j
        placed = np.flatnonzero(owner >= 0)
        return placed, owner[placed]
    p_idx, a_idx = shapely.STRtree(areas).query(points, predicate="covered_by")
    order = np.lexsort((a_idx, p_idx))
    p_idx, a_idx = p_idx[order], a_idx[order]
    first = np.ones(p_idx.size, dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    return p_idx[first], a_idx[first]


@dataclass(frozen=True)
class BandSummary:
    """Who is within one time band: people (and units) covered by 1+ and 2+ stations."""

    minutes: float
    population: float
    covered: float
    cross_covered: float
    uncovered: float
    covered_share: float
    cross_share: float
    units: int
    units_uncovered: int


def band_summaries(
    pop: NDArray[np.float64], counts: NDArray[np.int64], settings: CoverageSettings
) -> list[BandSummary]:
    """One :class:`BandSummary` per band from the stations reaching each unit."""
    return [_band(pop, counts[j], b) for j, b in enumerate(settings.bands_min)]


def _band(pop: NDArray[np.float64], c: NDArray[np.int64], minutes: float) -> BandSummary:
    """Who of ``pop`` is reached by 1+ and 2+ stations (``c`` per unit) in one band."""
    total = float(pop.sum())
    covered = float(pop[c >= 1].sum())
    cross = float(pop[c >= CROSS_COVERAGE].sum())
    return BandSummary(
        minutes=minutes, population=total, covered=covered, cross_covered=cross,
        uncovered=total - covered,
        covered_share=covered / total if total else float("nan"),
        cross_share=cross / total if total else float("nan"),
        units=int(c.shape[0]), units_uncovered=int((c == 0).sum()))


def summarise_counts(
    pop: NDArray[np.float64], counts: NDArray[np.int64], settings: CoverageSettings
) -> pd.DataFrame:
    """The band summaries as a table (one row per band, the fields as columns)."""
    return pd.DataFrame([asdict(b) for b in band_summaries(pop, counts, settings)])


def counts_by_area(population: Population, counts: NDArray[np.int64],
                   settings: CoverageSettings, areas: Areas,
                   index: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
                   ) -> gpd.GeoDataFrame:
    """Per-area population, covered and cross-covered, with shares, at the limit, from
    the stations reaching each unit (``counts``, one row per band): each unit in the
    first area that holds it (``index``: that assignment, (unit, area), if known)."""
    if index is None:
        index = first_area(population.frame.geometry.to_numpy(),
                           areas.frame.geometry.to_numpy())
    u_idx, a_idx = index
    pop, last = population.count, counts[-1]  # the limit's band
    order = np.argsort(a_idx, kind="stable")
    bounds = np.searchsorted(a_idx[order], np.arange(len(areas.frame) + 1))
    rows = []
    for j in range(len(areas.frame)):
        sel = u_idx[order[bounds[j]:bounds[j + 1]]]
        rows.append(asdict(_band(pop[sel], last[sel], settings.bands_min[-1])))
    stats = pd.DataFrame(rows)
    out = areas.frame[["name", "geometry"]].copy()
    for col in stats.columns:
        if col != "minutes":
            out[col] = stats[col].to_numpy()
    return out


def compute_coverage(
    net: Network,
    stations: Stations,
    population: Population,
    *,
    settings: CoverageSettings | None = None,
    progress: bool = False,
) -> Coverage:
    """Walking coverage of ``population`` by ``stations`` on ``net``.

    One multi-source search bounded by the limit gives every node's and unit's
    nearest station and time; batched bounded per-station searches give how
    many stations reach each unit and node within each band.
    """
    settings = settings or CoverageSettings(mode=net.mode)
    if settings.mode != net.mode:
        raise SettingsError(f"the settings are for {settings.mode} but the network is the "
                            f"{net.mode} network: load it with mode={settings.mode!r}")
    if len(stations) == 0:
        raise InputError(stations.source or "stations", "there are no stations to cover from")
    graph = augmented_graph(net, stations.snapped, population.snapped)
    pairs = same_edge_pairs(stations.snapped, population.snapped, net)
    # one unbounded search serves both the bounded answer and the time to the
    # nearest station beyond the limit (gaps, the per-person table); it runs on the
    # second core (a forked child, where there can be one) beside the per-station ones
    searched = Forked(partial(nearest_sources, graph=graph, pairs=pairs), net,
                      stations.snapped, population.snapped)
    reach, node_count, nodes = reach_within(
        net, stations.snapped, population.snapped, limit_m=settings.limit_m,
        node_limits_m=settings.bands_m, graph=graph, pairs=pairs, progress=progress,
    )
    nearest_any = searched.result()
    nearest = within_limit(nearest_any, settings.limit_m)
    unit_count = np.stack([reach.count_within(b) for b in settings.bands_m])
    cov = Coverage(settings, net, stations, population, nearest, reach, node_count, unit_count,
                   nodes, notes={"counting_rule": population.rule})
    cov.__dict__["nearest_any"] = nearest_any  # the cached property, already known
    return cov


# ---------------------------------------------------------------------------
# admin areas


@dataclass(frozen=True, eq=False)
class Areas:
    """Admin areas (towns/subdistricts, 镇/街道) as named polygons in metres."""

    frame: gpd.GeoDataFrame
    source: str = ""

    def labels(self, lang: str = "zh") -> list[str]:
        """The areas' names in ``lang``: the English ones (a ``name_en`` column) for
        ``en`` where the file has them, else the names as given."""
        names = [str(n) for n in self.frame["name"]]
        if lang != "en" or "name_en" not in self.frame:
            return names
        return [str(e).strip() or n if isinstance(e, str) else n
                for e, n in zip(self.frame["name_en"], names, strict=True)]


