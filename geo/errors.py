"""Errors raised for bad input, each naming where the problem is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: how many row problems an error message lists before it summarises the rest
_MAX_LISTED = 20


class Circle15Error(Exception):
    """Base class of every error this project raises on purpose."""


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


class SettingsError(Circle15Error, ValueError):
    """A setting (minutes, speed, distances) is out of its allowed range."""
