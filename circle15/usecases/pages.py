"""Map pages: the planner map and the courier page, rendered to one HTML file each."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from circle15.geo.coverage.count import Areas, Coverage
from circle15.geo.forked import Forked
from circle15.geo.network.graph import Network
from circle15.geo.siting import SitingResult
from circle15.geo.vocab import NIGHT_AT

if TYPE_CHECKING:
    import geopandas as gpd

    from circle15.maps.planner import Overlay

#: the moment of the planner map's night layers unless told (a Tuesday, 02:00)
UnknownHours = Literal["open", "closed"]


def night_overlays(cov: Coverage, *, at: str = NIGHT_AT, unknown: UnknownHours = "open",
                   lang: str = "zh") -> list[Overlay]:
    """The planner map's night layers at ``at``: where people lose their last
    station then (hexagons with the people who do), and the stations closed then.
    Off by default; the names say the moment and how unknown hours were counted."""
    from circle15.maps.night import night_overlay
    from circle15.maps.planner import Overlay

    night = night_overlay(cov, at=at, unknown=unknown, min_lost=1.0)
    when = night["properties"]["when"][:16].replace("T", " ")
    cells = [f for f in night["features"]
             if f["properties"]["kind"] == "cell" and f["properties"]["lost"] >= 1]
    closed = [f for f in night["features"]
              if f["properties"]["kind"] == "station" and not f["properties"]["open"]]
    zh = lang == "zh"
    rule = ("未知营业时间按营业计" if unknown == "open" else "未知营业时间按关闭计") if zh else \
        f"unknown hours counted {unknown}"
    return [
        Overlay(name=(f"夜间无驿站的人（{when}，{rule}）" if zh else
                      f"People without a station at night ({when}, {rule})"),
                geojson={"type": "FeatureCollection", "features": cells},
                style={"color": "#542788", "weight": 0.5, "fillColor": "#8073ac",
                       "fillOpacity": 0.45},
                fields=("population", "covered", "covered_any", "lost")),
        Overlay(name=(f"夜间关闭的驿站（{when}）" if zh else f"Stations closed at {when}"),
                geojson={"type": "FeatureCollection", "features": closed},
                style={"color": "#2d004b", "fillColor": "#ffffff", "radius": 4,
                       "weight": 2, "fillOpacity": 1.0},
                fields=("id", "name", "state")),
    ]


def planner_page_html(cov: Coverage, *, areas: Areas | None = None,
                      sites: SitingResult | None = None,
                      basemap: Literal["osm", "amap", "blank"] = "osm", lang: str = "zh",
                      data_date: str | None = None, night_at: str | None = NIGHT_AT,
                      unknown_hours: UnknownHours = "open", **extra: Any) -> str:
    """The planner map of a coverage, as one offline HTML page, with the streets,
    water and place names of the network's OSM file (cached) when it is a file,
    and the night layers at ``night_at`` (None: none).
    ``extra`` goes to :func:`circle15.maps.planner.planner_page` (``station_fields``,
    ``overlays``, ``iso``, ``gaps``)."""
    from circle15.geo.coverage.gaps import find_gaps
    from circle15.maps.basemap import load_basemap
    from circle15.maps.planner import MAP_GAP_HEX_M, planner_page

    # the isochrones take a core of their own (see start_isochrones) while this
    # process reads the basemap and works out the gaps and the night layers
    iso = extra.pop("iso", None)
    if iso is None:
        iso = start_isochrones(cov)
    # the night layers (one more search) in a child of their own meanwhile
    night = (Forked(functools.partial(night_overlays, at=night_at, unknown=unknown_hours,
                                      lang=lang), cov) if night_at is not None else None)
    source = Path(cov.network.source)
    streets = load_basemap(source) if cov.network.source and source.is_file() else None
    overlays = list(extra.pop("overlays", ()))
    if extra.get("gaps") is None:
        extra["gaps"] = find_gaps(cov, hex_m=MAP_GAP_HEX_M)
    if isinstance(iso, PendingIsochrones):
        iso = iso.result()
    if night is not None:
        overlays += night.result()
    return planner_page(cov, areas=areas, sites=sites, streets=streets, basemap=basemap,
                        lang=lang, data_date=data_date, overlays=overlays, iso=iso, **extra)


class PendingIsochrones:
    """The planner map's isochrones (:func:`circle15.geo.coverage.isochrones.isochrones`
    with its defaults) on both cores: each station's in a forked child, started
    now; the union bands here, when :meth:`result` is asked for, so that this
    process can do other work first."""

    def __init__(self, cov: Coverage) -> None:
        from circle15.geo.coverage.isochrones import isochrones

        self.cov = cov
        self.per_station = Forked(functools.partial(isochrones, union=False), cov)

    def result(self) -> gpd.GeoDataFrame:
        import pandas as pd

        from circle15.geo.coverage.isochrones import isochrones

        union = isochrones(self.cov, per_station=False)
        stations = self.per_station.result()
        return pd.concat([stations, union], ignore_index=True)


def start_isochrones(cov: Coverage) -> PendingIsochrones:
    """Start the planner map's isochrones (see :class:`PendingIsochrones`); pass
    the result as ``iso`` to :func:`planner_page_html`, doing other work meanwhile."""
    return PendingIsochrones(cov)


def courier_page_html(net: Network, cov: Coverage, *, lang: str = "zh",
                      basemap: Literal["osm", "amap", "blank"] = "osm", api: str | None = None,
                      timezone: str | None = None) -> str:
    """The courier page: with ``api`` it asks that service's /nearest; without, it
    carries a lookup grid of the answers and works offline. Both list the stations
    within the coverage's limit, or say none is and list the nearest up to twice it."""
    from circle15.geo.courier.navigation import travel_of
    from circle15.maps.courier import courier_page

    # the coverage's own network: the travel mode's (its lookup grid follows its rules)
    return courier_page(cov.network, cov.stations, lang=lang,
                        speed_kmh=cov.settings.speed_kmh, limit_min=cov.settings.minutes,
                        basemap="blank" if basemap == "blank" else "osm", api=api,
                        timezone=timezone, travel=travel_of(cov.settings.mode))
