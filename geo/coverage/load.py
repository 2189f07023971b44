"""Station load: how many people each station serves, per demand layer.

For each layer (residents, workers, a mix), each station gets

- ``{layer}_nearest``: the people whose nearest station it is, within the
  service limit (each covered person counted once, at the station they reach
  first), so these sum over the stations to the layer's covered total;
- ``{layer}_nearest_share``: that as a share of the layer's total (covered or
  not);
- ``{layer}_reached``: the people within its limit, whatever other stations
  also reach them (these sum to more than the covered total where people are
  cross-covered);
- ``{layer}_assigned``: the people whose nearest station it is at any walking
  distance (its catchment; these sum to the layer's total, less anyone no
  station can reach at all).

``load`` is the head count a station carries: the sum of ``*_nearest`` over
the people layers (residents and workers, not a mix, which would count them
again), ``load_share`` its share of those layers' total, and ``overloaded``
flags stations whose load is above ``max_load`` people.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from circle15.geo.coverage.count import Coverage
from circle15.geo.errors import InputError, SettingsError, ref

#: layers whose people are added up into a station's load (a mix is a weighting
#: of these, not more people)
PEOPLE_LAYERS = ("residents", "workers")


def _loads(cov: Coverage) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People per station: nearest within the limit, reached, nearest at any distance."""
    n = len(cov.stations)
    pop = cov.population.count
    reached = np.bincount(cov.reach.source, weights=pop[cov.reach.target], minlength=n)
    dist = cov.nearest.target_dist_m
    within = np.isfinite(dist) & (dist <= cov.settings.limit_m) & (cov.nearest.target_source >= 0)
    nearest = np.bincount(cov.nearest.target_source[within], weights=pop[within], minlength=n)
    src = cov.nearest_any.target_source
    assigned = np.bincount(src[src >= 0], weights=pop[src >= 0], minlength=n)
    return nearest, reached, assigned


def station_load(covs: Mapping[str, Coverage], *, max_load: float | None = None
                 ) -> gpd.GeoDataFrame:
    """One row per station: each layer's nearest/reached people, ``load`` and ``overloaded``.

    ``covs`` maps a layer name (``residents``, ``workers``, ``mix`` …) to its
    coverage by the same stations. Rows keep the stations' order; geometry in
    the network's CRS.
    """
    if not covs:
        raise SettingsError("station load needs the coverage of at least one demand layer")
    if max_load is not None and not (np.isfinite(max_load) and max_load > 0):
        raise SettingsError(f"{ref('max_load')} must be a positive number of people, "
                            f"not {max_load}")
    first = next(iter(covs.values()))
    ids = first.stations.ids
    for name, cov in covs.items():
        if cov.stations.ids != ids:
            raise InputError(name, "the demand layers were covered by different stations")
    keep = [c for c in ("id", "name", "status", "lon", "lat") if c in first.stations.frame]
    out = gpd.GeoDataFrame(first.stations.frame[keep].copy(),
                           geometry=first.stations.frame.geometry.to_numpy(),
                           crs=first.stations.frame.crs)
    load = np.zeros(len(ids))
    people_total = 0.0
    for name, cov in covs.items():
        nearest, reached, assigned = _loads(cov)
        total = cov.population.total
        out[f"{name}_nearest"] = nearest
        out[f"{name}_nearest_share"] = nearest / total if total else np.nan
        out[f"{name}_reached"] = reached
        out[f"{name}_assigned"] = assigned
        if name in PEOPLE_LAYERS:
            load += nearest
            people_total += total
    if not any(name in PEOPLE_LAYERS for name in covs):
        # only a mix (or another layer): its own nearest count is the load
        name, cov = next(iter(covs.items()))
        load = out[f"{name}_nearest"].to_numpy(dtype=float)
        people_total = cov.population.total
    out["load"] = load
    out["load_share"] = load / people_total if people_total else np.nan
    out["overloaded"] = (load > max_load) if max_load is not None else np.zeros(len(ids), bool)
    order = np.argsort(-load, kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(1, len(ids) + 1)
    out["load_rank"] = rank
    return out


def station_load_records(table: pd.DataFrame) -> list[dict[str, object]]:
    """The rows of :func:`station_load` as plain dicts (no geometry), for a map's
    station popups or a JSON answer: numbers rounded (people to 0.1, shares to
    0.0001), ``overloaded`` a bool."""
    frame = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    records: list[dict[str, object]] = []
    for row in frame.to_dict(orient="records"):
        rec: dict[str, object] = {}
        for key, value in row.items():
            k = str(key)
            if isinstance(value, (bool, np.bool_)):
                rec[k] = bool(value)
            elif isinstance(value, (float, np.floating)):
                v = float(value)
                rec[k] = None if not np.isfinite(v) else round(v, 4 if "share" in k else
                                                                7 if k in ("lon", "lat") else 1)
            elif isinstance(value, (np.integer,)):
                rec[k] = int(value)
            else:
                rec[k] = value
        records.append(rec)
    return records


def format_load(table: pd.DataFrame, *, top: int = 10, max_load: float | None = None) -> str:
    """The busiest stations as a text table, with the overloaded count."""
    layers = [c[: -len("_nearest")] for c in table.columns if str(c).endswith("_nearest")]
    head = table.sort_values("load_rank").head(top)
    flag = f"over {max_load:,.0f} = overloaded" if max_load else "no --max-load set"
    lines = [f"Station load (people whose nearest station it is, within the limit; {flag})"]
    cols = "".join(f"{layer:>12}" for layer in layers)
    lines.append(f"{'rank':>4}  {'station':<12}{cols}{'load':>12}{'share':>8}  flag")
    for _, r in head.iterrows():
        nums = "".join(f"{r[f'{layer}_nearest']:>12,.0f}" for layer in layers)
        flag = "OVER" if r["overloaded"] else ""
        lines.append(f"{int(r['load_rank']):>4}  {str(r['id'])[:12]:<12}{nums}"
                     f"{r['load']:>12,.0f}{r['load_share'] * 100:>7.1f}%  {flag}")
    n_over = int(table["overloaded"].sum())
    if max_load:
        lines.append(f"{n_over} of {len(table)} stations carry more than {max_load:,.0f} people")
    return "\n".join(lines)
