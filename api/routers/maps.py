"""The planner map and the courier page, served as HTML."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from circle15.api.deps import StateDep
from circle15.geo.gaps import find_gaps
from circle15.maps.courier import courier_page
from circle15.maps.planner import planner_map

router = APIRouter(prefix="/maps", tags=["maps"])
Lang = Annotated[Literal["zh", "en"], Query()]


@router.get("/planner", response_class=HTMLResponse, summary="The planner map")
def planner(state: StateDep, lang: Lang = "zh",
            basemap: Annotated[Literal["osm", "amap", "blank"], Query()] = "osm") -> str:
    cov = state.coverage()

    def build() -> str:
        m = planner_map(cov, areas=state.areas, gaps=find_gaps(cov, hex_m=150), basemap=basemap,
                        lang=lang)
        html: str = m.get_root().render()
        return html

    return state.page(("planner", lang, basemap), build)


@router.get("/courier", response_class=HTMLResponse, summary="The courier page")
def courier(state: StateDep, lang: Lang = "zh",
            basemap: Annotated[Literal["osm", "blank"], Query()] = "osm") -> str:
    cov = state.coverage()
    # served here, the page asks /nearest on this origin and carries no network
    return state.page(("courier", lang, basemap), lambda: courier_page(
        state.network, cov.stations, lang=lang, speed_kmh=cov.settings.speed_kmh,
        basemap=basemap, api=""))
