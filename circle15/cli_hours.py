"""Command-line options for coverage by hour (``--at``, ``--by-hour``,
``--unknown-hours``) and for outputs on Chinese map platforms (``--out-crs``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from circle15.geo.coverage.count import Coverage
    from circle15.geo.inputs.stations import Stations
    from circle15.usecases import Area
    from circle15.usecases.area import Step


def add_output_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--out-crs", choices=("wgs84", "gcj02", "bd09"), default="wgs84",
                   help="coordinates of every output file: wgs84 (default; GPS, OSM), gcj02 "
                        "(Amap/Gaode, Tencent) or bd09 (Baidu)")


def add_hours_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--at", metavar="WHEN",
                   help="count only the stations open then, by their opening_hours: a weekday "
                        "and a time ('Tu 02:00', the next such day) or a date and a time "
                        "('2026-11-24 02:00'), in the area's time zone")
    g.add_argument("--unknown-hours", choices=("open", "closed"), default="open",
                   help="stations whose hours are unknown count as open (default) or closed "
                        "(for --at and --by-hour)")


def add_by_hour_option(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--by-hour", nargs="?", const="Tu", default=None, metavar="DAY",
                   help="also write by-hour.csv (covered and cross-covered share of each "
                        "demand layer per town at each full hour of DAY: Mo..Su or a date; "
                        "default Tu, a working day) and its chart by-hour.png / by-hour.svg")


def in_out_crs(args: argparse.Namespace, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its lon/lat in ``--out-crs``, as the files hold them (for printing)."""
    from circle15.geo.output.out_crs import table_in

    return table_in(table, getattr(args, "out_crs", "wgs84"))


def stations_at(args: argparse.Namespace, stations: Stations, step: Step) -> Stations:
    """``stations`` open at ``--at`` (all of them without it); says how many and how
    unknown hours were counted."""
    from circle15.geo.coverage.hourly import parse_at, stations_open_at, stations_timezone
    from circle15.geo.errors import InputError, SettingsError

    if not getattr(args, "at", None):
        return stations
    if getattr(args, "by_hour", None):
        raise SettingsError("give --at (coverage at one moment) or --by-hour (every hour of a "
                            "day), not both")
    when = parse_at(args.at, timezone=stations_timezone(stations))
    opened = stations_open_at(stations, when, unknown=args.unknown_hours)
    print(f"Stations open at {opened.note()}.")
    step(f"--at {args.at}: {opened.n_open} of {len(stations)} stations open")
    args.at_notes = {"at": when.isoformat(),
                     "stations_open_at": f"{opened.n_open} of {len(stations)}",
                     "unknown_hours": f"{opened.n_unknown} unknown then, counted as "
                                      f"{args.unknown_hours}"}
    if opened.n_open == 0:
        raise InputError(stations.source or "stations",
                         f"no station is open at {when:%a %Y-%m-%d %H:%M} (unknown hours "
                         f"counted as {args.unknown_hours})")
    return stations.select(opened.open)


def with_hour_notes(args: argparse.Namespace, cov: Coverage) -> Coverage:
    """``cov`` with the moment of ``--at`` in its notes (the summary files carry them)."""
    import dataclasses

    notes = getattr(args, "at_notes", None)
    return dataclasses.replace(cov, notes={**cov.notes, **notes}) if notes else cov


def by_hour_tables(args: argparse.Namespace, area: Area, cov: Coverage,
                   step: Step) -> dict[str, pd.DataFrame]:
    """With ``--by-hour``: the 24-hour table (to write as ``by-hour.csv``), its chart
    written, and the whole area's hours printed; else nothing."""
    if not getattr(args, "by_hour", None):
        return {}
    from circle15.geo.coverage.hourly import ALL_AREAS, DemandLayer, coverage_by_hour
    from circle15.geo.output.charts import hourly_chart  # matplotlib: only when asked

    demand = getattr(args, "loaded_demand", None)
    covs = {"residents": cov}
    if demand is not None and len(getattr(demand, "layers", {})) > 1:
        from circle15.usecases.demand import cover_layers

        covs = cover_layers(area, cov, demand)
    layers = [DemandLayer.of(name, c) for name, c in covs.items()]
    hourly = coverage_by_hour(layers, cov.stations, areas=area.areas, day=args.by_hour,
                              unknown=args.unknown_hours)
    charts = hourly_chart(hourly, args.out / "by-hour")
    step("wrote " + ", ".join(str(p) for p in charts))
    whole = hourly.table[hourly.table["area"] == ALL_AREAS]
    head = "".join(f"{name + ' cov %':>18}{'cross %':>9}" for name in hourly.layers)
    lines = [f"Coverage by hour, {hourly.day:%a %Y-%m-%d} (whole area)",
             f"{'hour':>5}{'open':>6}" + head]
    for row in whole.to_dict("records"):
        cells = "".join(f"{row[f'covered_{n}_share'] * 100:>18.1f}"
                        f"{row[f'cross_{n}_share'] * 100:>9.1f}" for n in hourly.layers)
        lines.append(f"{row['time']:>5}{row['stations_open']:>6}" + cells)
    print("\n".join(lines))
    print(f"Note: {hourly.note()}.")
    return {"by-hour": hourly.table}
