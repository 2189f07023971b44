"""The ``circle15`` command line's options, and their translation into use-case specs."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from circle15.cli_hours import add_hours_options, add_output_options
from circle15.geo import vocab
from circle15.geo.vocab import Basemap, CoordSystem, DemandKind, Lang, Mode, words
from circle15.usecases import AreaSpec, CandidateSpec, SitingSpec

if TYPE_CHECKING:
    from circle15.usecases.demand import DemandSpec


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        msg = f"expected numbers separated by commas, not {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def steps(quiet: bool) -> Callable[[str], None]:
    """Prints each step with the time since the start (on stderr), unless quiet."""
    t0 = time.perf_counter()

    def step(text: str) -> None:
        if not quiet:
            print(f"[{time.perf_counter() - t0:6.1f}s] {text}", file=sys.stderr, flush=True)

    return step


def add_area_options(p: argparse.ArgumentParser, *, out_default: Path | None = None,
                     out_help: str = "output folder") -> None:
    g = p.add_argument_group("inputs")
    g.add_argument("--network",
                   help="OSM file (.osm.pbf/.osm/.osm.bz2/.osm.gz), osmnx .graphml, or a place "
                        "name to download with osmnx, e.g. 'Shunyi District, Beijing, China'")
    g.add_argument("--place", help="same as --network with a place name (needs internet once)")
    g.add_argument("--stations", help="stations: CSV, XLSX or GeoJSON")
    g.add_argument("--stations-crs", default=str(CoordSystem.WGS84), choices=words(CoordSystem),
                   help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--population",
                   help="population points/cells with a count column (CSV, XLSX, GeoJSON) or "
                        "a GeoTIFF of people per cell")
    g.add_argument("--population-column", help="name of the count column")
    g.add_argument("--population-crs", default=str(CoordSystem.WGS84), choices=words(CoordSystem),
                   help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--raster-density", action="store_true",
                   help="the --population GeoTIFF holds people per km², not people per cell")
    g.add_argument("--census", help="census polygons with a population count (GeoJSON/GPKG), "
                                    "spread over the OSM residential buildings of --network")
    g.add_argument("--census-crs", default=str(CoordSystem.WGS84), choices=words(CoordSystem),
                   help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--census-table", help="CSV/XLSX with the counts, joined on the area name")
    g.add_argument("--census-name-column", help="area name column of the census polygons")
    g.add_argument("--census-count-column", help="population column of the census polygons")
    g.add_argument("--buildings-total", type=float,
                   help="estimate population from the OSM residential buildings of --network, "
                        "sharing this total by floor area")
    g.add_argument("--areas", help="admin-area polygons with a name (GeoJSON/GeoPackage)")
    g.add_argument("--areas-crs", default=str(CoordSystem.WGS84), choices=words(CoordSystem),
                   help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--areas-name-column", help="name of the area name column")
    s = p.add_argument_group("settings")
    s.add_argument("--minutes", type=float, default=vocab.MINUTES,
                   help=f"service limit (default {vocab.MINUTES:g})")
    s.add_argument("--bands", type=_floats, default=vocab.BANDS_MIN,
                   help="shorter limits also reported, minutes (default "
                        f"{','.join(f'{b:g}' for b in vocab.BANDS_MIN)})")
    s.add_argument("--mode", choices=words(Mode), default=str(Mode.WALK),
                   help="how people reach stations: walk (default; the walking network), "
                        "ebike or bike (the riding network: roads and cycleways, no motorways "
                        "or foot-only ways, one-way rules kept for riders)")
    s.add_argument("--speed-kmh", type=float, default=None,
                   help="travel speed (default: " + ", ".join(
                       f"{m} {v:g}" for m, v in vocab.SPEEDS_KMH.items()) + ")")
    s.add_argument("--include-planned", action="store_true",
                   help="count planned stations as if open")
    s.add_argument("--station-max-snap-m", type=float, default=vocab.STATION_MAX_SNAP_M,
                   help="farthest a station may be from a walkable street (default "
                        f"{vocab.STATION_MAX_SNAP_M:g})")
    s.add_argument("--population-max-snap-m", type=float, default=vocab.POPULATION_MAX_SNAP_M,
                   help="farthest a population unit may be from a street (default "
                        f"{vocab.POPULATION_MAX_SNAP_M:g})")
    s.add_argument("--drop-far-population", action="store_true",
                   help="drop (and report) people beyond that distance instead of failing")
    s.add_argument("--snap-avoid",
                   help="kinds of street a point may not join (they are still walked through): "
                        "comma-separated of tunnel, underground, indoor, bridge, trunk (the "
                        "default: all of them), or none")
    s.add_argument("--snap-slack-m", type=float, default=None,
                   help="a point joins the best of the eligible streets within this many metres "
                        f"beyond the nearest one (default {vocab.SNAP_SLACK_M:g}; 0 = the "
                        "nearest only)")
    s.add_argument("--keep-all-components", action="store_true",
                   help="keep every connected part of the network, not only the largest")
    s.add_argument("--no-cache", action="store_true", help="rebuild the network from its source")
    add_hours_options(s)
    add_output_options(s)
    p.add_argument("--out", type=Path, required=out_default is None, default=out_default,
                   help=out_help + (f" (default {out_default})" if out_default else ""))
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only the result table (no progress, per-area table, counting "
                        "rule or station load; the files hold them all)")


def add_candidate_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--candidates", action="append", default=None,
                   help="shops (from the OSM file), nodes (thinned network nodes) or a "
                        "CSV/XLSX/GeoJSON of sites; repeat to mix (default shops)")
    g.add_argument("--candidates-crs", default=str(CoordSystem.WGS84), choices=words(CoordSystem),
                   help="wgs84, gcj02 or bd09")
    g.add_argument("--node-spacing-m", type=float, default=vocab.NODE_SPACING_M,
                   help=f"spacing of node candidates (default {vocab.NODE_SPACING_M:g})")
    g.add_argument("--shop-max-snap-m", type=float, default=vocab.SHOP_MAX_SNAP_M,
                   help="farthest a shop may be from a walkable street (default "
                        f"{vocab.SHOP_MAX_SNAP_M:g})")
    g.add_argument("--exclude", help="polygons (GeoJSON/GeoPackage) where no station may go")
    g.add_argument("--exclude-ids", help="candidate ids to leave out, comma-separated")
    g.add_argument("--time-limit", type=float, default=vocab.SITING_TIME_LIMIT_S,
                   help=f"seconds for the exact solver (default {vocab.SITING_TIME_LIMIT_S:g})")


def add_map_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("map display")
    g.add_argument("--basemap", choices=words(Basemap), default=str(Basemap.OSM),
                   help="osm (OpenStreetMap tiles), amap (Gaode tiles; overlays shifted to "
                        "GCJ-02) or blank (no network needed)")
    g.add_argument("--lang", choices=words(Lang), default=str(Lang.ZH),
                   help="labels (default zh)")
    g.add_argument("--data-date", help="date of the data, shown on the map (default today)")


def area_spec(args: argparse.Namespace) -> AreaSpec:
    """The area the options describe."""
    return AreaSpec(
        network=args.place or args.network, population=args.population,
        population_column=args.population_column, population_crs=args.population_crs,
        raster_density=args.raster_density, census=args.census, census_crs=args.census_crs,
        census_table=args.census_table, census_name_column=args.census_name_column,
        census_count_column=args.census_count_column, buildings_total=args.buildings_total,
        areas=args.areas, areas_crs=args.areas_crs, areas_name_column=args.areas_name_column,
        minutes=args.minutes, bands=args.bands, speed_kmh=args.speed_kmh, mode=args.mode,
        station_max_snap_m=args.station_max_snap_m,
        population_max_snap_m=args.population_max_snap_m,
        drop_far_population=args.drop_far_population,
        keep_all_components=args.keep_all_components, use_cache=not args.no_cache,
        snap_avoid=args.snap_avoid, snap_slack_m=args.snap_slack_m)


def candidate_spec(args: argparse.Namespace) -> CandidateSpec:
    return CandidateSpec(
        sources=tuple(args.candidates or ["shops"]), crs=args.candidates_crs,
        node_spacing_m=args.node_spacing_m, shop_max_snap_m=args.shop_max_snap_m,
        exclude=args.exclude,
        exclude_ids=tuple(i for i in (args.exclude_ids or "").split(",") if i))


def siting_spec(args: argparse.Namespace) -> SitingSpec:
    return SitingSpec(k=args.k, objective=args.objective, target=args.target,
                      first_weight=args.first_weight, method=args.method,
                      time_limit_s=args.time_limit)


def _weights(text: str) -> tuple[tuple[str, float], ...]:
    """``name=number,name=number`` as pairs."""
    pairs = []
    for part in (t.strip() for t in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            pairs.append((name.strip(), float(value)))
        except ValueError:
            sep = ""
        if not sep:
            msg = f"expected name=number pairs separated by commas, not {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
    return tuple(pairs)


def add_demand_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("demand (who the stations are for)")
    g.add_argument("--demand", choices=words(DemandKind), default=str(DemandKind.RESIDENTS),
                   help="count residents (the population layer, default), outdoor workers, "
                        "or a mix of both (--mix)")
    g.add_argument("--mix", type=_weights, default=vocab.MIX,
                   help="weights of the mix, e.g. residents=0.5,workers=0.5 (default); each "
                        "layer is rescaled to the residents' total, then weighted")
    g.add_argument("--workers", metavar="FILE",
                   help="worker counts (points or grid cells: CSV, XLSX, GeoJSON); without it "
                        "workers are estimated from the OSM places of --network")
    g.add_argument("--workers-column", help="name of the worker count column")
    g.add_argument("--workers-crs", default=str(CoordSystem.WGS84), choices=words(CoordSystem),
                   help="wgs84 (default), gcj02 or bd09")
    g.add_argument("--workers-total", type=float,
                   help="workers in the area (default for an OSM estimate: 6%% of the "
                        "residents); rescales a --workers table too")
    g.add_argument("--worker-weights", type=_weights, default=(),
                   help="weights of the OSM place classes, e.g. takeaway=2,office=0.5 "
                        "(defaults in circle15.geo.population.workers)")
    g.add_argument("--max-load", type=float,
                   help="flag stations that are the nearest for more than this many people")


def demand_spec(args: argparse.Namespace) -> DemandSpec:
    """The demand layer the options describe (residents when a command has no such options)."""
    from circle15.usecases.demand import DemandSpec

    if not hasattr(args, "demand"):
        return DemandSpec()
    return DemandSpec(demand=args.demand, workers=args.workers,
                      workers_column=args.workers_column, workers_crs=args.workers_crs,
                      workers_total=args.workers_total, worker_weights=args.worker_weights,
                      mix=args.mix)
