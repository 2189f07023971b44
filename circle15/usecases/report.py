"""The committee report's numbers: where coverage stands, what the proposal changes, why
these sites, what remains at night. Every figure comes from the use cases the CLI and
the service answer with; the report's pages (:mod:`circle15.maps.report`) only show it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from circle15.geo.coverage.count import Coverage, compute_coverage
from circle15.geo.inputs.stations import Stations
from circle15.geo.population.points import Population
from circle15.geo.snapping.snap import Snapped
from circle15.geo.vocab import NIGHT_AT
from circle15.usecases.area import Area, cover, population_caveats
from circle15.usecases.demand import Demand
from circle15.usecases.planning import SitingOutcome
from circle15.usecases.questions import hours_of_day, open_at


@dataclass(frozen=True)
class ReportData:
    """What the report says, as plain tables and values."""

    title: str
    day: date
    source: str
    stations: int
    now: pd.DataFrame
    after: pd.DataFrame | None
    towns: pd.DataFrame | None
    sites: pd.DataFrame | None
    curve: pd.DataFrame | None
    night_at: str
    night: pd.DataFrame
    night_open: int
    open_24h: int
    hours: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: for the district map: towns (WGS84 with covered shares), stations and sites
    map_towns: Any = None
    map_stations: pd.DataFrame | None = None
    #: the stations the proposal counts (a scenario's), when it is not the register's
    proposal_stations: int | None = None
    #: each proposed site's 15-minute walking area (WGS84; ``rank``), for its small map
    site_areas: Any = None
    #: the network file's own streets and water (:class:`circle15.maps.basemap.Basemap`),
    #: drawn under the maps as on the planner map; None when the network is not a file
    streets: Any = None
    #: the number of sites from which each adds less than half of what the first did
    #: (where the k-curve's returns fall off); None when they never do
    falloff: int | None = None
    #: with a worker layer: each demand layer's people, covered and cross-covered at the
    #: limit, now and with the proposal (``layer`` residents / workers / mix)
    layers: pd.DataFrame | None = None


def with_sites(area: Area, cov: Coverage, outcome: SitingOutcome) -> Coverage:
    """Coverage by the stations and the proposed sites together."""
    import geopandas as gpd

    chosen = np.asarray(outcome.best.chosen, dtype=np.int64)
    sites = outcome.candidates.frame.iloc[chosen]
    frame = pd.concat([cov.stations.frame, sites[["id", "name", "lon", "lat", "geometry"]]
                       .assign(status="existing")], ignore_index=True)
    both = Stations(gpd.GeoDataFrame(frame, geometry="geometry", crs=cov.stations.frame.crs),
                    Snapped.concat([cov.stations.snapped,
                                    outcome.candidates.snapped.take(chosen)]),
                    source="stations and proposed sites")
    return compute_coverage(area.network, both, cov.population, settings=cov.settings)


def _town_table(area: Area, now: Coverage, after: Coverage | None) -> pd.DataFrame | None:
    if area.areas is None:
        return None
    a = now.by_area(area.areas)
    out = pd.DataFrame({"town": area.areas.labels("zh"), "population": a["population"],
                        "covered": a["covered"], "cross": a["cross_covered"]})
    inside = area.areas.frame.geometry.to_numpy()
    pts = now.stations.frame.geometry.to_numpy()
    out["stations"] = [int(sum(bool(g.covers(p)) for p in pts)) for g in inside]
    if after is not None:
        b = after.by_area(area.areas)
        out["covered_after"] = b["covered"].to_numpy()
        out["cross_after"] = b["cross_covered"].to_numpy()
        out["change"] = out["covered_after"] - out["covered"]
    out["share"] = np.where(out["population"] > 0, out["covered"] / out["population"], np.nan)
    return out.reset_index(drop=True)


def _site_rows(area: Area, cov: Coverage, sites: pd.DataFrame) -> pd.DataFrame:
    """Each proposed site (``rank``, ``name``, ``lon``, ``lat``, ``newly_covered``, points
    in the network's frame) with its town and the nearest existing station's walk."""
    from circle15.geo.courier.nearest import NearestIndex
    from circle15.geo.coverage.count import first_area

    index = NearestIndex.build(cov, rule=area.spec.snap_rule())
    nearest, walk = [], []
    for lon, lat in zip(sites["lon"], sites["lat"], strict=True):
        found = index.answer(float(lon), float(lat), k=1).stations
        nearest.append(found[0].id if found else "")
        walk.append(round(found[0].walk_min, 1) if found else np.nan)
    towns = [""] * len(sites)
    if area.areas is not None:
        s_idx, a_idx = first_area(sites.geometry.to_numpy(), area.areas.frame.geometry.to_numpy())
        labels = area.areas.labels("zh")
        for s, a in zip(s_idx.tolist(), a_idx.tolist(), strict=True):
            towns[s] = labels[a]
    return pd.DataFrame({"rank": sites["rank"], "id": sites["id"].astype(str),
                         "name": sites["name"], "town": towns,
                         "newly_covered": sites["newly_covered"], "nearest": nearest,
                         "walk_min": walk, "lon": sites["lon"], "lat": sites["lat"]})


def build_report(area: Area, demand: Demand, stations: Stations, cov: Coverage,
                 outcome: SitingOutcome | None, *, title: str,
                 night_at: str = NIGHT_AT) -> ReportData:
    """Gather the report's numbers (see the module docstring): the stations now, and
    with the sites ``outcome`` proposes."""
    after = with_sites(area, cov, outcome) if outcome is not None else None
    notes: list[str] = []
    if outcome is not None:
        best = outcome.best
        if best.gap is not None and best.gap > 0:
            notes.append(f"the proposed sites are within {best.gap:.1%} of the best possible "
                         "(a proven bound), not proven the best")
        notes.extend(best.notes)
    sites = None if outcome is None else _site_rows(area, cov, _ranked(outcome))
    return _assemble(area, demand, stations, cov, after, sites,
                     None if outcome is None else outcome.curve, notes, title, night_at)


def build_scenario_report(area: Area, demand: Demand, stations: Stations, cov: Coverage,
                          proposal: Stations, added: list[str], removed: list[str], *,
                          gains: pd.DataFrame, title: str, base_covered: float,
                          night_at: str = NIGHT_AT) -> ReportData:
    """The report for a scenario: the register (``stations``, ``cov``) now, and with the
    scenario's station list ``proposal``; its ``added`` stations are the proposed sites,
    each with the people it newly covers when added in the scenario's order (``gains``:
    ``id``, ``newly_covered``, ``covered`` after it, from the workbench's evaluation;
    ``base_covered``: the scenario's coverage without its additions, where the k-curve
    starts)."""
    after = cover(area, proposal)
    frame = proposal.frame.set_index("id").loc[added].reset_index()
    order = gains.set_index("id").loc[added]
    rows = frame.assign(rank=np.arange(1, len(added) + 1),
                        newly_covered=order["newly_covered"].to_numpy())
    notes = [f"the scenario removes {len(removed)} existing station(s): {', '.join(removed)}"
             ] if removed else []
    curve = pd.DataFrame({"k": np.arange(len(added) + 1),
                          "covered": [base_covered, *order["covered"].tolist()]}
                         ) if added else None
    data = _assemble(area, demand, stations, cov, after,
                     _site_rows(area, cov, rows) if added else None, curve, notes, title,
                     night_at)
    return dataclasses.replace(data, proposal_stations=len(proposal.active()))


def _site_areas(after: Coverage, sites: pd.DataFrame) -> Any:
    """Each proposed site's 15-minute walking area (WGS84), with its rank."""
    from circle15.geo.coverage.isochrones import isochrones

    ids = after.stations.frame["id"].astype(str).tolist()
    where = {sid: i for i, sid in enumerate(ids)}
    rank = dict(zip(sites["id"], sites["rank"], strict=True))
    positions = [where[sid] for sid in sites["id"] if sid in where]
    if not positions:
        return None
    iso = isochrones(after, union=False, stations=positions)
    iso = iso[iso["station"].isin(rank)]
    return iso.assign(rank=iso["station"].map(rank)).to_crs(4326)


def _cross_gains(after: Coverage, sites: pd.DataFrame) -> NDArray[np.float64]:
    """The people each proposed site newly cross-covers (reached by a second station),
    added in rank order to the stations without them, from ``after``'s reach."""
    ids = after.stations.frame["id"].astype(str).tolist()
    where = {sid: i for i, sid in enumerate(ids)}
    r, limit = after.reach, after.settings.limit_m
    within = r.dist_m <= limit
    counts = after.unit_count[-1].astype(np.int64).copy()
    reached = []
    for sid in sites["id"]:
        i = where.get(str(sid))
        units = (r.target[within & (r.source == i)] if i is not None
                 else np.empty(0, dtype=np.int64))
        reached.append(units)
        counts[units] -= 1  # the stations without the proposal
    weight = after.population.count
    out = []
    for units in reached:  # then each site in its rank, the ones before it in
        out.append(float(weight[units[counts[units] == 1]].sum()))
        counts[units] += 1
    return np.asarray(out)


def _layers(area: Area, demand: Demand, cov: Coverage, after: Coverage | None
            ) -> pd.DataFrame | None:
    """Outdoor workers beside residents (when a worker layer is loaded): every layer
    counted by the same stations, now and with the proposal."""
    if len(demand.layers) < 2:
        return None
    def counted(c: Coverage, people: Population) -> pd.Series:
        if c.population is people:
            return c.summary().iloc[-1]
        return compute_coverage(area.network, c.stations, people,
                                settings=c.settings).summary().iloc[-1]

    rows = []
    for name, people in demand.layers.items():
        now = counted(cov, people)
        row = {"layer": name, "population": float(now["population"]),
               "covered": float(now["covered"]), "cross": float(now["cross_covered"])}
        if after is not None:
            later = counted(after, people)
            row |= {"covered_after": float(later["covered"]),
                    "cross_after": float(later["cross_covered"])}
        rows.append(row)
    return pd.DataFrame(rows)


def _falloff(curve: pd.DataFrame | None) -> int | None:
    """From how many sites on each adds less than half of what the first did."""
    if curve is None or len(curve) < 3:
        return None
    gains = np.diff(curve["covered"].to_numpy(dtype=float))
    if gains.size == 0 or gains[0] <= 0:
        return None
    low = np.flatnonzero(gains < gains[0] / 2)
    return int(low[0]) + 1 if low.size else None


def _streets(area: Area) -> Any:
    """The network file's basemap (cached after its first read), or None."""
    from circle15.maps.basemap import load_basemap

    source = Path(area.network.source or "")
    return load_basemap(source) if area.network.source and source.is_file() else None


def _ranked(outcome: SitingOutcome) -> pd.DataFrame:
    sites = outcome.best.sites_frame()
    return sites.assign(newly_covered=sites["marginal_gain"])


def _assemble(area: Area, demand: Demand, stations: Stations, cov: Coverage,
              after: Coverage | None, sites: pd.DataFrame | None, curve: pd.DataFrame | None,
              extra: list[str], title: str, night_at: str) -> ReportData:
    site_areas = _site_areas(after, sites) if after is not None and sites is not None else None
    if after is not None and sites is not None:
        sites = sites.assign(newly_cross=_cross_gains(after, sites))
    night_st, moment = open_at(stations, night_at)
    night = (cover(area, night_st).summary() if len(night_st.active()) else
             cov.summary().assign(covered=0.0, cross_covered=0.0))
    hours = hours_of_day(area, cov, dataclasses.replace(demand, layers={
        demand.primary: cov.population}, _covered={}))
    whole = hours.table[hours.table["area"] == hours.table["area"].iloc[-1]]
    from circle15.geo.courier.navigation import open_all_day
    from circle15.geo.inputs.station_hours import Hours

    always = sum(open_all_day(Hours.read(str(h))) for h in stations.frame["opening_hours"])
    notes = [f"counting rule: {cov.population.rule}"]
    notes += [f"{k.replace('_', ' ')}: {v}" for k, v in demand.notes.items()]
    notes += population_caveats(area, cov.population)
    notes += extra
    towns = _town_table(area, cov, after)
    map_towns = None
    if area.areas is not None:
        shown = after if after is not None else cov
        t = shown.by_area(area.areas)
        map_towns = t.assign(share=np.where(t["population"] > 0,
                                            t["covered"] / t["population"], np.nan)).to_crs(4326)
    return ReportData(
        title=title, day=date.today(), stations=len(cov.stations),
        # the data by the file's name (a place name as it is), not a path on this machine
        source=Path(area.source).name if Path(area.source).is_file() else area.source,
        now=cov.summary(), after=None if after is None else after.summary(), towns=towns,
        sites=sites, curve=curve,
        night_at=(moment.opened.when.strftime("%a %H:%M") if moment else night_at),
        night=night, night_open=int(moment.opened.n_open) if moment else len(stations),
        open_24h=int(always), hours=whole[["time", "stations_open", *[
            c for c in whole.columns if c.startswith(("covered_", "cross_")) and
            c.endswith("_share")]]].reset_index(drop=True),
        notes=notes, map_towns=map_towns, site_areas=site_areas, streets=_streets(area),
        falloff=_falloff(curve), layers=_layers(area, demand, cov, after),
        map_stations=pd.DataFrame({"lon": cov.stations.frame["lon"],
                                   "lat": cov.stations.frame["lat"]}))
