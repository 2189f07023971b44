"""Limits on what a user file may make the readers build, checked before they build it.

A file small on the wire can be huge in memory: an XLSX whose sheet inflates to
gigabytes of whitespace, a 1.5 KB workbook declaring ``A1:XFD1048576``, a CSV
header of a million columns (pandas' handling of so many names is quadratic),
a million rows of empty cells (a million problems to report). Each shape is
measured cheaply first (the zip's parts decompressed as a stream up to a cap,
the header's separators counted, the lines counted) and refused with what it
is and what the limit is, before pandas or openpyxl sees the file.

The command line reads with :data:`GENEROUS` limits (a district's population
table is 100,000+ rows); the service parses uploads under its own, much
tighter ones (:func:`reading`), set for the thread doing the parsing.
"""

from __future__ import annotations

import contextvars
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from circle15.geo.errors import InputError


@dataclass(frozen=True)
class TableLimits:
    """What one table may hold: rows, columns, cells, the header's bytes, and the bytes
    an XLSX's parts may inflate to."""

    max_rows: int = 5_000_000
    max_columns: int = 500
    max_cells: int = 50_000_000
    max_header_bytes: int = 256 * 1024
    max_inflated_bytes: int = 1024 * 1024 * 1024


#: the command line's limits: far above any real station, population or worker table
GENEROUS = TableLimits()
_CURRENT: contextvars.ContextVar[TableLimits] = contextvars.ContextVar(
    "circle15_table_limits", default=GENEROUS)


def current() -> TableLimits:
    return _CURRENT.get()


@contextmanager
def reading(limits: TableLimits) -> Iterator[None]:
    """Read files under ``limits`` in this thread (or task) until the block ends."""
    token = _CURRENT.set(limits)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check_shape(source: str, rows: int, columns: int, limits: TableLimits) -> None:
    """Refuse a table of more rows, columns or cells than ``limits`` allow."""
    if columns > limits.max_columns:
        raise InputError(source, f"the table has {columns:,} columns, more than the "
                                 f"{limits.max_columns:,} a table may have")
    if rows > limits.max_rows:
        raise InputError(source, f"the table has {rows:,} rows, more than the "
                                 f"{limits.max_rows:,} a table may have")
    if rows * columns > limits.max_cells:
        raise InputError(source, f"the table has {rows:,} rows × {columns:,} columns = "
                                 f"{rows * columns:,} cells, more than the "
                                 f"{limits.max_cells:,} a table may have")


# ---------------------------------------------------------------------------
# XLSX: a zip of XML parts

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW = re.compile(rb"<(?:\w+:)?row[\s>]")
_CELL_COL = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]{1,3})\d+"')
_CHUNK = 1 << 20


def column_number(letters: bytes) -> int:
    """``b"A"`` -> 1, ``b"XFD"`` -> 16384."""
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def check_xlsx(path: Path, source: str, limits: TableLimits) -> None:
    """Refuse a workbook whose parts inflate past the limit, whose sheet declares or holds
    more rows, columns or cells than allowed: read as a stream, never built."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(source, f"not a readable Excel workbook ({exc})") from exc
    with book:
        infos = book.infolist()
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_inflated_bytes:
            raise InputError(source, f"the workbook's parts declare {declared:,} bytes "
                                     f"unpacked, more than the {limits.max_inflated_bytes:,} "
                                     "allowed")
        sheets = sorted(i.filename for i in infos
                        if i.filename.startswith("xl/worksheets/") and
                        i.filename.endswith(".xml"))
        if not sheets:
            raise InputError(source, "the workbook has no worksheet")
        budget = limits.max_inflated_bytes
        for info in infos:  # every part, as unpacked: a lying size header gains nothing
            budget -= _inflate(book, info.filename, source, budget,
                               scan=info.filename == sheets[0], limits=limits)


def _inflate(book: zipfile.ZipFile, name: str, source: str, budget: int, *, scan: bool,
             limits: TableLimits) -> int:
    """Bytes ``name`` unpacks to (stopping past ``budget``); for the first sheet, its
    declared and actual rows and columns are checked on the way."""
    total = rows = 0
    columns = 0
    tail = b""
    try:
        with book.open(name) as part:
            while chunk := part.read(_CHUNK):
                total += len(chunk)
                if total > budget:
                    raise InputError(source, f"the workbook unpacks to more than "
                                             f"{limits.max_inflated_bytes:,} bytes (its part "
                                             f"{name} alone passes {total:,}): refused unread")
                if not scan:
                    continue
                text = tail + chunk
                if rows == 0 and (m := _DIMENSION.search(text)):
                    last_col = m.group(3) or m.group(1)
                    last_row = int(m.group(4) or m.group(2))
                    check_shape(source, last_row, column_number(last_col), limits)
                cut = max(len(text) - 64, 0)  # a tag split across chunks is seen once
                rows += len(_ROW.findall(text, 0, cut))
                for letters in set(_CELL_COL.findall(text, 0, cut)):
                    columns = max(columns, column_number(letters))
                check_shape(source, rows, columns, limits)
                tail = text[cut:]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(source, f"not a readable Excel workbook ({exc})") from exc
    if scan:
        rows += len(_ROW.findall(tail))
        check_shape(source, rows, columns, limits)
    return total


# ---------------------------------------------------------------------------
# CSV: text with a header line

SEPARATORS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def separator_name(sep: str) -> str:
    return _SEPARATOR_NAMES.get(sep, repr(sep))


def decode(data: bytes, source: str) -> tuple[str, str]:
    """The text of a CSV and the encoding it was read in: UTF-8 (a byte-order mark
    dropped whatever follows it) or GB18030 (GBK's superset, as Chinese spreadsheets
    save), judged on the bytes after the mark."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    for encoding in ("utf-8", "gb18030"):
        try:
            return body.decode(encoding), ("UTF-8" if encoding == "utf-8" else "GB18030/GBK")
        except UnicodeDecodeError:
            continue
    raise InputError(source, "cannot decode the text as UTF-8 or GB18030/GBK")


def header_of(text: str, source: str, limits: TableLimits) -> tuple[str, str, int]:
    """The header line, its separator (the most frequent of comma, semicolon, tab and
    vertical bar outside quotes) and its column count: one linear pass."""
    end = text.find("\n")
    line = text if end < 0 else text[:end]
    if len(line.encode("utf-8")) > limits.max_header_bytes:
        raise InputError(source, f"the header line is longer than "
                                 f"{limits.max_header_bytes:,} bytes")
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    sep = max(SEPARATORS, key=lambda s: (counts[s], s == ","))
    return line, sep, counts[sep] + 1
