"""The command line's demand steps (``--demand``, ``--workers``, ``--max-load``): each
command calls one of these, so that :mod:`circle15.cli` stays one line per step.

The loaded :class:`~circle15.usecases.demand.Demand` travels on the parsed
arguments (``args.loaded_demand``), like the other inputs a command reads once.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from circle15.geo.coverage.count import Coverage
    from circle15.usecases import Area, SitingOutcome
    from circle15.usecases.area import Step


def with_demand(args: argparse.Namespace, area: Area, step: Step) -> Area:
    """Load the demand layers the options ask for, print their sources and weights (with
    several layers), keep them on ``args``, and return ``area`` counting the chosen one."""
    from circle15.cli_options import demand_spec
    from circle15.usecases.demand import load_demand

    demand = load_demand(area, demand_spec(args), step=step)
    if len(demand.layers) > 1:
        print("\n".join(demand.lines()), end="\n\n")
    args.loaded_demand = demand
    return demand.area_for(area)


def noted(args: argparse.Namespace, cov: Coverage) -> Coverage:
    """``cov`` carrying the demand notes (the layer, the workers' source, the weights)."""
    from circle15.usecases.demand import with_notes

    return with_notes(cov, args.loaded_demand)


def report(args: argparse.Namespace, area: Area, cov: Coverage, step: Step) -> None:
    """Write stations.csv (station load) and the layers side by side; print them."""
    from circle15.usecases.demand import report_demand

    print()
    print(report_demand(args.out, area, cov, args.loaded_demand,
                        max_load=getattr(args, "max_load", None),
                        out_crs=getattr(args, "out_crs", "wgs84"), step=step))


def site_tables(args: argparse.Namespace, area: Area, cov: Coverage,
                outcome: SitingOutcome) -> tuple[dict[str, pd.DataFrame], str]:
    """The siting tables to write (the summary with the demand notes; with several
    layers, ``sites-demand``) and the per-layer text to print ("" with one layer)."""
    from circle15.usecases.demand import format_sites_by_layer, sites_by_layer

    summary = outcome.summary_frame()
    for key, value in cov.notes.items():
        summary[key] = value
    tables = {"sites-summary": summary, "curve": outcome.curve}
    by_layer = sites_by_layer(area, cov, args.loaded_demand, outcome.best)
    if by_layer is None:
        return tables, ""
    tables["sites-demand"] = by_layer
    return tables, format_sites_by_layer(by_layer)


def map_fields(args: argparse.Namespace, area: Area, cov: Coverage) -> dict[str, list[object]]:
    """The stations' load fields for the planner map's popups."""
    from circle15.usecases.demand import station_map_fields

    return station_map_fields(area, cov, args.loaded_demand,
                              max_load=getattr(args, "max_load", None), lang=args.lang)
