"""Every error circle15 raises on purpose, under one base, each with its HTTP status.

The CLI prints any :class:`Circle15Error` as one message and exits with 2; the
service answers it with ``http_status`` and a JSON body (``circle15.api.errors``).
Errors for bad input name where the problem is: file, row, id and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: how many row problems an error message lists before it summarises the rest
_MAX_LISTED = 20


class Circle15Error(Exception):
    """Base class of every error this project raises on purpose."""

    #: the HTTP status the service answers this error with
    http_status: int = 500


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row (or the whole file when ``row`` is None).

    ``row`` counts data rows from 1 (the header is not a row), as a spreadsheet
    user would number them after the header; for GeoJSON it is the feature
    number, also from 1.
    """

    message: str
    row: int | None = None
    column: str | None = None
    ident: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.ident is not None:
            where.append(f"id {self.ident!r}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(Circle15Error, ValueError):
    """A user-supplied file or value is wrong; nothing was stored or written.

    Parameters
    ----------
    source
        What was being read: a file name or a layer name such as ``"stations"``.
    problems
        Every problem found, so the user can fix them all in one go.
    """

    http_status = 422

    def __init__(self, source: str, problems: Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.source = source
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:_MAX_LISTED]]
        more = len(self.problems) - _MAX_LISTED
        if more > 0:
            lines.append(f"... and {more} more")
        if len(lines) == 1:
            msg = f"{source}: {lines[0]}"
        else:
            msg = f"{source}: {len(self.problems)} problems\n  " + "\n  ".join(lines)
        super().__init__(msg)


class NetworkError(Circle15Error, ValueError):
    """The street network cannot be loaded or is unusable (empty, disconnected)."""

    http_status = 422


class SettingsError(Circle15Error, ValueError):
    """A setting (minutes, speed, distances) is out of its allowed range."""

    http_status = 422


class SitingError(Circle15Error, ValueError):
    """A siting request that cannot be answered as asked (says what can)."""

    http_status = 422


class NotFoundError(Circle15Error, LookupError):
    """No such resource (e.g. an unknown station id)."""

    http_status = 404


class AuthError(Circle15Error, PermissionError):
    """A write without a valid planner token."""

    http_status = 401


class PayloadTooLargeError(Circle15Error, ValueError):
    """An upload or body over the configured limit."""

    http_status = 413


class DuplicateIdError(Circle15Error, KeyError):
    """Station ids that already exist."""

    http_status = 409

    def __init__(self, ids: list[str]) -> None:
        super().__init__(ids)
        self.ids = ids

    def __str__(self) -> str:
        return f"station ids already exist: {', '.join(self.ids)}"


class MissingAssetsError(Circle15Error, FileNotFoundError):
    """The map assets (Leaflet) are not installed next to the maps package."""

    http_status = 503


class StorageError(Circle15Error, OSError):
    """The station store cannot be read or written (disk full, read-only, gone)."""

    http_status = 503
