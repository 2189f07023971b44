"""Map pages: the planner map and the courier page, rendered to one HTML file each."""

from __future__ import annotations

from typing import Literal

from circle15.geo.coverage import Areas, Coverage
from circle15.geo.network import Network
from circle15.geo.siting import SitingResult

#: gap hexagons on the maps are finer than the table default (150 m, centre to corner)
MAP_GAP_HEX_M = 150.0


def planner_page_html(cov: Coverage, *, areas: Areas | None = None,
                      sites: SitingResult | None = None,
                      basemap: Literal["osm", "amap", "blank"] = "osm", lang: str = "zh",
                      data_date: str | None = None) -> str:
    """The planner map of a coverage, as one offline HTML page."""
    from circle15.geo.gaps import find_gaps
    from circle15.maps.planner import planner_map

    m = planner_map(cov, areas=areas, gaps=find_gaps(cov, hex_m=MAP_GAP_HEX_M), sites=sites,
                    basemap=basemap, lang=lang, data_date=data_date)
    html: str = m.get_root().render()
    return html


def courier_page_html(net: Network, cov: Coverage, *, lang: str = "zh",
                      basemap: Literal["osm", "amap", "blank"] = "osm", api: str | None = None,
                      timezone: str | None = None) -> str:
    """The courier page: with ``api`` it asks that service's /nearest and carries no
    network; without, it carries the network and answers offline."""
    from circle15.maps.courier import courier_page

    return courier_page(net, cov.stations, lang=lang, speed_kmh=cov.settings.speed_kmh,
                        basemap="blank" if basemap == "blank" else "osm", api=api,
                        timezone=timezone)
