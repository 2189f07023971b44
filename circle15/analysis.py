"""circle15 for analysts: the use cases as a small Python API for notebooks.

The third front end beside the command line and the service, over the same
use cases, so a notebook gets the numbers ``circle15 coverage`` prints::

    import circle15

    area = circle15.Area.load("shunyi.osm.pbf", population="people.tif",
                              areas="towns.geojson")
    stations = area.stations("stations.csv")
    cov = area.coverage(stations, at="Tu 02:00")
    cov.summary                     # people within 5, 10, 15 min of 1 / 2+ stations
    cov.to_geodataframe()           # towns with covered and cross-covered shares
    cov.explore()                   # a folium map, as GeoDataFrame.explore() gives
    area.gaps(stations).explore()
    area.site(stations, k=10).to_geodataframe()
    area.nearest(stations, 116.65, 40.13).stations[0].walk_min

Units: minutes (``minutes``, ``walk_min``), metres (``distance_m``, ``hex_m``),
km/h (``speed_kmh``), people (``population``, ``covered``); coordinates are
WGS84 lon/lat unless a ``crs`` says otherwise. Every result is immutable and
has ``.to_geodataframe()`` (WGS84) and ``.explore()`` (a ``folium.Map``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from circle15.geo import vocab

if TYPE_CHECKING:
    import folium
    import geopandas as gpd
    import pandas as pd

    from circle15.geo.courier.nearest import NearestAnswer
    from circle15.geo.coverage.count import Coverage
    from circle15.geo.inputs.stations import Stations
    from circle15.geo.siting import SitingResult
    from circle15.usecases import SitingOutcome
    from circle15.usecases.area import Area as LoadedArea
    from circle15.usecases.demand import Demand

__all__ = ["Area", "CoverageResult", "GapsResult", "SitesResult"]


def _wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(4326) if gdf.crs is not None else gdf


def _base_map(*frames: gpd.GeoDataFrame) -> folium.Map:
    import folium

    bounds = [f.total_bounds for f in frames if len(f)]
    west = min(b[0] for b in bounds)
    south = min(b[1] for b in bounds)
    east = max(b[2] for b in bounds)
    north = max(b[3] for b in bounds)
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles="OpenStreetMap",
                   control_scale=True)
    m.fit_bounds([[south, west], [north, east]])
    return m


def _add_stations(m: folium.Map, stations: gpd.GeoDataFrame, name: str) -> None:
    import folium
    from folium.plugins import MarkerCluster

    cluster = MarkerCluster(name=name).add_to(m)
    for row in stations.itertuples():
        folium.Marker([row.geometry.y, row.geometry.x],
                      tooltip=f"{row.id} {row.name}").add_to(cluster)


def _add_towns(m: folium.Map, towns: gpd.GeoDataFrame) -> None:
    import folium
    from branca.colormap import LinearColormap

    scale = LinearColormap(["#d73027", "#fee08b", "#1a9850"], vmin=0.0, vmax=1.0,
                           caption="covered share (within the limit)")

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        share = feature["properties"].get("covered_share")
        return {"fillColor": "#cccccc" if share is None else scale(share),
                "color": "#555555", "weight": 1, "fillOpacity": 0.55}

    folium.GeoJson(towns, name="coverage by area", style_function=style,
                   tooltip=folium.GeoJsonTooltip(["name", "population", "covered_share",
                                                  "cross_share"])).add_to(m)
    scale.add_to(m)


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Who is within the limit of one station, of two (cross coverage), of none.

    ``summary``: one row per band (minutes) with ``population``, ``covered``,
    ``cross_covered``, ``uncovered`` and shares. ``by_area``: the same per admin
    area at the limit (None without areas). ``notes``: the counting rule, the
    demand layer and, for a moment, how many stations were open.
    """

    coverage: Coverage
    by_area: gpd.GeoDataFrame | None
    layer: str

    @property
    def summary(self) -> pd.DataFrame:
        return self.coverage.summary()

    @property
    def notes(self) -> dict[str, str]:
        return dict(self.coverage.notes)

    @property
    def stations(self) -> gpd.GeoDataFrame:
        """The stations counted (open at the moment asked, if any), WGS84."""
        return _wgs84(self.coverage.stations.frame)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The admin areas with their coverage (WGS84), or the population units with
        their walk and station counts when there are no areas."""
        if self.by_area is not None:
            return _wgs84(self.by_area)
        return _wgs84(self.coverage.units_frame())

    def explore(self, **_: Any) -> folium.Map:
        """A folium map: areas shaded by covered share, the stations clustered."""
        import folium

        stations = self.stations
        if self.by_area is not None:
            towns = self.to_geodataframe()
            m = _base_map(towns, stations)
            _add_towns(m, towns)
        else:
            m = _base_map(stations)
        _add_stations(m, stations, "stations")
        folium.LayerControl().add_to(m)
        return m


@dataclass(frozen=True, eq=False)
class GapsResult:
    """Gap areas, largest first: hexagons (or merged clusters) of people reached by no
    station (``level="covered"``) or by fewer than two (``"cross"``)."""

    gaps: gpd.GeoDataFrame
    coverage: CoverageResult

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        return _wgs84(self.gaps)

    def explore(self, **_: Any) -> folium.Map:
        """The coverage map with the gaps drawn over it (darker = more people)."""
        import folium

        m = self.coverage.explore()
        gaps = self.to_geodataframe()
        if len(gaps):
            top = float(gaps["population"].max()) or 1.0
            folium.GeoJson(
                gaps, name="gaps",
                style_function=lambda f: {"color": "#7b3294", "weight": 0.5,
                                          "fillColor": "#7b3294",
                                          "fillOpacity": 0.2 + 0.6 * f["properties"]
                                          ["population"] / top},
                tooltip=folium.GeoJsonTooltip(["rank", "population", "nearest_walk_min"]),
            ).add_to(m)
        return m


@dataclass(frozen=True, eq=False)
class SitesResult:
    """Proposed new sites in rank order, with what each adds (``marginal_gain``,
    people) and the solver's proof (``gap``: 0 is proven optimal; None for greedy)."""

    outcome: SitingOutcome
    coverage: CoverageResult

    @property
    def best(self) -> SitingResult:
        return self.outcome.best

    @property
    def summary(self) -> dict[str, object]:
        return self.best.summary()

    @property
    def curve(self) -> pd.DataFrame:
        """What 1..K new sites would add (the k-curve)."""
        return self.outcome.curve

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        return _wgs84(self.best.sites_frame())

    def explore(self, **_: Any) -> folium.Map:
        """The coverage map with the proposed sites numbered by rank."""
        import folium

        m = self.coverage.explore()
        for row in self.to_geodataframe().itertuples():
            folium.Marker(
                [row.geometry.y, row.geometry.x],
                tooltip=f"#{row.rank} {row.name}: +{row.marginal_gain:,.0f}",
                icon=folium.DivIcon(html=f'<div class="c15-site">{row.rank}</div>'),
            ).add_to(m)
        return m


@dataclass(frozen=True, eq=False)
class Area:
    """An area loaded once (street network, people, admin areas), ready for questions.

    Build it with :meth:`load`; every question takes the stations it is about,
    so one loaded area answers for many station lists.
    """

    loaded: LoadedArea
    demand: Demand

    @classmethod
    def load(cls, network: str | Path | None = None, *, population: str | Path | None = None,
             areas: str | Path | None = None, workers: str | Path | None = None,
             minutes: float = vocab.MINUTES, mode: str = vocab.Mode.WALK,
             speed_kmh: float | None = None, **options: Any) -> Area:
        """Read and check an area, as ``circle15 coverage`` does.

        ``network``: an OSM file (.osm.pbf, .osm), an osmnx GraphML file or a place
        name (None: the offline demo extract). ``population``: a table of points or
        cells with counts, or a GeoTIFF (None: census polygons with ``census=``, or
        the OSM buildings sharing ``buildings_total=``). ``areas``: admin polygons
        with a name. ``workers``: a table of outdoor-worker counts (None: estimated
        from the OSM places when a question asks for workers). ``minutes``: the
        service limit; ``mode``: walk, ebike or bike. Any other field of
        :class:`circle15.usecases.AreaSpec` may be given by name (``census``,
        ``drop_far_population``, ``snap_slack_m``...); ``workers_total`` and
        ``mix`` go to the demand layers.
        """
        from circle15.usecases import AreaSpec, load_area
        from circle15.usecases.demand import DemandSpec, load_demand

        demand_keys = {f.name for f in dataclasses.fields(DemandSpec)} - {"workers"}
        demand_opts = {k: options.pop(k) for k in list(options) if k in demand_keys}
        spec = AreaSpec(network=None if network is None else str(network),
                        population=None if population is None else str(population),
                        areas=None if areas is None else str(areas), minutes=minutes,
                        mode=str(mode), speed_kmh=speed_kmh, **options)
        loaded = load_area(spec)
        demand = load_demand(loaded, DemandSpec(
            workers=None if workers is None else str(workers), **demand_opts))
        return cls(loaded, demand)

    def _layers(self, name: str | None) -> Demand:
        if name is None or name in self.demand.layers:
            return self.demand
        from circle15.usecases.demand import DemandSpec, load_demand

        spec = DemandSpec(demand=name, workers=None)
        return load_demand(self.loaded, spec)

    def stations(self, path: str | Path, *, crs: str = vocab.CoordSystem.WGS84) -> Stations:
        """A station file (CSV, XLSX, GeoJSON) checked and placed on the streets."""
        from circle15.usecases.area import read_station_file

        return read_station_file(self.loaded, path, crs=str(crs))

    def coverage(self, stations: Stations, *, demand: str | None = None,
                 at: str | None = None, unknown_hours: str = vocab.UnknownHours.OPEN,
                 include_planned: bool = False) -> CoverageResult:
        """Coverage of ``demand`` (residents, workers, mix; default residents) by the
        stations open ``at`` (``'Tu 02:00'``; None: all of them)."""
        from circle15.usecases.questions import CoverageQuestion, coverage_for

        q = CoverageQuestion(demand=demand, at=at, unknown_hours=str(unknown_hours),
                             include_planned=include_planned)
        answer = coverage_for(self.loaded, stations, self._layers(demand), q)
        areas = self.loaded.areas
        table = answer.coverage.by_area(areas) if areas is not None else None
        return CoverageResult(answer.coverage, table, answer.layer)

    def gaps(self, stations: Stations, *, level: str = vocab.GapLevel.COVERED,
             hex_m: float = vocab.GAP_HEX_M, merge: bool = False,
             **question: Any) -> GapsResult:
        """Where the people are whom no station (or fewer than two) serves, in
        hexagons of ``hex_m`` metres (centre to corner), largest first."""
        from circle15.geo.coverage.gaps import find_gaps

        cov = self.coverage(stations, **question)
        gaps = find_gaps(cov.coverage, level=str(level), hex_m=hex_m,
                         merge=merge, areas=self.loaded.areas)
        return GapsResult(gaps, cov)

    def site(self, stations: Stations, *, k: int = vocab.SITES_K,
             objective: str = vocab.Objective.COVERAGE,
             candidates: Sequence[str] = ("shops",), method: str = vocab.Method.BOTH,
             time_limit_s: float = vocab.SITING_TIME_LIMIT_S, target: float = 0.9,
             node_spacing_m: float = vocab.NODE_SPACING_M, **question: Any) -> SitesResult:
        """``k`` new sites for ``objective`` (coverage, cross, target) among the
        ``candidates`` (shops of the OSM file, thinned network nodes, or files)."""
        from circle15.usecases import CandidateSpec, SitingSpec, build_candidates, site

        cov = self.coverage(stations, **question)
        cands, dropped = build_candidates(self.loaded, CandidateSpec(
            sources=tuple(candidates), node_spacing_m=node_spacing_m))
        outcome = site(cov.coverage, cands, SitingSpec(
            k=k, objective=str(objective), target=target,  # type: ignore[arg-type]
            method=str(method), time_limit_s=time_limit_s),  # type: ignore[arg-type]
            dropped_duplicates=dropped)
        return SitesResult(outcome, cov)

    def nearest(self, stations: Stations, lon: float, lat: float, *, k: int = 3,
                crs: str = vocab.CoordSystem.WGS84, amenity: str | None = None,
                open_now: bool = False) -> NearestAnswer:
        """The courier's question: the ``k`` stations nearest by travel time from
        (lon, lat), with the route to each (as ``GET /nearest`` answers it)."""
        from circle15.geo.courier.nearest import NearestIndex

        cov = self.coverage(stations).coverage
        index = NearestIndex.build(cov, max_snap_m=vocab.NEAREST_RADIUS_M,
                                   rule=self.loaded.spec.snap_rule())
        return index.answer(lon, lat, k=k, crs=str(crs), amenity=amenity, open_now=open_now)
