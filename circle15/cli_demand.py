"""The command line's demand outputs (``--demand``, ``--workers``, ``--max-load``): the
station load and the layers side by side, the siting tables per layer and the map's
popup fields, each from the :class:`~circle15.cli_run.Run` a command loaded."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from circle15.cli_run import Run
    from circle15.usecases import SitingOutcome


def report(args: argparse.Namespace, run: Run) -> None:
    """Write stations.csv (station load) and the layers side by side; print them."""
    from circle15.usecases.demand import report_demand

    print()
    print(report_demand(args.out, run.area, run.cov, run.demand,
                        max_load=getattr(args, "max_load", None),
                        out_crs=getattr(args, "out_crs", "wgs84"), step=run.step))


def site_tables(run: Run, outcome: SitingOutcome) -> tuple[dict[str, pd.DataFrame], str]:
    """The siting tables to write (the summary with the demand notes; with several
    layers, ``sites-demand``) and the per-layer text to print ("" with one layer)."""
    from circle15.usecases.demand import format_sites_by_layer, sites_by_layer

    summary = outcome.summary_frame()
    for key, value in run.cov.notes.items():
        summary[key] = value
    tables = {"sites-summary": summary, "curve": outcome.curve}
    by_layer = sites_by_layer(run.area, run.cov, run.demand, outcome.best)
    if by_layer is None:
        return tables, ""
    tables["sites-demand"] = by_layer
    return tables, format_sites_by_layer(by_layer)


def map_fields(args: argparse.Namespace, run: Run) -> dict[str, list[object]]:
    """The stations' load fields for the planner map's popups."""
    from circle15.usecases.demand import station_map_fields

    return station_map_fields(run.area, run.cov, run.demand,
                              max_load=getattr(args, "max_load", None), lang=args.lang)
