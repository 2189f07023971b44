"""The FastAPI application: ``create_app(settings)``; ``circle15 serve`` runs it."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp

from circle15.api.deps import ViewerDep
from circle15.api.docs import install_docs
from circle15.api.errors import install_handlers
from circle15.api.guards.middleware import (
    MAX_JSON_BYTES,
    BodyLimitMiddleware,
    QuickGetMiddleware,
    SecurityHeadersMiddleware,
    page_policy,
    tile_hosts,
)
from circle15.api.routers import (
    courier,
    hours,
    maps,
    planner,
    scenario_report,
    scenarios,
    stations,
)
from circle15.api.settings import Settings, get_settings
from circle15.api.state import AppState, load_state
from circle15.geo.errors import Circle15Error
from circle15.maps.planner import TILES

DESCRIPTION = """
15-minute walking coverage of outdoor-worker stations (户外劳动者暖心驿站) on the
real street network. Reading is open; every write needs the planner token
(`Authorization: Bearer …`). Coordinates are WGS84 unless a `crs` parameter says
`gcj02` (Amap/Tencent) or `bd09` (Baidu).

A JSON body may be up to {json_limit:,} bytes and a file upload up to {upload_limit:,}
(`CIRCLE15_MAX_UPLOAD_BYTES`); a larger body is refused with 413 before it is read.
Every error answers with the same body: `detail`, and where they apply `problems`,
`source` and `ids`.
"""


class _Service(FastAPI):
    """FastAPI with the security headers outside everything, so that even the bare
    answer to an unhandled error carries them."""

    page_csp = ""
    public_read = True

    def build_middleware_stack(self) -> ASGIApp:
        # /nearest's everyday question is answered before routing (it is asked most, and
        # the framework's per-request work would cost as much as the search)
        # (only while reads are public: the quick path asks no token)
        quick = QuickGetMiddleware(super().build_middleware_stack(), routes={
            "/nearest": lambda query: courier.quick_nearest(
                getattr(self.state, "circle15", None), query)} if self.public_read else {})
        return SecurityHeadersMiddleware(quick, page_csp=self.page_csp)


def setting_name(field: str) -> str:
    """A field the core names, as the service's operator sets it."""
    return f"CIRCLE15_{field.upper()}"


def stop_serving(exc: Circle15Error) -> None:
    """Under ``circle15 serve``, a start-up failure is one line naming the setting and the
    problem (the traceback with ``circle15 -v serve``), and the process ends; elsewhere
    (tests, an embedding application) the error is raised as usual."""
    if os.environ.get("CIRCLE15_SERVE") != "1" or os.environ.get("CIRCLE15_TRACEBACK") == "1":
        return
    print(f"circle15 serve: {exc.worded(setting_name)}", file=sys.stderr, flush=True)
    logging.shutdown()
    os._exit(3)


def create_app(settings: Settings | None = None, *, state: AppState | None = None) -> FastAPI:
    """The service; heavy state loads once, at start-up (or is handed in)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "circle15", None) is None:
            try:
                app.state.circle15 = load_state(settings)
            except Circle15Error as exc:
                stop_serving(exc)
                raise
        st = app.state.circle15
        # the maps take long to draw at district scale: drawn now, served when asked
        if isinstance(st, AppState):  # (a bare state for the docs has no area to draw)
            st.draw_pages()
        yield
        if isinstance(st, AppState):
            st.pages.close()
        if state is None:
            app.state.circle15.store.close()

    limit = settings.max_upload_bytes
    app = _Service(title="circle15", version="0.1.0", lifespan=lifespan,
                   description=DESCRIPTION.format(json_limit=min(MAX_JSON_BYTES, limit),
                                                  upload_limit=limit),
                   docs_url=None, redoc_url=None)
    # served pages may show tiles from the basemaps' hosts, and nothing else from outside
    app.public_read = settings.public_read
    app.page_csp = page_policy(img_hosts=tile_hosts(
        [(url, subdomains) for url, _, subdomains in TILES.values()]))
    app.state.circle15 = state  # handed in (tests, benchmarks): no start-up load
    install_handlers(app)
    install_docs(app)
    # the body limit first (innermost): its 413 still gets CORS and security headers
    app.add_middleware(BodyLimitMiddleware, max_upload_bytes=limit)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["*"], allow_headers=["*"])

    @app.get("/health", tags=["service"], summary="Is the service up, and on what area?")
    def health(request: Request) -> dict[str, object]:
        st: AppState = request.app.state.circle15
        storage = st.store.health()
        stored = st.store.count()
        # every stored station refused (another area's, or broken): nothing is served
        all_skipped = stored > 0 and len(st.skipped) >= stored
        ok = storage == "ok" and not all_skipped
        return {"status": "ok" if ok else "degraded", "storage": storage,
                "network": st.network.summary(), "stations": stored,
                "population_units": len(st.population), "stations_skipped": st.skipped,
                "pages": st.pages.status()}

    # with CIRCLE15_PUBLIC_READ=false every read needs a viewer's token or above
    reads = [] if settings.public_read else [ViewerDep]
    for r in (stations.router, planner.router, hours.router, courier.router, maps.router):
        app.include_router(r, dependencies=reads)
    app.include_router(scenarios.router)
    app.include_router(scenario_report.router)

    @app.get("/plan", include_in_schema=False)
    def plan_page(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse("/maps/plan" + (f"?{query}" if query else ""))
    return app
