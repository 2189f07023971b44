"""Domain errors mapped to HTTP status codes, in one table."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from circle15.api.store import DuplicateIdError
from circle15.geo.errors import Circle15Error, InputError, NetworkError, SettingsError
from circle15.geo.siting import SitingError
from circle15.maps.assets import MissingAssetsError


class NotFoundError(Circle15Error, LookupError):
    """No such resource (e.g. an unknown station id)."""


class AuthError(Circle15Error, PermissionError):
    """A write without a valid planner token."""


class PayloadTooLargeError(Circle15Error, ValueError):
    """An upload or body over the configured limit."""


#: most specific first: the first matching class decides the status
ERROR_STATUS: list[tuple[type[BaseException], int]] = [
    (NotFoundError, 404),
    (AuthError, 401),
    (PayloadTooLargeError, 413),
    (DuplicateIdError, 409),
    (SitingError, 422),
    (InputError, 422),
    (SettingsError, 422),
    (NetworkError, 422),
    (MissingAssetsError, 503),
]


def status_of(exc: BaseException) -> int:
    for cls, status in ERROR_STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _body(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, DuplicateIdError):
        return {"detail": f"station ids already exist: {', '.join(exc.ids)}",
                "ids": exc.ids}
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, InputError):
        body["source"] = exc.source
        body["problems"] = [{"row": p.row, "id": p.ident, "column": p.column,
                             "message": p.message} for p in exc.problems]
    return body


def install_handlers(app: FastAPI) -> None:
    async def domain(request: Request, exc: Exception) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
        return JSONResponse(_body(exc), status_code=status_of(exc), headers=headers)

    for cls, _ in ERROR_STATUS:
        app.add_exception_handler(cls, domain)  # type: ignore[arg-type]

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            problems.append({"field": loc, "message": err.get("msg", "invalid")})
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(jsonable_encoder({"detail": detail, "problems": problems}),
                            status_code=422)

    app.add_exception_handler(RequestValidationError, validation)
