"""The planner map and the courier page, served as HTML."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from circle15.api.deps import StateDep
from circle15.usecases import courier_page_html, planner_page_html

router = APIRouter(prefix="/maps", tags=["maps"])
Lang = Annotated[Literal["zh", "en"], Query()]


@router.get("/planner", response_class=HTMLResponse, summary="The planner map")
def planner(state: StateDep, lang: Lang = "zh",
            basemap: Annotated[Literal["osm", "amap", "blank"], Query()] = "osm") -> str:
    cov = state.coverage()
    return state.page(("planner", lang, basemap), lambda: planner_page_html(
        cov, areas=state.areas, basemap=basemap, lang=lang))


@router.get("/courier", response_class=HTMLResponse, summary="The courier page")
def courier(state: StateDep, lang: Lang = "zh",
            basemap: Annotated[Literal["osm", "blank"], Query()] = "osm") -> str:
    cov = state.coverage()
    # served here, the page asks /nearest on this origin and carries no network
    return state.page(("courier", lang, basemap), lambda: courier_page_html(
        state.network, cov, lang=lang, basemap=basemap, api=""))
