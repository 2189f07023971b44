"""The API's documentation: an OpenAPI document true to every answer, and its pages.

``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) load their scripts from this
service, not from a CDN, so they work offline: ``swagger-ui-dist`` and ``redoc``
come from the npm registry into ``maps/node_modules`` with Leaflet (``make
install``) and ship in the wheel as package data.

The OpenAPI document lists, for each operation, the error statuses it can
answer, all with the one error body (:class:`~circle15.api.errors.ErrorBody`),
and the CSV an operation gives with ``format=csv``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

import circle15.maps
from circle15.api.errors import ErrorBody
from circle15.api.guards.middleware import page_policy
from circle15.geo.errors import MissingAssetsError, NotFoundError

NODE_MODULES = Path(circle15.maps.__file__).resolve().parent / "node_modules"
_JS = "text/javascript; charset=utf-8"
#: the files the doc pages load, by the name they are served under
ASSETS: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui-dist/swagger-ui-bundle.js", _JS),
    "swagger-ui.css": ("swagger-ui-dist/swagger-ui.css", "text/css; charset=utf-8"),
    "favicon.png": ("swagger-ui-dist/favicon-32x32.png", "image/png"),
    "redoc.standalone.js": ("redoc/bundles/redoc.standalone.js", _JS),
}
ASSET_PREFIX = "/docs/assets/"

#: what each error status means, as the OpenAPI document says it
ERROR_STATUSES: dict[int, str] = {
    400: "The body cannot be read at all (not UTF-8, a broken multipart upload)",
    401: "No valid planner token: `Authorization: Bearer <CIRCLE15_PLANNER_TOKEN>`",
    404: "No such station (or no such resource configured)",
    409: "Station ids that already exist, listed in `ids`",
    413: "The body is over the size limit; it was not read",
    422: "Bad input: every problem, naming the field, or the row and column of a file",
    403: "The token's role does not allow this (viewer < planner < admin)",
    412: "The scenario has moved on since the version named in `If-Match`: reload it",
    429: "Busy (the pool for expensive requests is full) or too many from this client: "
         "try again after `Retry-After` seconds",
    503: "The station store or the map assets are unavailable",
}
#: statuses an operation answers beyond those its signature implies (a path id: 404;
#: a body: 400, 413, 422; any parameter: 422; the planner token: 401; storage: 503)
EXTRA_STATUSES: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/stations"): (409,),
    ("post", "/stations/import"): (409,),
    ("get", "/coverage/areas"): (404,),
    ("get", "/isochrones"): (404, 429),
    # the bounded pool for expensive requests, and siting's per-client rate
    ("post", "/siting"): (429,),
    ("post", "/whatif"): (429,),
    ("post", "/scenarios/{sid}/suggest"): (429,),
}
#: operations under these tags work on coverage, which needs stations: 422 until some exist
COVERAGE_TAGS = {"planner", "courier", "maps"}


def asset_path(name: str) -> Path:
    """The installed file behind a docs asset (MissingAssetsError when not installed)."""
    if name not in ASSETS:
        raise NotFoundError(f"no docs asset named {name!r}")
    path = NODE_MODULES / ASSETS[name][0]
    if not path.is_file():
        msg = (f"{path} is missing: install the docs assets with `make install` "
               "(or `npm ci` in the maps/ folder)")
        raise MissingAssetsError(msg)
    return path


def _inline_script_hashes(html: str) -> str:
    """CSP sources allowing exactly the page's inline scripts (and no other inline script)."""
    sources = []
    for body in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        sources.append(f"'sha256-{digest}'")
    return " ".join(sources)


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    page.headers["Content-Security-Policy"] = page_policy(
        img_hosts=[], script_src=_inline_script_hashes(html))
    return page


def install_docs(app: FastAPI) -> None:
    """``/docs``, ``/redoc`` and their assets, all from this service."""
    title = app.title

    def urls(request: Request) -> tuple[str, str]:
        root = request.scope.get("root_path", "").rstrip("/")
        return root + (app.openapi_url or "/openapi.json"), root + ASSET_PREFIX

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        spec, assets = urls(request)
        return _with_policy(get_swagger_ui_html(
            openapi_url=spec, title=f"{title} - Swagger UI",
            swagger_js_url=assets + "swagger-ui-bundle.js",
            swagger_css_url=assets + "swagger-ui.css", swagger_favicon_url=assets + "favicon.png",
            # the default validator badge is an image from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None}))

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        spec, assets = urls(request)
        return _with_policy(get_redoc_html(
            openapi_url=spec, title=f"{title} - ReDoc", redoc_js_url=assets + "redoc.standalone.js",
            redoc_favicon_url=assets + "favicon.png", with_google_fonts=False))

    @app.get(ASSET_PREFIX + "{name}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        return FileResponse(asset_path(name), media_type=ASSETS[name][1],
                            headers={"Cache-Control": "public, max-age=86400"})

    fastapi_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                fastapi_openapi(), public_read=getattr(app, "public_read", True))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERROR_STATUSES[status], "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {
            "description": "`Bearer`", "schema": {"type": "string"}}}
    if status == 429:
        response["headers"] = {"Retry-After": {
            "description": "seconds to wait", "schema": {"type": "integer"}}}
    return response


def _statuses(method: str, path: str, op: dict[str, Any]) -> set[int]:
    params = op.get("parameters", [])
    statuses = {503}
    if "requestBody" in op:
        statuses |= {400, 413, 422}
    if params:
        statuses.add(422)
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if op.get("security"):
        statuses.add(401)
    if COVERAGE_TAGS & set(op.get("tags", [])):
        statuses.add(422)
    if "scenarios" in op.get("tags", []):
        # roles, scenario ids, and the version every write names
        statuses |= {401, 403, 404, 422} | ({412} if method == "post" else set())
    return statuses | set(EXTRA_STATUSES.get((method, path), ()))


def _takes_csv(op: dict[str, Any]) -> bool:
    return any(p.get("name") == "format" and "csv" in p.get("schema", {}).get("enum", [])
               for p in op.get("parameters", []))


def document_errors(spec: dict[str, Any], *, public_read: bool = True) -> dict[str, Any]:
    """The OpenAPI document with every error status each operation answers, the one
    error body in place of FastAPI's validation error, and CSV where ``format=csv``."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(mode="serialization",
                                       ref_template="#/components/schemas/{model}")
    schemas.update(body.pop("$defs", {}))
    schemas["ErrorBody"] = body
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method == "get" and op.get("security") and public_read:
                # a viewer's token is asked for only when reads are private
                op["security"] = [*op["security"], {}]
            responses = op.setdefault("responses", {})
            for status in sorted(_statuses(method, path, op)):
                responses[str(status)] = _error_response(status)
            if _takes_csv(op):
                ok = next(code for code in responses if code.startswith("2"))
                responses[ok].setdefault("content", {})["text/csv"] = {
                    "schema": {"type": "string"}}
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in json.dumps(spec):
            schemas.pop(unused, None)
    return spec
