"""``circle15 batch``: the command line's adapter for many areas on Dask."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from circle15.cli_options import area_spec, demand_spec, steps


def cmd_batch(args: argparse.Namespace) -> int:
    import geopandas as gpd

    from circle15.usecases.batch import area_tasks, manifest_tasks, run_batch
    from circle15.usecases.batch_files import merged_tables, write_batch

    step = steps(args.quiet)
    spec = area_spec(args)
    demand = demand_spec(args)
    areas = None
    if args.manifest:
        if demand.wants_workers:
            raise SystemExit("circle15 batch: --demand, --workers and --workers-total are "
                             "taken with --areas, not with --manifest (each manifest area "
                             "counts its own population)")
        tasks = manifest_tasks(args.manifest, spec=spec, at=args.at,
                               unknown_hours=args.unknown_hours)
        tasks = [dataclasses.replace(t, gaps_hex_m=args.gaps_hex_m, sites=args.sites)
                 for t in tasks]
        outside = 0.0
    else:
        has_pop = args.population or args.census or args.buildings_total
        if not (args.areas and args.stations and has_pop and (args.network or args.place)):
            raise SystemExit("circle15 batch: give --areas, --network, --stations and "
                             "--population (a table or GeoTIFF), --census or "
                             "--buildings-total; or --manifest")
        areas = gpd.read_file(args.areas)
        col = args.areas_name_column or "name"
        if col not in areas.columns:
            raise SystemExit(f"circle15 batch: {args.areas} has no column {col!r}; pass "
                             "--areas-name-column")
        tasks, outside = area_tasks(areas, name_column=col, spec=spec, stations=args.stations,
                                    stations_crs=args.stations_crs, demand=demand,
                                    at=args.at, unknown_hours=args.unknown_hours)
        tasks = [dataclasses.replace(t, gaps_hex_m=args.gaps_hex_m, sites=args.sites)
                 for t in tasks]
    where = args.scheduler or f"a local cluster of {args.dask_workers} workers"
    step(f"{len(tasks)} areas on {where}")
    batch = run_batch(tasks, scheduler=args.scheduler, workers=args.dask_workers,
                      threads_per_worker=args.threads_per_worker,
                      memory_limit=args.memory_limit, retries=args.retries,
                      progress=None if args.quiet else step, outside_people=outside)
    written = write_batch(batch, args.out, areas=areas,
                          name_column=args.areas_name_column or "name", out_crs=args.out_crs)
    step("wrote " + ", ".join(str(p) for p in written))
    _, totals, _ = merged_tables(batch)
    from circle15.geo.output.export import format_summary

    print(format_summary(totals, title=f"All {len(batch.results)} areas"))
    if outside:
        print(f"Note: {outside:,.0f} people lie in no area and are not counted.")
    for name, error in batch.failed.items():
        print(f"FAILED {name}: {error}", file=sys.stderr)
    return 1 if batch.failed else 0
