"""Builders of test layers on real networks (points near real streets)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from circle15.geo.inputs.stations import Stations
from circle15.geo.network.graph import Network
from circle15.geo.population.points import Population, population_from_points
from circle15.geo.snapping.placement import place_points


def points_near_streets(net: Network, k: int, rng: np.random.Generator,
                        *, spread_m: float = 20.0) -> np.ndarray:
    """k WGS84 points at random places along the streets, jittered by ~spread_m.

    Only streets inside the extract's declared bounds (if any) are used: beyond
    them an extract's network is incomplete and stations are refused there.
    """
    w = net.edge_length_m.copy()
    if net.bounds_lonlat is not None:
        west, south, east, north = net.bounds_lonlat
        ll_u, ll_v = net.node_lonlat[net.edge_u], net.node_lonlat[net.edge_v]
        margin = 0.0005  # ~50 m: the jitter must not carry points out
        inside = np.ones(net.n_edges, dtype=bool)
        for ll in (ll_u, ll_v):
            inside &= ((ll[:, 0] > west + margin) & (ll[:, 0] < east - margin)
                       & (ll[:, 1] > south + margin) & (ll[:, 1] < north - margin))
        w = np.where(inside, w, 0.0)
    w = w / w.sum()
    edges = rng.choice(net.n_edges, size=k, p=w)
    pts = shapely.line_interpolate_point(net.edge_geometry[edges], rng.uniform(0, 1, k),
                                         normalized=True)
    xy = shapely.get_coordinates(pts) + rng.normal(0, spread_m, (k, 2))
    return net.unproject(xy)


def make_stations(net: Network, lonlat: np.ndarray, *, max_snap_m: float = 200.0) -> Stations:
    placed = place_points(net, lonlat[:, 0], lonlat[:, 1], max_snap_m=max_snap_m)
    assert not placed.problems, placed.problems[:3]
    frame = gpd.GeoDataFrame(
        {"id": [f"S{i + 1}" for i in range(len(lonlat))], "name": "test", "status": "existing",
         "lon": lonlat[:, 0], "lat": lonlat[:, 1]},
        geometry=shapely.points(placed.xy), crs=net.crs,
    )
    return Stations(frame, placed.snapped)


def make_population(net: Network, lonlat: np.ndarray, rng: np.random.Generator) -> Population:
    count = rng.integers(0, 200, len(lonlat)).astype(float)
    return population_from_points(net, lonlat[:, 0], lonlat[:, 1], count, max_snap_m=500.0)
