"""Demand layers: residents, outdoor workers, or a mix of them, and their coverage
side by side.

- ``residents``: the area's population layer (as loaded by :mod:`.area`);
- ``workers``: a planner's table of worker counts (``--workers``) or an
  estimate from the OSM extract's gathering places
  (:mod:`circle15.geo.population.workers`), scaled to ``--workers-total`` (default 6 %
  of the residents);
- ``mix``: one layer holding both, in resident-equivalents. Each layer is
  rescaled to the residents' total, then weighted by its share of the mix
  weights (normalised to sum to 1): a resident counts ``w_r`` and a worker
  ``w_w × residents / workers``. The mix therefore totals the residents, and
  its covered share is the weighted mean of the layers' covered shares, so
  ``residents=0.5,workers=0.5`` gives the workers as much say as the
  residents however few they are.

Every layer goes through the same coverage, gaps and siting; this module
swaps the area's population for the chosen layer (:meth:`Demand.area_for`)
and joins the layers' tables side by side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from circle15.geo.coverage.count import Areas, Coverage
from circle15.geo.errors import InputError, SettingsError, ref
from circle15.geo.population.points import Population
from circle15.geo.population.workers import DEFAULT_WORKERS_RATIO, WorkerSources
from circle15.geo.snapping.snap import Snapped
from circle15.geo.vocab import MIX, DemandKind, words
from circle15.usecases.area import Area, Step

if TYPE_CHECKING:
    from circle15.geo.siting import SitingResult

DEMANDS = words(DemandKind)


def _quiet(_: str) -> None:
    return None


DEFAULT_MIX = MIX


@dataclass(frozen=True)
class DemandSpec:
    """Which demand layer to count, and where the workers come from."""

    demand: str = "residents"
    workers: str | None = None
    workers_column: str | None = None
    workers_crs: str = "wgs84"
    workers_total: float | None = None
    worker_weights: tuple[tuple[str, float], ...] = ()
    mix: tuple[tuple[str, float], ...] = DEFAULT_MIX

    def __post_init__(self) -> None:
        if self.demand not in DEMANDS:
            raise SettingsError(f"{ref('demand')} must be one of {', '.join(DEMANDS)}, "
                                f"not {self.demand!r}")
        for name, w in self.mix:
            if name not in ("residents", "workers"):
                raise SettingsError(f"{ref('mix')} takes residents=W,workers=W, not {name!r}")
            if not (np.isfinite(w) and w >= 0):
                raise SettingsError(f"{ref('mix')} weight of {name} must be a number >= 0, not {w}")
        if sum(w for _, w in self.mix) <= 0:
            raise SettingsError(f"{ref('mix')} weights must not all be 0")
        if self.workers_total is not None and not (np.isfinite(self.workers_total)
                                                   and self.workers_total > 0):
            raise SettingsError(f"{ref('workers_total')} must be a positive number, "
                                f"not {self.workers_total}")

    @property
    def wants_workers(self) -> bool:
        return (self.demand != "residents" or self.workers is not None
                or self.workers_total is not None)

    def mix_weights(self) -> dict[str, float]:
        """The mix weights normalised to sum to 1 (a layer not named weighs 0)."""
        given = dict(self.mix)
        total = sum(given.values())
        return {k: given.get(k, 0.0) / total for k in ("residents", "workers")}


@dataclass(frozen=True, eq=False)
class Demand:
    """The demand layers loaded for an area, and which one is counted."""

    layers: dict[str, Population]
    primary: str
    notes: dict[str, str] = field(default_factory=dict)
    worker_sources: WorkerSources | None = None
    #: the layers' coverage by the last stations asked for (see :func:`cover_layers`)
    _covered: dict[str, Coverage] = field(default_factory=dict, repr=False)

    def area_for(self, area: Area, name: str | None = None) -> Area:
        """``area`` with its population swapped for the layer ``name`` (the primary one)."""
        return dataclasses.replace(area, population=self.layers[name or self.primary])

    def lines(self) -> list[str]:
        """What a reader needs to know about the layers, one line each."""
        return [f"{k.replace('_', ' ')}: {v}" for k, v in self.notes.items()]


def _scaled(pop: Population, factor: float, *, rule: str | None = None) -> Population:
    frame = pop.frame.copy()
    frame["population"] = frame["population"].to_numpy(float) * factor
    return Population(frame, pop.snapped, pop.source, pop.dropped_units,
                      pop.dropped_population * factor, rule or pop.rule)


def load_workers(area: Area, spec: DemandSpec) -> tuple[Population, str, WorkerSources | None]:
    """The worker layer of ``area``: from the table, or estimated from the OSM file."""
    from circle15.geo.population.workers import (
        estimate_workers,
        place_workers,
        read_worker_places,
        read_workers_table,
    )

    net, aspec = area.network, area.spec
    snap, rule = aspec.population_max_snap_m, aspec.snap_rule()
    if spec.workers:
        table = read_workers_table(spec.workers, column=spec.workers_column,
                                   crs=spec.workers_crs)
        pop = place_workers(table, net, crs=spec.workers_crs, max_snap_m=snap, rule=rule,
                            on_far="drop" if aspec.drop_far_population else "error")
        text = (f"workers from {spec.workers} ({len(pop):,} points or cells, "
                f"{pop.total:,.0f} workers, {spec.workers_crs})")
        if spec.workers_total is not None:
            text += f", rescaled to --workers-total {spec.workers_total:,.0f}"
            pop = _scaled(pop, spec.workers_total / pop.total)
        return pop, text, None
    source = aspec.network_source
    if not Path(source).is_file():
        raise InputError("workers", f"workers are estimated from an OSM file: give "
                         f"{ref('network')} FILE, or a table of worker counts with "
                         f"{ref('workers')}")
    residents = area.population.total
    if spec.workers_total is not None:
        total, total_from = spec.workers_total, "--workers-total"
    else:
        total = DEFAULT_WORKERS_RATIO * residents
        total_from = (f"{DEFAULT_WORKERS_RATIO:.0%} of the {residents:,.0f} residents, the "
                      "national ratio of new-employment-form workers; set --workers-total")
    est, sources = estimate_workers(read_worker_places(source), net, total=total,
                                    total_from=total_from, weights=dict(spec.worker_weights),
                                    source=source)
    pop = est.place(net, max_snap_m=snap, rule=rule)
    if pop.dropped_units:  # places beyond the streets: the rest carry the total
        pop = _scaled(pop, total / pop.total)
    return pop, sources.describe(), sources


def mix_layer(residents: Population, workers: Population,
              weights: Mapping[str, float]) -> Population:
    """Residents and workers in one layer, in resident-equivalents (module docstring)."""
    if residents.total <= 0 or workers.total <= 0:
        raise InputError("mix", "a mix needs residents and workers with people in them")
    factor = {"residents": weights["residents"],
              "workers": weights["workers"] * residents.total / workers.total}
    frames = []
    for name, pop in (("residents", residents), ("workers", workers)):
        f = pop.frame.copy()
        f["population"] = f["population"].to_numpy(float) * factor[name]
        f["unit"] = [f"{name[0]}:{u}" for u in f["unit"]]
        f["layer"] = name
        frames.append(f)
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=residents.frame.crs)
    snapped = Snapped.concat([residents.snapped, workers.snapped])
    rule = (f"{residents.rule}; mix: residents × {factor['residents']:.4g} + workers × "
            f"{factor['workers']:.4g} (resident-equivalents)")
    return Population(frame, snapped, "mix", 0, 0.0, rule)


def load_demand(area: Area, spec: DemandSpec, *, step: Step = _quiet) -> Demand:
    """The layers ``spec`` asks for on ``area`` (residents always; workers and the mix
    when asked), with a note on each one's source and the weights."""
    layers = {"residents": area.population}
    notes = {"demand": spec.demand}
    sources = None
    if spec.wants_workers:
        workers, text, sources = load_workers(area, spec)
        layers["workers"] = workers
        notes["workers_source"] = text
        if sources is not None:
            notes["worker_weights"] = sources.weights_text()
        step(f"workers: {len(workers):,} units, {workers.total:,.0f} workers")
    if spec.demand == "mix":
        w = spec.mix_weights()
        layers["mix"] = mix_layer(layers["residents"], layers["workers"], w)
        notes["mix_weights"] = (f"residents={w['residents']:g}, workers={w['workers']:g} "
                                "(each layer rescaled to the residents' total, then weighted)")
    return Demand(layers, spec.demand, notes, sources)


def with_notes(cov: Coverage, demand: Demand) -> Coverage:
    """``cov`` with the demand notes added to its notes (written into summary files)."""
    return cov.with_notes(demand.notes)


def cover_layers(area: Area, stations_cov: Coverage, demand: Demand) -> dict[str, Coverage]:
    """Coverage of every layer by the stations of ``stations_cov`` (reused for its own
    layer), in the order residents, workers, mix."""
    from circle15.geo.coverage.count import compute_coverage

    done = demand._covered
    if done and all(c.stations is stations_cov.stations and c.settings == stations_cov.settings
                    for c in done.values()) and done.keys() == demand.layers.keys():
        return dict(done)  # asked again for the same stations (tables, hours, load)
    out = {}
    for name, pop in demand.layers.items():
        if pop is stations_cov.population:
            out[name] = stations_cov
        else:
            out[name] = compute_coverage(area.network, stations_cov.stations, pop,
                                         settings=stations_cov.settings)
    done.clear()
    done.update(out)
    return out


def _layer_columns(name: str, table: pd.DataFrame) -> dict[str, np.ndarray]:
    return {name: table["population"].to_numpy(float).round(1),
            f"{name}_covered": table["covered"].to_numpy(float).round(1),
            f"{name}_covered_share": table["covered_share"].to_numpy(float).round(4),
            f"{name}_cross": table["cross_covered"].to_numpy(float).round(1),
            f"{name}_cross_share": table["cross_share"].to_numpy(float).round(4)}


def side_by_side(covs: Mapping[str, Coverage]) -> pd.DataFrame:
    """One row per time band; for each layer its total, covered and cross-covered."""
    first = next(iter(covs.values()))
    out = pd.DataFrame({"minutes": list(first.settings.bands_min)})
    for name, cov in covs.items():
        for col, values in _layer_columns(name, cov.summary()).items():
            out[col] = values
    return out


def areas_side_by_side(covs: Mapping[str, Coverage], areas: Areas) -> gpd.GeoDataFrame:
    """One row per admin area (within the service limit); for each layer its total,
    covered and cross-covered."""
    out: gpd.GeoDataFrame | None = None
    for name, cov in covs.items():
        table = cov.by_area(areas)
        if out is None:
            out = table[["name", "geometry"]].copy()
        for col, values in _layer_columns(name, table).items():
            out[col] = values
    assert out is not None
    return out


def format_side_by_side(table: pd.DataFrame, *, title: str, label: str = "name") -> str:
    """A side-by-side table as text: per layer its total and covered/cross shares."""
    from circle15.geo.output.export import display_width

    layers = [c for c in table.columns if f"{c}_covered" in table.columns]
    labels = ([f"within {m:g} min" for m in table["minutes"]] if label == "minutes"
              else [str(v) for v in table[label]])
    width = max(16, *(display_width(s) + 1 for s in labels))
    head = "".join(f"{name:>12}{'cov %':>8}{'cross %':>9}" for name in layers)
    lines = [title, " " * width + head]
    for i, text in enumerate(labels):
        cells = "".join(f"{table[n].iloc[i]:>12,.0f}"
                        f"{table[f'{n}_covered_share'].iloc[i] * 100:>8.1f}"
                        f"{table[f'{n}_cross_share'].iloc[i] * 100:>9.1f}" for n in layers)
        lines.append(text + " " * (width - display_width(text)) + cells)
    return "\n".join(lines)


def report_demand(out_dir: Path, area: Area, cov: Coverage, demand: Demand, *,
                  max_load: float | None = None, out_crs: str = "wgs84",
                  step: Step = _quiet) -> str:
    """Write ``stations.csv`` (station load; lon/lat in ``out_crs``), ``demand.csv``
    (the layers side by side per band), ``areas-demand.csv`` (per area) and
    ``workers-sources.csv`` (an estimate's classes and weights) into ``out_dir``, with
    ``stations-report.xlsx`` holding the same tables; return the text to print."""
    from circle15.geo.coverage.load import format_load, station_load
    from circle15.geo.output.export import write_frames

    covs = cover_layers(area, cov, demand)
    load = station_load(covs, max_load=max_load)
    tables: dict[str, pd.DataFrame] = {}
    parts = []
    if len(covs) > 1:
        both = side_by_side(covs)
        for key, value in demand.notes.items():
            both[key] = value
        tables["demand"] = both
        parts.append(format_side_by_side(both, title="Demand layers side by side",
                                         label="minutes"))
        if area.areas is not None:
            per_area = areas_side_by_side(covs, area.areas)
            tables["areas-demand"] = per_area.drop(columns="geometry")
            parts.append(format_side_by_side(
                per_area, title=f"By area, within {cov.settings.minutes:g} min"))
    if demand.worker_sources is not None:
        tables["workers-sources"] = demand.worker_sources.table
    parts.append(format_load(load, max_load=max_load))
    people = [c for c in load.columns
              if str(c).endswith(("_nearest", "_reached", "_assigned")) or c == "load"]
    stations = load.round(dict.fromkeys(people, 1))
    written = write_frames(out_dir, "stations", {"stations": stations}, tables=tables,
                           out_crs=out_crs,
                           report={"stations": stations.drop(columns="geometry"), **tables})
    step("wrote " + ", ".join(str(p) for p in written))
    return "\n\n".join(parts)


def station_loads(area: Area, cov: Coverage, demand: Demand, *,
                  max_load: float | None = None) -> list[dict[str, object]]:
    """Each station's load as plain dicts (id, name, lon/lat in WGS84, per layer
    ``{layer}_nearest``/``_nearest_share``/``_reached``, ``load``, ``load_share``,
    ``overloaded``, ``load_rank``): the per-station fields for the planner map's
    popups and for JSON answers."""
    from circle15.geo.coverage.load import station_load, station_load_records

    return station_load_records(station_load(cover_layers(area, cov, demand),
                                             max_load=max_load))


def sites_by_layer(area: Area, cov: Coverage, demand: Demand,
                   result: SitingResult) -> pd.DataFrame | None:
    """What the chosen sites do for every demand layer (None with one layer): per layer,
    its total and the people covered and cross-covered within the limit before and after
    the sites are added to the stations of ``cov``."""
    from circle15.geo.coverage.count import compute_coverage
    from circle15.geo.inputs.stations import Stations

    if len(demand.layers) < 2:
        return None
    chosen = np.asarray(result.chosen, dtype=np.int64)
    sites = result.candidates.frame.iloc[chosen]
    frame = pd.concat([cov.stations.frame,
                       sites[["id", "name", "lon", "lat", "geometry"]].assign(status="planned")],
                      ignore_index=True)
    after = Stations(gpd.GeoDataFrame(frame, geometry="geometry", crs=cov.stations.frame.crs),
                     Snapped.concat([cov.stations.snapped,
                                     result.candidates.snapped.take(chosen)]),
                     source="stations and new sites")
    rows = []
    for name, before in cover_layers(area, cov, demand).items():
        new = compute_coverage(area.network, after, before.population, settings=cov.settings)
        b, a = before.bands()[-1], new.bands()[-1]
        rows.append({"layer": name, "population": b.population,
                     "covered_before": b.covered, "covered_after": a.covered,
                     "before_covered_share": b.covered_share,
                     "after_covered_share": a.covered_share,
                     "cross_before": b.cross_covered, "cross_after": a.cross_covered})
    return pd.DataFrame(rows)


def format_sites_by_layer(table: pd.DataFrame) -> str:
    lines = [f"{'layer':<10}{'people':>12}{'covered':>22}{'cross-covered':>22}"]
    for _, r in table.iterrows():
        lines.append(f"{r['layer']:<10}{r['population']:>12,.0f}"
                     f"{r['covered_before']:>10,.0f} -> {r['covered_after']:>8,.0f}"
                     f"{r['cross_before']:>10,.0f} -> {r['cross_after']:>8,.0f}")
    return "\n".join(lines)


_MAP_WORDS = {
    "zh": {"residents": "居民", "workers": "户外劳动者", "mix": "加权需求",
           "nearest": "以本站为最近", "load": "负荷（人）", "overloaded": "超负荷", "yes": "是"},
    "en": {"residents": "residents", "workers": "workers", "mix": "mix", "nearest": "nearest here",
           "load": "load (people)", "overloaded": "overloaded", "yes": "yes"},
}


def station_map_fields(area: Area, cov: Coverage, demand: Demand, *,
                       max_load: float | None = None, lang: str = "zh"
                       ) -> dict[str, list[object]]:
    """Per-station popup fields for the planner map (``station_fields``): each layer's
    people whose nearest station it is (with several layers), the load with its share,
    and the overload flag when ``max_load`` is set."""
    from circle15.geo.coverage.load import station_load

    words = _MAP_WORDS.get(lang, _MAP_WORDS["en"])
    table = station_load(cover_layers(area, cov, demand), max_load=max_load)
    fields: dict[str, list[object]] = {}
    if len(demand.layers) > 1:
        for name in demand.layers:
            fields[f"{words[name]} · {words['nearest']}"] = [
                f"{v:,.0f}" for v in table[f"{name}_nearest"]]
    fields[words["load"]] = [f"{v:,.0f} ({s:.1%})" for v, s in
                             zip(table["load"], table["load_share"], strict=True)]
    if max_load is not None:
        fields[words["overloaded"]] = [f"⚠ {words['yes']} (> {max_load:,.0f})" if o else ""
                                       for o in table["overloaded"]]
    return fields
