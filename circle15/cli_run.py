"""The command line's one loading step: options -> specs -> the use cases -> a :class:`Run`.

Every command that counts coverage (coverage, gaps, site, map, demo) starts
here. The options are read into typed specs once (:func:`specs_of`); from
then on the command works with the :class:`Run` it gets back and never
writes into the parsed arguments.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from circle15.cli_options import area_spec, demand_spec, steps

if TYPE_CHECKING:
    import pandas as pd

    from circle15.geo.coverage.count import Coverage
    from circle15.geo.inputs.stations import Stations
    from circle15.usecases import Area, AreaSpec
    from circle15.usecases.area import Step
    from circle15.usecases.demand import Demand, DemandSpec
    from circle15.usecases.questions import CoverageQuestion, Moment


@dataclass(frozen=True)
class Specs:
    """What the options ask for, as the use cases take it."""

    area: AreaSpec
    demand: DemandSpec
    question: CoverageQuestion


@dataclass(frozen=True, eq=False)
class Run:
    """An area loaded and counted: what every command's outputs are made from."""

    area: Area
    demand: Demand
    stations: Stations
    cov: Coverage
    moment: Moment | None
    step: Step


def specs_of(args: argparse.Namespace) -> Specs:
    from circle15.usecases.questions import CoverageQuestion

    return Specs(area_spec(args), demand_spec(args),
                 CoverageQuestion(demand=None, at=getattr(args, "at", None),
                                  unknown_hours=args.unknown_hours,
                                  include_planned=args.include_planned))


def progress_bars(args: argparse.Namespace) -> bool:
    """Progress bars only for a person at a terminal (never in logs or pipes)."""
    return not args.quiet and sys.stderr.isatty()


def load_run(args: argparse.Namespace, stations: Path, specs: Specs | None = None) -> Run:
    """The area read and checked, its demand layers, and its coverage by the stations
    file, for the question the options ask."""
    from circle15.usecases import load_area
    from circle15.usecases.area import read_station_file
    from circle15.usecases.demand import load_demand
    from circle15.usecases.questions import coverage_for

    specs = specs or specs_of(args)
    step = steps(args.quiet)
    loaded = load_area(specs.area, step=step)
    demand = load_demand(loaded, specs.demand, step=step)
    if len(demand.layers) > 1 and not args.quiet:
        print("\n".join(demand.lines()), end="\n\n")
    area = demand.area_for(loaded)
    all_stations = read_station_file(area, stations, crs=args.stations_crs)
    q = specs.question
    n_active = len(all_stations.active(include_planned=q.include_planned))
    step(f"stations: {len(all_stations)} read, {n_active} counted "
         f"({'existing and planned' if q.include_planned else 'existing only'})")
    settings = area.spec.coverage_settings()
    step(f"computing coverage ({settings.minutes:g} min {settings.mode} at "
         f"{settings.speed_kmh:g} km/h = {settings.limit_m:,.0f} m)")
    answer = coverage_for(area, all_stations, demand, q, progress=progress_bars(args))
    if answer.moment is not None and not args.quiet:
        print(f"Stations open at {answer.moment.note()}.")
        step(f"--at {q.at}: {answer.moment.opened.n_open} of {len(all_stations)} stations open")
    return Run(area, demand, all_stations, answer.coverage, answer.moment, step)


def by_hour_tables(args: argparse.Namespace, run: Run) -> dict[str, pd.DataFrame]:
    """With ``--by-hour``: the 24-hour table of every demand layer (to write as
    ``by-hour.csv``), its chart written, and the whole area's hours printed."""
    if not getattr(args, "by_hour", None):
        return {}
    from circle15.geo.coverage.hourly import ALL_AREAS
    from circle15.geo.output.charts import hourly_chart  # matplotlib: only when asked
    from circle15.usecases.area import cover
    from circle15.usecases.questions import hours_of_day

    # every station that may open, whatever --at chose
    base = run.cov if run.moment is None else cover(run.area, run.stations,
                                                    include_planned=args.include_planned)
    hourly = hours_of_day(run.area, base, run.demand, day=args.by_hour,
                          unknown_hours=args.unknown_hours)
    charts = hourly_chart(hourly, args.out / "by-hour")
    run.step("wrote " + ", ".join(str(p) for p in charts))
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
