"""The planner map and the courier page, served as HTML.

Both are drawn in the background (:mod:`circle15.api.pages`): a request gets
the page for the current stations when it is ready within the settings'
``page_wait_s``, else the last drawn one with a notice (and ``X-Page-*``
headers) saying how old it is, else a small page that reloads itself (503).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from circle15.api.deps import StateDep
from circle15.api.pages import Key, page_headers, waiting_page, with_notice
from circle15.api.state import AppState
from circle15.geo.errors import InputError, NotFoundError

router = APIRouter(prefix="/maps", tags=["maps"])
Lang = Annotated[Literal["zh", "en"], Query()]
PAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    503: {"description": "no page drawn yet: a page that reloads itself", "content": {
        "text/html": {}}}}


async def _page(state: AppState, key: Key, lang: str) -> HTMLResponse:
    # waiting for a drawing under way blocks a thread, not the event loop
    served = await run_in_threadpool(lambda: state.pages.get(key, state.revision()))
    headers = page_headers(served)
    if served.page is None:
        failure = served.failure
        if failure is not None and isinstance(failure.error, InputError):
            raise failure.error  # e.g. no stations yet: said as for any other read
        return HTMLResponse(waiting_page(served, lang), status_code=503,
                            headers={**headers, "Retry-After": "5"})
    return HTMLResponse(with_notice(served, lang), headers=headers)


@router.get("/planner", response_class=HTMLResponse, summary="The planner map",
            responses=PAGE_RESPONSES)
async def planner(state: StateDep, lang: Lang = "zh",
                  basemap: Annotated[Literal["osm", "amap", "blank"], Query()] = "osm",
                  ) -> HTMLResponse:
    return await _page(state, ("planner", lang, basemap), lang)


@router.get("/courier", response_class=HTMLResponse, summary="The courier page",
            responses=PAGE_RESPONSES)
async def courier(state: StateDep, lang: Lang = "zh",
                  basemap: Annotated[Literal["osm", "blank"], Query()] = "osm") -> HTMLResponse:
    return await _page(state, ("courier", lang, basemap), lang)


@router.get("/plan", response_class=HTMLResponse, summary="The planner's workbench page")
async def plan(lang: Lang = "zh",
               basemap: Annotated[Literal["osm", "blank"], Query()] = "osm"
               ) -> HTMLResponse:
    """Scenarios on the map: every number it shows is an answer of /scenarios. (The
    workbench draws WGS84 positions, so it has no Amap basemap, whose tiles are GCJ-02.)"""
    from circle15.maps.plan import plan_page

    return HTMLResponse(plan_page(lang=lang, basemap=basemap))


@router.get("/streets.json", summary="The network file's own streets, water and place "
            "names, for the workbench page offline (WGS84, encoded polylines)")
def streets_layer(state: StateDep) -> Response:
    body = _streets(state.network.source or "")
    if body is None:
        raise NotFoundError("the network was not read from a file: no street layer")
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": "max-age=3600"})


@functools.lru_cache(maxsize=2)
def _streets(source: str) -> bytes | None:
    from circle15.maps.basemap import load_basemap
    from circle15.maps.planner_data import streets

    path = Path(source)
    if not source or not path.is_file():
        return None
    return json.dumps(streets(load_basemap(path), lambda xy: xy),
                      ensure_ascii=False).encode()
