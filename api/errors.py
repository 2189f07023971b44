"""Domain errors as HTTP answers: the status is chosen here, by the error's class.

The core's errors carry no HTTP status and name settings by field
(:func:`circle15.geo.errors.field`); here they are spelled as the service's
users know them: a request parameter by its name, a service setting by its
environment variable.

Every error answer has one body shape, :class:`ErrorBody`, and the OpenAPI
document says so (``circle15.api.docs``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from circle15.api.scenario_store import StaleVersionError
from circle15.geo.errors import (
    AuthError,
    Circle15Error,
    DuplicateIdError,
    ForbiddenError,
    InputError,
    MissingAssetsError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    SettingsError,
    SitingError,
    StorageError,
    spell_fields,
)


class BusyError(Circle15Error):
    """The service is at its limit for this kind of request: try again after
    ``retry_after_s`` (429 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


#: problems an error answer lists (the rest are counted in ``more_problems``)
MAX_PROBLEMS = 100
#: the HTTP status of each kind of error (the nearest class in an error's ancestry wins)
STATUS: dict[type[Circle15Error], int] = {
    InputError: 422, NetworkError: 422, SettingsError: 422, SitingError: 422,
    NotFoundError: 404, AuthError: 401, ForbiddenError: 403, PayloadTooLargeError: 413,
    DuplicateIdError: 409,
    MissingAssetsError: 503, StorageError: 503, BusyError: 429, StaleVersionError: 412,
}
#: fields a request can carry (query parameters and body fields); any other field an
#: error names is one of the service's settings, spelled as its environment variable
REQUEST_FIELDS = frozenset({
    "at", "day", "demand", "mix", "unknown_hours", "crs", "out_crs", "mode", "k", "objective",
    "target", "first_weight", "method", "time_limit_s", "candidates", "node_spacing_m",
    "minutes", "level", "hex_m", "lon", "lat", "limit", "radius_m", "format", "station",
})


def spell(name: str) -> str:
    """A field as the service's users write it."""
    return name if name in REQUEST_FIELDS else f"CIRCLE15_{name.upper()}"


#: an absolute file path (POSIX or Windows) as it may appear in a message
_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(=,]))(?:/|[A-Za-z]:\\)[^\s'\"(),:;]*"
                   r"[/\\]([^\s'\"(),:;/\\]+)")


def no_paths(text: str) -> str:
    """``text`` with every absolute path cut to its file name: the service's folders
    are nobody's business (an upload's own name is kept)."""
    return _PATH.sub(lambda m: m.group(1), text)


def message_of(exc: BaseException) -> str:
    """The error's message worded for the service, without server paths."""
    return no_paths(exc.worded(spell) if isinstance(exc, Circle15Error) else str(exc))


class ProblemOut(BaseModel):
    """One thing wrong: a field of the request, or a row of an uploaded file."""

    message: str = Field(description="what is wrong, in words")
    field: str | None = Field(None, description="the request field (``add.0.lon``, ``k``, "
                                                "``body`` for the body as a whole)")
    row: int | None = Field(None, description="the file's data row, from 1")
    id: str | None = Field(None, description="the row's station id")
    column: str | None = Field(None, description="the file's column")


class ErrorBody(BaseModel):
    """Every error answer: what is wrong, with every problem found when there are several."""

    detail: str = Field(description="the whole message")
    problems: list[ProblemOut] | None = Field(
        None, description="each problem (bad request fields, or rows of an upload)")
    source: str | None = Field(None, description="what was being read: a file or layer name")
    ids: list[str] | None = Field(None, description="station ids that already exist (409)")
    more_problems: int | None = Field(
        None, description="problems found beyond those listed (at most 100 are listed)")


def status_of(exc: BaseException) -> int:
    """The HTTP status of an error, by its class (500 for anything unexpected)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _body(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, DuplicateIdError):
        return {"detail": message_of(exc), "ids": exc.ids}
    body: dict[str, Any] = {"detail": message_of(exc)}
    if isinstance(exc, InputError):
        body["source"] = no_paths(exc.source)
        body["problems"] = [{"row": p.row, "id": p.ident, "column": p.column,
                             "message": no_paths(spell_fields(p.message, spell))}
                            for p in exc.problems[:MAX_PROBLEMS]]
        if exc.total > MAX_PROBLEMS:
            body["more_problems"] = exc.total - MAX_PROBLEMS
    return body


def _non_finite(value: object) -> bool:
    """NaN or ±infinity, as a number or as the text a query string carries."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, float) and not math.isfinite(value)


def _position(doc: object, pos: int) -> str:
    """``line L, column C`` of a character offset into a JSON text."""
    if not isinstance(doc, str):
        return f"character {pos + 1}"
    line = doc.count("\n", 0, pos) + 1
    column = pos - doc.rfind("\n", 0, pos)
    return f"line {line}, column {column}"


_BOUNDS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def validation_problem(err: dict[str, Any], body: object) -> dict[str, str]:
    """One pydantic/FastAPI validation error as a field and a plain message."""
    loc = [str(x) for x in err.get("loc", ())]
    kind = err.get("type", "")
    if kind == "json_invalid":
        where = [_position(body, int(loc[1]))] if len(loc) > 1 and loc[1].isdigit() else []
        where += [str(err.get("ctx", {}).get("error", ""))]
        return {"field": "body", "message": "the request body is not valid JSON ("
                + ": ".join(w for w in where if w) + ")"}
    # "query"/"path"/"header" name where a parameter was; the field's own name is enough
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    field = ".".join(loc) or "body"
    value = err.get("input")
    if kind == "missing":
        message = ("the request needs a JSON body" if field == "body" else "is required")
    elif kind == "finite_number" or (kind in _BOUNDS and _non_finite(value)):
        # NaN is neither above nor below a bound: "should be less than 240" would mislead
        message = f"must be a finite number, not {value!r}"
    elif kind == "extra_forbidden":
        message = "is not a field this request takes"
    else:
        message = str(err.get("msg", "is not valid"))
    return {"field": field, "message": message}


_UNREADABLE = "There was an error parsing the body"


def _unreadable_body(cause: BaseException | None) -> str:
    """Why a body could not be read at all (FastAPI says only that it could not)."""
    if isinstance(cause, UnicodeDecodeError):
        return f"the request body is not UTF-8 text (byte {cause.start + 1} is not valid)"
    if cause is not None and type(cause).__name__ == "MultiPartException":
        return f"the upload is not a valid multipart/form-data body: {cause}"
    return "the request body could not be read" + (f": {cause}" if cause else "")


def install_handlers(app: FastAPI) -> None:
    async def domain(request: Request, exc: Exception) -> JSONResponse:
        headers = ({"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else
                   {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, BusyError)
                   else {"ETag": f'"{exc.current}"'} if isinstance(exc, StaleVersionError)
                   else None)
        return JSONResponse(_body(exc), status_code=status_of(exc), headers=headers)

    app.add_exception_handler(Circle15Error, domain)

    async def validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [validation_problem(dict(err), exc.body) for err in exc.errors()]
        detail = "; ".join(p["message"] if p["message"].startswith("the request")
                           else f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse(jsonable_encoder({"detail": detail, "problems": problems}),
                            status_code=422)

    app.add_exception_handler(RequestValidationError, validation)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400 and exc.detail == _UNREADABLE:
            exc = HTTPException(400, _unreadable_body(exc.__cause__), headers=exc.headers)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(HTTPException, http_error)
