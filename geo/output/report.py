"""One Excel workbook per run: the run's tables as sheets (``report.xlsx``).

The writers of :mod:`circle15.geo.output.export` hand over their tables as their CSV
files hold them (rounded by unit, text that a spreadsheet would run as a
formula kept as text), so sheet and CSV show the same numbers. Sheets come in a fixed
order (:data:`SHEET_ORDER`: summary, towns, stations, gaps, sites, then any
others) and only those the run produced are written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

#: the sheets a report may have, in this order (others follow)
SHEET_ORDER = ("summary", "towns", "stations", "gaps", "sites", "by-hour")
#: Excel's limit on sheet names
_MAX_NAME = 31


def write_report(path: Path, sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Write ``sheets`` (name -> table) to the workbook ``path`` and return it.

    Tables are written as given, without a ``geometry`` column. Empty tables
    still get their sheet with the header row, so a run with no gaps says so
    instead of leaving the sheet out.
    """
    if not sheets:
        msg = "a report needs at least one table"
        raise ValueError(msg)
    order = [n for n in SHEET_ORDER if n in sheets] + [n for n in sheets if n not in SHEET_ORDER]
    path = Path(path)
    import xlsxwriter

    # xlsxwriter writes a workbook several times faster than openpyxl (which reads
    # them), and straight from Python values faster than through pandas' styler;
    # text stays text: no cell becomes a formula, a link or a number
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_urls": False,
                                           "strings_to_numbers": False})
    header = book.add_format({"bold": True, "border": 1, "align": "center"})
    for name in order:
        table = sheets[name]
        if "geometry" in table.columns:
            table = pd.DataFrame(table.drop(columns="geometry"))
        ws = book.add_worksheet(name[:_MAX_NAME])
        ws.write_row(0, 0, [str(c) for c in table.columns], header)
        ws.freeze_panes(1, 0)
        for i, col in enumerate(table.columns):
            values = table[col].tolist()
            for r, value in enumerate(values, start=1):
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue  # an empty cell, as the CSV has it
                if isinstance(value, float) and math.isinf(value):
                    ws.write_string(r, i, "inf" if value > 0 else "-inf")
                elif isinstance(value, bool | int | float):
                    ws.write(r, i, value)
                else:
                    ws.write_string(r, i, str(value))
            width = max([len(str(col)), *(len(str(v)) for v in values[:200])])
            ws.set_column(i, i, min(max(8, width + 2), 40))
    book.close()
    return path
