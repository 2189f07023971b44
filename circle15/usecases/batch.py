"""Many areas at once, on Dask distributed: every district of a city, every city of a
province.

Each area is one task. A task loads its network (from a shared file or the
cache, on the worker), cuts it to the area plus a halo
(:func:`circle15.geo.network.clip.halo_m`) so that stations and streets just outside
the boundary count exactly as in a whole-region run, places the stations near
the area and the people inside it, and computes coverage. People are counted
once, in the first area that contains them (assigned by the driver); stations
are reported in the area that contains them but serve across boundaries.
Failed tasks are retried; an area that still fails is reported by name with its
error, never dropped silently.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle15.geo.errors import InputError
from circle15.usecases.area import AreaSpec

if TYPE_CHECKING:
    from circle15.usecases.demand import DemandSpec

#: the columns every area's units table has
UNIT_COLUMNS = ("area", "unit", "lon", "lat", "population", "walk_min", "covered",
                "cross_covered")


@dataclass(frozen=True)
class AreaTask:
    """One area: a name, its polygon (WGS84 WKB; None = the whole network), and the
    inputs that are its own (a network, stations or people of its own, in
    manifest mode)."""

    name: str
    polygon_wkb: bytes | None
    spec: AreaSpec
    stations: str
    stations_crs: str = "wgs84"
    #: the people the driver assigned to this area: (ids, lon, lat, count)
    people: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None
    #: where a task notes each attempt (for the report and the retry test)
    attempts_dir: str | None = None
    #: a moment: only the stations open then count (``'Tu 02:00'``), and how unknown
    #: hours count
    at: str | None = None
    unknown_hours: str = "open"
    #: gaps per area (hexagons of this size, metres; None: not asked) and the best
    #: ``sites`` new sites per area among its thinned network nodes (0: not asked)
    gaps_hex_m: float | None = None
    sites: int = 0


@dataclass(frozen=True)
class AreaResult:
    name: str
    units: pd.DataFrame
    summary: pd.DataFrame
    stations: pd.DataFrame
    seconds: float
    nodes: int
    #: gap areas and proposed sites of this area (WGS84 lon/lat), when asked
    gaps: pd.DataFrame | None = None
    sites: pd.DataFrame | None = None


@dataclass(frozen=True)
class BatchResult:
    results: tuple[AreaResult, ...]
    #: area name -> error message, for areas that failed after their retries
    failed: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    outside_people: float = 0.0


def run_area(task: AreaTask) -> AreaResult:
    """Coverage of one area on its network cut to the area plus the halo."""
    from circle15.geo.coverage.count import CROSS_COVERAGE, compute_coverage, summarise_counts
    from circle15.geo.inputs.stations import stations_from_table
    from circle15.geo.inputs.tables import read_table
    from circle15.geo.network.clip import clip_network, halo_m
    from circle15.geo.population.points import PopulationTable
    from circle15.usecases.area import load_population
    from circle15.usecases.questions import open_at

    t0 = time.perf_counter()
    if task.attempts_dir:
        Path(task.attempts_dir, f"{task.name}.{os.getpid()}.{time.time_ns()}").touch()
    spec = task.spec
    rule = spec.snap_rule()
    settings = spec.coverage_settings()
    whole = _worker_network(spec)
    station_r, edge_r = halo_m(limit_m=settings.limit_m,
                               population_max_snap_m=spec.population_max_snap_m,
                               station_max_snap_m=spec.station_max_snap_m,
                               slack_m=rule.slack_m)
    if task.polygon_wkb is None:
        net, area_m = whole, None
    else:
        area_ll = shapely.from_wkb(task.polygon_wkb)
        area_m = shapely.transform(area_ll, lambda xy: whole.project(xy[:, 0], xy[:, 1]))
        net = clip_network(whole, shapely.buffer(area_m, edge_r))
    # the stations that can reach someone in the area
    raw = read_table(task.stations)
    st_xy = net.project(raw.lon, raw.lat) if len(raw.lon) else np.empty((0, 2))
    if area_m is not None:
        near = np.flatnonzero(np.isfinite(st_xy).all(axis=1) & (
            shapely.distance(area_m, shapely.points(np.nan_to_num(st_xy))) <= station_r))
        raw = raw.take(near)
    if task.people is not None:
        ids, lon, lat, count = task.people
        table = PopulationTable(spec.population or "population", list(ids), lon, lat, count, ())
        pop = table.place(net, max_snap_m=spec.population_max_snap_m,
                          on_far="drop" if spec.drop_far_population else "error", rule=rule)
    else:  # an area of its own (manifest): its people from whatever source it names
        pop = load_population(spec, net)
    stations = (stations_from_table(raw, net, crs=task.stations_crs,
                                    max_snap_m=spec.station_max_snap_m, check_crs=False,
                                    rule=rule).active() if len(raw.lon) else None)
    if stations is not None and task.at:  # an area whose stations are all closed then
        stations = open_at(stations, task.at, task.unknown_hours)[0]  # counts no one
    if stations is None or len(stations) == 0:
        # no station within reach: everyone here is beyond the limit
        t = np.full(len(pop), np.inf)
        counts = np.zeros((len(settings.bands_min), len(pop)), dtype=np.int64)
        summary = summarise_counts(pop.count, counts, settings)
        st = pd.DataFrame(columns=["id", "population_reached", "population_nearest"])
        inside = np.zeros(0, dtype=bool)
    else:
        cov = compute_coverage(net, stations, pop, settings=settings)
        extras = _gaps_and_sites(task, cov, area_m)
        t = cov.nearest.target_dist_m / settings.metres_per_minute
        counts = cov.unit_count
        summary = cov.summary()
        st = cov.stations_frame().drop(columns="geometry")
        inside = (shapely.covers(area_m, shapely.points(shapely.get_coordinates(
            cov.stations.frame.geometry.to_numpy()))) if area_m is not None
            else np.ones(len(st), dtype=bool))
    units = pd.DataFrame({
        "area": task.name, "unit": pop.frame["unit"].to_numpy(),
        "lon": pop.frame["lon"].to_numpy(), "lat": pop.frame["lat"].to_numpy(),
        "population": pop.count,
        # within the limit, as exact as a whole-region run; beyond it, not searched
        "walk_min": np.where(np.isfinite(t), t, np.nan),
        "covered": counts[-1] >= 1, "cross_covered": counts[-1] >= CROSS_COVERAGE,
    })
    for j, b in enumerate(settings.bands_min):
        units[f"stations_{b:g}min"] = counts[j]
    summary = pd.DataFrame(summary)
    summary.insert(0, "area", task.name)
    st["in_area"] = inside
    st.insert(0, "area", task.name)
    gaps, sites = extras if stations is not None and len(stations) else (None, None)
    return AreaResult(task.name, units, pd.DataFrame(summary), pd.DataFrame(st),
                      time.perf_counter() - t0, net.n_nodes, gaps, sites)


def _gaps_and_sites(task: AreaTask, cov: Any, area_m: Any
                    ) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The area's gap areas and its best new sites (nodes inside the area), when asked:
    the same use of find_gaps and site as ``circle15 gaps`` and ``circle15 site``."""
    from circle15.geo.coverage.gaps import find_gaps
    from circle15.geo.errors import SitingError
    from circle15.geo.siting.candidates import candidates_from_nodes
    from circle15.usecases.planning import SitingSpec, site

    gaps = sites = None
    if task.gaps_hex_m is not None:
        found = find_gaps(cov, hex_m=task.gaps_hex_m, merge=True)
        gaps = pd.DataFrame(found.drop(columns="geometry"))
        gaps.insert(0, "area", task.name)
    if task.sites > 0:
        cands = candidates_from_nodes(cov.network, spacing_m=100.0)
        if area_m is not None:
            xy = shapely.get_coordinates(cands.frame.geometry.to_numpy())
            cands = cands.select(shapely.contains_xy(area_m, xy[:, 0], xy[:, 1]))
        try:
            best = site(cov, cands, SitingSpec(k=task.sites, method="greedy")).best
            sites = pd.DataFrame(best.sites_frame().drop(columns="geometry"))
            sites.insert(0, "area", task.name)
        except SitingError as exc:  # nobody left to cover here: said, not failed
            sites = pd.DataFrame([{"area": task.name, "note": str(exc)}])
    return gaps, sites


_NETWORKS: dict[tuple[str, bool], Any] = {}
_NETWORKS_LOCK = threading.Lock()


def _worker_network(spec: AreaSpec) -> Any:
    """The whole network, loaded once per worker process and kept for its next areas."""
    from circle15.usecases.area import load_network_of

    key = (spec.network_source, spec.keep_all_components)
    with _NETWORKS_LOCK:
        if key not in _NETWORKS:
            if len(_NETWORKS) >= 2:  # a worker moving on to other regions
                _NETWORKS.clear()
            _NETWORKS[key] = load_network_of(spec)
        return _NETWORKS[key]


def assign_people(areas: gpd.GeoDataFrame, spec: AreaSpec,
                  demand: DemandSpec | None = None
                  ) -> tuple[dict[int, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]],
                             float]:
    """Each unit of the demand layer to the first area that contains it; the people in
    none. The layer is loaded as ``circle15 coverage`` loads it (the same area loader:
    a points table, a GeoTIFF, census polygons, buildings; residents, workers or the
    mix), so the areas' totals add up to the whole region's."""
    from circle15.geo.coverage.count import first_area
    from circle15.usecases.area import load_area
    from circle15.usecases.demand import DemandSpec, load_demand

    region = load_area(replace(spec, areas=None))
    layers = load_demand(region, demand or DemandSpec())
    frame = layers.layers[layers.primary].frame
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    count = frame["population"].to_numpy(float)
    ids = frame["unit"].astype(str).tolist()
    # in the network's metric frame, as coverage's per-area table places its units, so
    # that a unit near a border lands in the same area both ways
    metric = gpd.GeoSeries(shapely.make_valid(areas.to_crs(4326).geometry.to_numpy()),
                           crs=4326).to_crs(region.network.crs)
    p_idx, a_idx = first_area(frame.geometry.to_numpy(), metric.to_numpy())
    out = {}
    for a in range(len(areas)):
        rows = p_idx[a_idx == a]
        out[a] = ([ids[i] for i in rows], lon[rows], lat[rows], count[rows])
    outside = np.ones(len(ids), dtype=bool)
    outside[p_idx] = False
    return out, float(count[outside].sum())


def area_tasks(areas: gpd.GeoDataFrame, *, name_column: str, spec: AreaSpec, stations: str,
               stations_crs: str = "wgs84", attempts_dir: str | None = None,
               demand: DemandSpec | None = None, at: str | None = None,
               unknown_hours: str = "open") -> tuple[list[AreaTask], float]:
    """One task per area polygon, with the demand units inside it."""
    areas = areas.to_crs(4326)
    people, outside = assign_people(areas, spec, demand)
    tasks = [AreaTask(str(name), shapely.to_wkb(geom), spec, stations, stations_crs,
                      people[i], attempts_dir, at, unknown_hours)
             for i, (name, geom) in enumerate(zip(areas[name_column], areas.geometry,
                                                  strict=True))]
    return tasks, outside


def manifest_tasks(path: str | Path, *, spec: AreaSpec, attempts_dir: str | None = None,
                   at: str | None = None, unknown_hours: str = "open") -> list[AreaTask]:
    """One task per row of a manifest (name, network, stations, population): each area
    a whole extract or place with inputs of its own."""
    table = pd.read_csv(path, dtype=str).fillna("")
    missing = [c for c in ("name", "network", "stations", "population") if c not in table]
    if missing:
        raise InputError(str(path), f"the manifest needs columns name, network, stations, "
                                    f"population; missing {', '.join(missing)}")
    base = Path(path).parent
    tasks = []
    for row in table.to_dict("records"):
        def here(value: str) -> str:
            p = Path(value)
            return str(p if p.is_absolute() or not (base / p).exists() else base / p)

        area_spec = replace(spec, network=here(row["network"]),
                            population=here(row["population"]))
        tasks.append(AreaTask(row["name"], None, area_spec, here(row["stations"]),
                              row.get("stations_crs") or "wgs84", None, attempts_dir, at,
                              unknown_hours))
    return tasks


def local_cluster(workers: int, *, threads_per_worker: int = 1, memory_limit: str = "auto",
                  local_directory: str | None = None) -> Any:
    """A Dask cluster on this machine that serves nothing over HTTP: its scheduler's HTTP
    server (which Dask always starts, dashboard or not) has no routes (no /info, no
    /eventstream) and listens on loopback only, on a free port; its workers likewise."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.http.routes": [],
                          "distributed.worker.http.routes": []}):
        return LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker,
                            memory_limit=memory_limit, processes=True, host="127.0.0.1",
                            dashboard_address="127.0.0.1:0", worker_dashboard_address=None,
                            scheduler_kwargs={"dashboard": False},
                            local_directory=local_directory,
                            silence_logs=logging.WARNING)


def run_batch(tasks: list[AreaTask], *, scheduler: str | None = None, workers: int = 2,
              threads_per_worker: int = 1, memory_limit: str = "auto", retries: int = 2,
              progress: Callable[[str], None] | None = None, outside_people: float = 0.0,
              ) -> BatchResult:
    """Run every area on Dask: a LocalCluster, or the cluster at ``scheduler``."""
    from distributed import Client, as_completed

    cluster, scratch = None, ""
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if scheduler:
        client = Client(scheduler)
    else:
        scratch = tempfile.mkdtemp(prefix="circle15-dask-")  # spill space, removed after
        cluster = local_cluster(workers, threads_per_worker=threads_per_worker,
                                memory_limit=memory_limit, local_directory=scratch)
        client = Client(cluster)
    results, failed = [], {}
    try:
        futures = {client.submit(run_area, t, key=f"area-{i}-{t.name}", retries=retries,
                                 pure=False): t.name for i, t in enumerate(tasks)}
        for done, fut in enumerate(as_completed(futures), start=1):
            name = futures[fut]
            if fut.status == "error":
                exc = fut.exception()
                failed[name] = f"{type(exc).__name__}: {exc}"
                msg = f"failed: {failed[name]}"
            else:
                res: AreaResult = fut.result()
                results.append(res)
                msg = f"{res.units['population'].sum():,.0f} people, {res.seconds:.1f} s"
            if progress is not None:
                progress(f"[{done}/{len(tasks)}] {name}: {msg}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
            shutil.rmtree(scratch, ignore_errors=True)
    order = {t.name: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order[r.name])
    attempts = _count_attempts(tasks)
    return BatchResult(tuple(results), failed, attempts, outside_people)


def _count_attempts(tasks: list[AreaTask]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tasks:
        if t.attempts_dir:
            out[t.name] = len(list(Path(t.attempts_dir).glob(f"{t.name}.*")))
    return out
