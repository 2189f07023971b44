"""Command-line options for coverage by hour (``--at``, ``--by-hour``,
``--unknown-hours``) and for outputs on Chinese map platforms (``--out-crs``).
What they ask for is answered by :mod:`circle15.usecases.questions`
(through :mod:`circle15.cli_run`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from circle15.geo import vocab
from circle15.geo.vocab import CoordSystem, UnknownHours, words

if TYPE_CHECKING:
    import pandas as pd



def add_output_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--out-crs", choices=words(CoordSystem), default=str(CoordSystem.WGS84),
                   help="coordinates of every output file: wgs84 (default; GPS, OSM), gcj02 "
                        "(Amap/Gaode, Tencent) or bd09 (Baidu)")


def add_hours_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--at", metavar="WHEN",
                   help="count only the stations open then, by their opening_hours: a weekday "
                        "and a time ('Tu 02:00', the next such day) or a date and a time "
                        "('2026-11-24 02:00'), in the area's time zone")
    g.add_argument("--unknown-hours", choices=words(UnknownHours), default=str(UnknownHours.OPEN),
                   help="stations whose hours are unknown count as open (default) or closed "
                        "(for --at and --by-hour)")


def add_by_hour_option(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--by-hour", nargs="?", const=vocab.DAY, default=None, metavar="DAY",
                   help="also write by-hour.csv (covered and cross-covered share of each "
                        "demand layer per town at each full hour of DAY: Mo..Su or a date; "
                        f"default {vocab.DAY}, a working day) and its chart by-hour.png / "
                        "by-hour.svg; every station counts by its hours, whatever --at says")


def in_out_crs(args: argparse.Namespace, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its lon/lat in ``--out-crs``, as the files hold them (for printing)."""
    from circle15.geo.output.out_crs import table_in

    return table_in(table, getattr(args, "out_crs", "wgs84"))
