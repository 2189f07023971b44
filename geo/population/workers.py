"""Outdoor-worker demand: where couriers, riders and other outdoor workers gather.

Workers come from a planner's table of worker counts (points or grid cells:
platform or survey data; CSV/XLSX/GeoJSON in any supported CRS, read like a
population table, :func:`read_workers_table`) or, with no table, are estimated
from the OSM extract (:func:`estimate_workers`): the places where work is
picked up or where workers wait between jobs, each class with a default
weight, then scaled so that the layer sums to a given total.

Default weights (relative: workers gathering at one place of the class, or on
one hectare of an area class; only their ratios matter, since the layer is
scaled to the total). A place takes the first class it matches, in this order:

=====================  ==========================================================  ======  =======
class                  OSM tags                                                    weight  per
=====================  ==========================================================  ======  =======
parcel_locker          amenity=parcel_locker; amenity=vending_machine with          0.5    place
                       vending=parcel_pickup (or parcel_pickup;parcel_mail_in)
logistics              amenity=post_depot; industrial=logistics|warehouse|          5.0    place
                       distributor; building=warehouse; office=courier|logistics
post_office            amenity=post_office                                          2.0    place
mall                   shop=mall|department_store                                   5.0    place
marketplace            amenity=marketplace                                          3.0    place
supermarket            shop=supermarket                                             2.0    place
convenience            shop=convenience|greengrocer|butcher|bakery                  0.5    place
takeaway               amenity=restaurant|fast_food|cafe|food_court|ice_cream       1.0    place
                       (takeaway sources)
office                 office=* (any other value); building=office|commercial|      1.0    place
                       retail
construction_building  building=construction                                        2.0    place
construction_site      landuse=construction                                         3.0    hectare
commercial_land        landuse=commercial|retail                                    2.0    hectare
=====================  ==========================================================  ======  =======

Places are OSM nodes and closed ways or multipolygons (an area is one place
at a point inside it); a "hectare" class is spread evenly over points on a
100 m grid inside the area (its representative point when the area is
smaller than a cell), weighted by its area. The default total is
:data:`DEFAULT_WORKERS_RATIO` of the area's residents: the All-China
Federation of Trade Unions counted about 84 million new-employment-form
workers (couriers, riders, ride-hailing and truck drivers) in 2023, about 6 %
of China's 1.41 billion people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from circle15.geo.errors import InputError, SettingsError, ref
from circle15.geo.network.graph import Network
from circle15.geo.population.points import (
    POPULATION_MAX_SNAP_M,
    OnFar,
    Population,
    PopulationTable,
    read_population_table,
)
from circle15.geo.population.sources import Estimate
from circle15.geo.snapping.snap import DEFAULT_RULE, SnapRule
from circle15.geo.vocab import WORKERS_RATIO

#: default workers total as a share of the residents (ACFTU 2023: ~84 M
#: new-employment-form workers among ~1.41 bn people)
DEFAULT_WORKERS_RATIO = WORKERS_RATIO
#: spacing of the points an area class ("per hectare") is spread over, metres
AREA_GRID_M = 100.0
#: count-column names a worker table may use, before the population ones
WORKER_COUNT_NAMES = ("workers", "worker", "riders", "couriers", "count", "people", "value",
                      "population", "骑手", "快递员", "户外劳动者", "人数", "数量")

Per = Literal["place", "hectare"]


@dataclass(frozen=True)
class WorkerClass:
    """One class of gathering place: the OSM tags it matches and its weight.

    ``tags`` maps an OSM key to the values that match (None: any value);
    ``requires`` are further key=value pairs that must all hold too.
    """

    name: str
    tags: tuple[tuple[str, frozenset[str] | None], ...]
    weight: float
    per: Per = "place"
    requires: tuple[tuple[str, frozenset[str]], ...] = ()

    def matches(self, tags: Mapping[str, str]) -> bool:
        if any(tags.get(k) not in vs for k, vs in self.requires):
            return False
        for key, values in self.tags:
            value = tags.get(key)
            if value is not None and (values is None or value in values):
                return True
        return False

    def describe(self) -> str:
        parts = [f"{k}={'|'.join(sorted(v)) if v else '*'}" for k, v in self.tags]
        req = "".join(f" with {k}={'|'.join(sorted(v))}" for k, v in self.requires)
        return "; ".join(parts) + req


def _f(*values: str) -> frozenset[str]:
    return frozenset(values)


#: the classes in matching order (see the module docstring's table)
WORKER_CLASSES: tuple[WorkerClass, ...] = (
    WorkerClass("parcel_locker", (("amenity", _f("parcel_locker")),), 0.5),
    WorkerClass("parcel_locker", (("amenity", _f("vending_machine")),), 0.5,
                requires=(("vending", _f("parcel_pickup", "parcel_pickup;parcel_mail_in",
                                         "parcel_mail_in;parcel_pickup")),)),
    WorkerClass("logistics", (("amenity", _f("post_depot")),
                              ("industrial", _f("logistics", "warehouse", "distributor")),
                              ("building", _f("warehouse")),
                              ("office", _f("courier", "logistics"))), 5.0),
    WorkerClass("post_office", (("amenity", _f("post_office")),), 2.0),
    WorkerClass("mall", (("shop", _f("mall", "department_store")),), 5.0),
    WorkerClass("marketplace", (("amenity", _f("marketplace")),), 3.0),
    WorkerClass("supermarket", (("shop", _f("supermarket")),), 2.0),
    WorkerClass("convenience", (("shop", _f("convenience", "greengrocer", "butcher",
                                            "bakery")),), 0.5),
    WorkerClass("takeaway", (("amenity", _f("restaurant", "fast_food", "cafe", "food_court",
                                            "ice_cream")),), 1.0),
    WorkerClass("office", (("office", None),
                           ("building", _f("office", "commercial", "retail"))), 1.0),
    WorkerClass("construction_building", (("building", _f("construction")),), 2.0),
    WorkerClass("construction_site", (("landuse", _f("construction")),), 3.0, "hectare"),
    WorkerClass("commercial_land", (("landuse", _f("commercial", "retail")),), 2.0, "hectare"),
)

CLASS_NAMES: tuple[str, ...] = tuple(dict.fromkeys(c.name for c in WORKER_CLASSES))


def default_weights() -> dict[str, float]:
    """The default weight of each class, by class name."""
    return {c.name: c.weight for c in WORKER_CLASSES}


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """The default weights updated with ``weights`` (class name -> weight >= 0)."""
    out = default_weights()
    for name, w in (weights or {}).items():
        if name not in out:
            raise SettingsError(f"no worker class {name!r}; the classes are "
                                f"{', '.join(CLASS_NAMES)}")
        if not (np.isfinite(w) and w >= 0):
            raise SettingsError(f"the weight of {name} must be a number >= 0, not {w}")
        out[name] = float(w)
    return out


def classify(tags: Mapping[str, str]) -> WorkerClass | None:
    """The first worker class whose tags ``tags`` match (None: no gathering place)."""
    for cls in WORKER_CLASSES:
        if cls.matches(tags):
            return cls
    return None


_KEYS = frozenset(k for c in WORKER_CLASSES for k, _ in c.tags)


def read_worker_places(path: str | Path) -> gpd.GeoDataFrame:
    """Gathering places of an OSM file (.osm XML or .pbf), WGS84.

    Nodes become points; closed ways and multipolygons become polygons
    (assembled by pyosmium; areas broken by a clipped extract are skipped).
    Columns: ``osm_id`` (n…/w…/r…), ``class``, ``per``, ``name``.
    """
    import osmium
    from osmium.geom import WKBFactory

    factory = WKBFactory()
    rows: list[tuple[str, str, str, str]] = []
    wkbs: list[bytes | str] = []
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such file (worker places are read from an OSM file)")
    try:
        fp = (osmium.FileProcessor(str(path)).with_areas()
              .with_filter(osmium.filter.KeyFilter(*sorted(_KEYS))))
        for obj in fp:
            if not isinstance(obj, (osmium.osm.Node, osmium.osm.Area)):
                continue
            tags = obj.tags
            if not any(k in tags for k in _KEYS):
                continue
            cls = classify(dict(tags))
            if cls is None:
                continue
            try:
                if isinstance(obj, osmium.osm.Node):
                    oid, wkb = f"n{obj.id}", factory.create_point(obj)
                else:
                    oid = f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
                    wkb = factory.create_multipolygon(obj)
            except (RuntimeError, osmium.InvalidLocationError):  # no location, broken rings
                continue
            name = tags.get("name:zh") or tags.get("name") or ""
            rows.append((oid, cls.name, cls.per, name))
            wkbs.append(wkb)
    except RuntimeError as exc:
        raise InputError(str(path), f"cannot read this OSM file ({exc})") from exc
    frame = pd.DataFrame(rows, columns=["osm_id", "class", "per", "name"])
    geoms = shapely.from_wkb(np.asarray(wkbs, dtype=object)) if wkbs else np.empty(0, object)
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=4326)


@dataclass(frozen=True)
class WorkerSources:
    """How an estimated worker layer was made: per class, places, weight and workers."""

    table: pd.DataFrame
    total: float
    total_from: str
    source: str

    def describe(self) -> str:
        used = self.table[self.table["places"] > 0]
        parts = [f"{r['class']} {int(r['places']):,}×{r['weight']:g}"
                 + ("/ha" if r["per"] == "hectare" else "")
                 for _, r in used.iterrows()]
        return (f"workers estimated from the OSM places of {self.source} ({'; '.join(parts)}), "
                f"scaled to {self.total:,.0f} ({self.total_from})")

    def weights_text(self) -> str:
        return ", ".join(f"{r['class']}={r['weight']:g}" + ("/ha" if r["per"] == "hectare"
                                                             else "")
                         for _, r in self.table.iterrows())


def _grid_points(poly: shapely.Geometry, spacing_m: float) -> NDArray[np.float64]:
    """Points of a ``spacing_m`` grid inside ``poly`` (its representative point if none)."""
    x0, y0, x1, y1 = poly.bounds
    xs = np.arange(x0 + spacing_m / 2, x1, spacing_m)
    ys = np.arange(y0 + spacing_m / 2, y1, spacing_m)
    if xs.size and ys.size:
        gx, gy = np.meshgrid(xs, ys)
        inside = shapely.contains_xy(poly, gx.ravel(), gy.ravel())
        if inside.any():
            return np.column_stack([gx.ravel()[inside], gy.ravel()[inside]])
    return np.asarray(shapely.get_coordinates(poly.representative_point()))[:, :2]


def estimate_workers(
    places: gpd.GeoDataFrame,
    net: Network,
    *,
    total: float,
    total_from: str = "given",
    weights: Mapping[str, float] | None = None,
    source: str = "OSM",
    grid_m: float = AREA_GRID_M,
) -> tuple[Estimate, WorkerSources]:
    """Workers at the gathering places, scaled to ``total`` (points with counts, WGS84).

    Each place gets its class weight (per place, or per hectare of its area
    spread over a ``grid_m`` grid inside it); the counts are then scaled so
    that they sum to ``total``. Places outside the network's area are left out
    before scaling, so the total is the area's.
    """
    if not (np.isfinite(total) and total > 0):
        raise SettingsError(f"the workers total must be a positive number, not {total}")
    w = check_weights(weights)
    gdf = places.to_crs(net.crs)
    if len(gdf):
        gdf = gdf[gdf.geometry.intersects(net.hull.buffer(500.0))]
    xy_parts: list[NDArray[np.float64]] = []
    count_parts: list[NDArray[np.float64]] = []
    cls_parts: list[NDArray[np.object_]] = []
    ids: list[str] = []
    geoms = gdf.geometry.to_numpy()
    per_place = (gdf["per"] == "place").to_numpy()
    if per_place.any():
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms[per_place]))[:, :2]
        xy_parts.append(pts)
        count_parts.append(gdf["class"][per_place].map(w).to_numpy(float))
        cls_parts.append(gdf["class"][per_place].to_numpy(dtype=object))
        ids += gdf["osm_id"][per_place].tolist()
    area_ha = np.asarray(shapely.area(geoms), dtype=float) / 1e4
    for i in np.flatnonzero(~per_place):
        pts = _grid_points(geoms[i], grid_m)
        xy_parts.append(pts)
        name = gdf["class"].iloc[i]
        count_parts.append(np.full(len(pts), w[name] * area_ha[i] / len(pts)))
        cls_parts.append(np.full(len(pts), name, dtype=object))
        oid = gdf["osm_id"].iloc[i]
        ids += [oid] if len(pts) == 1 else [f"{oid}-{k + 1}" for k in range(len(pts))]
    count = np.concatenate(count_parts) if count_parts else np.zeros(0)
    rows = []
    for name in CLASS_NAMES:
        sel = (gdf["class"] == name).to_numpy()
        per = next(c.per for c in WORKER_CLASSES if c.name == name)
        tags = "; ".join(c.describe() for c in WORKER_CLASSES if c.name == name)
        rows.append({"class": name, "tags": tags, "weight": w[name], "per": per,
                     "places": int(sel.sum()),
                     "area_ha": float(area_ha[sel].sum()) if per == "hectare" else 0.0})
    table = pd.DataFrame(rows)
    if count.sum() <= 0:
        raise InputError(source, "no gathering place for outdoor workers (restaurants, shops, "
                         "offices, depots, parcel lockers, construction, commercial land) in "
                         "the extract's area with a weight above 0: give a worker table "
                         f"with {ref('workers')}")
    count = count * (total / count.sum())
    xy = np.concatenate(xy_parts)
    ll = net.unproject(xy)
    # the workers each class holds, after scaling
    cls_of = np.concatenate(cls_parts)
    table["workers"] = [float(count[cls_of == n].sum()) for n in table["class"]]
    sources = WorkerSources(table, float(total), total_from, source)
    est = Estimate(ll[:, 0], ll[:, 1], count, [f"w-{i}" for i in ids], source,
                   sources.describe())
    return est, sources


def read_workers_table(path: str | Path, *, column: str | None = None,
                       crs: str = "wgs84") -> PopulationTable:
    """A planner's table of worker counts (points or grid cells; CSV, XLSX, GeoJSON), in
    WGS84, unplaced. The count column is ``column`` or the first of
    :data:`WORKER_COUNT_NAMES`; rows are checked as population rows are."""
    return read_population_table(path, column=column, crs=crs, names=WORKER_COUNT_NAMES,
                                 what="workers", option=ref("workers_column"))


def place_workers(table: PopulationTable, net: Network, *, crs: str = "wgs84",
                  max_snap_m: float = POPULATION_MAX_SNAP_M, on_far: OnFar = "error",
                  rule: SnapRule = DEFAULT_RULE) -> Population:
    """Place a worker table on the network, first refusing it when its points fit the
    streets far better in another coordinate system than the declared ``crs`` (a
    platform export in GCJ-02 read as WGS84 sits a few hundred metres off)."""
    from circle15.geo.crs import check_input_crs, wgs84_to_bd09, wgs84_to_gcj02
    from circle15.geo.snapping.placement import check_declared_crs

    kind = check_input_crs(crs)
    ok = np.isfinite(table.lon) & np.isfinite(table.lat)
    lon, lat = table.lon[ok], table.lat[ok]
    if kind == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    elif kind == "bd09":
        lon, lat = wgs84_to_bd09(lon, lat)
    check_declared_crs(net, np.asarray(lon), np.asarray(lat), declared=kind, source=table.source)
    return table.place(net, max_snap_m=max_snap_m, on_far=on_far, rule=rule)
