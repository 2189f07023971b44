"""Builders of test layers on real networks (points near real streets)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from circle15.geo.layers import Population, Stations, place_points, population_from_points
from circle15.geo.network import Network


def points_near_streets(net: Network, k: int, rng: np.random.Generator,
                        *, spread_m: float = 20.0) -> np.ndarray:
    """k WGS84 points at random places along the streets, jittered by ~spread_m."""
    w = net.edge_length_m / net.edge_length_m.sum()
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
