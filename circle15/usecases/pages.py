"""Map pages: the planner map and the courier page, rendered to one HTML file each."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from circle15.geo.coverage import Areas, Coverage
from circle15.geo.network import Network
from circle15.geo.siting import SitingResult


def planner_page_html(cov: Coverage, *, areas: Areas | None = None,
                      sites: SitingResult | None = None,
                      basemap: Literal["osm", "amap", "blank"] = "osm", lang: str = "zh",
                      data_date: str | None = None, **extra: Any) -> str:
    """The planner map of a coverage, as one offline HTML page, with the streets,
    water and place names of the network's OSM file (cached) when it is a file.
    ``extra`` goes to :func:`circle15.maps.planner.planner_page` (``station_fields``,
    ``overlays``, ``iso``, ``gaps``)."""
    from circle15.geo.basemap import load_basemap
    from circle15.maps.planner import planner_page

    source = Path(cov.network.source)
    streets = load_basemap(source) if cov.network.source and source.is_file() else None
    return planner_page(cov, areas=areas, sites=sites, streets=streets, basemap=basemap,
                        lang=lang, data_date=data_date, **extra)


def courier_page_html(net: Network, cov: Coverage, *, lang: str = "zh",
                      basemap: Literal["osm", "amap", "blank"] = "osm", api: str | None = None,
                      timezone: str | None = None) -> str:
    """The courier page: with ``api`` it asks that service's /nearest; without, it
    carries a lookup grid of the answers and works offline. Both list the stations
    within the coverage's limit, or say none is and list the nearest up to twice it."""
    from circle15.geo.navigation import travel_of
    from circle15.maps.courier import courier_page

    # the coverage's own network: the travel mode's (its lookup grid follows its rules)
    return courier_page(cov.network, cov.stations, lang=lang,
                        speed_kmh=cov.settings.speed_kmh, limit_min=cov.settings.minutes,
                        basemap="blank" if basemap == "blank" else "osm", api=api,
                        timezone=timezone, travel=travel_of(cov.settings.mode))
