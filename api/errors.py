"""Domain errors as HTTP answers: the status comes from the error class itself."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from circle15.geo.errors import (
    AuthError,
    Circle15Error,
    DuplicateIdError,
    InputError,
)


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error: its class says (``Circle15Error.http_status``)."""
    return exc.http_status if isinstance(exc, Circle15Error) else 500


def _body(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, DuplicateIdError):
        return {"detail": str(exc), "ids": exc.ids}
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

    app.add_exception_handler(Circle15Error, domain)

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
