"""The FastAPI application: ``create_app(settings)``; ``circle15 serve`` runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from circle15.api.errors import install_handlers
from circle15.api.routers import courier, maps, planner, stations
from circle15.api.settings import Settings, get_settings
from circle15.api.state import AppState, load_state

DESCRIPTION = """
15-minute walking coverage of outdoor-worker stations (户外劳动者暖心驿站) on the
real street network. Reading is open; every write needs the planner token
(`Authorization: Bearer …`). Coordinates are WGS84 unless a `crs` parameter says
`gcj02` (Amap/Tencent) or `bd09` (Baidu).
"""


def create_app(settings: Settings | None = None, *, state: AppState | None = None) -> FastAPI:
    """The service; heavy state loads once, at start-up (or is handed in)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "circle15", None) is None:
            app.state.circle15 = load_state(settings)
        yield
        if state is None:
            app.state.circle15.store.close()

    app = FastAPI(title="circle15", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.circle15 = state  # handed in (tests, benchmarks): no start-up load
    install_handlers(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["*"], allow_headers=["*"])
    limit = settings.max_upload_bytes

    @app.middleware("http")
    async def body_limit(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return JSONResponse({"detail": f"the request body is over the {limit:,} byte "
                                           "limit"}, status_code=413)
        return await call_next(request)

    @app.get("/health", tags=["service"], summary="Is the service up, and on what area?")
    def health(request: Request) -> dict[str, object]:
        st: AppState = request.app.state.circle15
        return {"status": "ok", "network": st.network.summary(),
                "stations": st.store.count(), "population_units": len(st.population)}

    for r in (stations.router, planner.router, courier.router, maps.router):
        app.include_router(r)
    return app
