"""Every error circle15 raises on purpose, under one base.

The core knows no front end: an error names what is wrong (file, row, id,
column, or the setting by its field name), never a command-line flag or an
HTTP status. A message refers to a setting with :func:`ref` and each front
end spells it its own way (:meth:`Circle15Error.worded`): the CLI prints
``--speed-kmh`` and exits with 2, the service says ``speed_kmh`` (or
``CIRCLE15_SPEED_KMH``) and picks the HTTP status from the error's class
(``circle15.api.errors``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: how many row problems an error message lists before it summarises the rest
_MAX_LISTED = 20
#: how many an error keeps
_MAX_KEPT = 1_000


_FIELD = re.compile(r"\{field:(\w+)\}")


def ref(name: str) -> str:
    """A setting named inside an error message (``ref("speed_kmh")``), for each front
    end to spell as its users know it."""
    return "{field:" + name + "}"


def spell_fields(text: str, spell: Callable[[str], str]) -> str:
    """``text`` with every :func:`ref` reference written by ``spell``."""
    return _FIELD.sub(lambda m: spell(m.group(1)), text)


def plain_name(name: str) -> str:
    return name


class Circle15Error(Exception):
    """Base class of every error this project raises on purpose."""

    def worded(self, spell: Callable[[str], str] = plain_name) -> str:
        """The message with the settings it names spelled by ``spell``."""
        return spell_fields(Exception.__str__(self), spell)

    def __str__(self) -> str:
        return self.worded()

    def fields(self) -> list[str]:
        """The settings the message names, in order."""
        return _FIELD.findall(Exception.__str__(self))


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


    def __init__(self, source: str, problems: Sequence[Problem] | str, *,
                 total: int | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.source = source
        #: every problem found, up to _MAX_KEPT (a million empty rows are one message, not
        #: a million objects); ``total`` counts them all
        self.total = max(len(problems), total or 0)
        self.problems = list(problems[:_MAX_KEPT])
        lines = [str(p) for p in self.problems[:_MAX_LISTED]]
        more = self.total - _MAX_LISTED
        if more > 0:
            lines.append(f"... and {more} more")
        if len(lines) == 1:
            msg = f"{source}: {lines[0]}"
        else:
            msg = f"{source}: {self.total:,} problems\n  " + "\n  ".join(lines)
        super().__init__(msg)


class NetworkError(Circle15Error, ValueError):
    """The street network cannot be loaded or is unusable (empty, disconnected)."""



class SettingsError(Circle15Error, ValueError):
    """A setting (minutes, speed, distances) is out of its allowed range."""



class SitingError(Circle15Error, ValueError):
    """A siting request that cannot be answered as asked (says what can)."""



class NotFoundError(Circle15Error, LookupError):
    """No such resource (e.g. an unknown station id)."""



class AuthError(Circle15Error, PermissionError):
    """A write without a valid planner token."""



class ForbiddenError(Circle15Error, PermissionError):
    """A valid token whose role does not allow this."""


class PayloadTooLargeError(Circle15Error, ValueError):
    """An upload or body over the configured limit."""



class DuplicateIdError(Circle15Error, KeyError):
    """Station ids that already exist."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"station ids already exist: {', '.join(ids)}")
        self.ids = ids


class MissingAssetsError(Circle15Error, FileNotFoundError):
    """The map assets (Leaflet) are not installed next to the maps package."""



class StorageError(Circle15Error, OSError):
    """The station store cannot be read or written (disk full, read-only, gone)."""

