"""A network cut to a region: every edge that touches it, whole.

Used to compute one area of a larger region on its own (``circle15 batch``):
with a halo wide enough (:func:`halo_m`), every walk, station and join that
can matter to a person in the area lies on edges the cut keeps, so the area's
answers equal the whole region's.
"""

from __future__ import annotations

import numpy as np
import shapely

from circle15.geo.network.graph import Network


def halo_m(*, limit_m: float, population_max_snap_m: float, station_max_snap_m: float,
           slack_m: float) -> tuple[float, float]:
    """(station radius, edge radius) around an area, metres.

    A person inside the area joins streets within ``population_max_snap_m +
    slack_m`` of where they stand; a walk of at most ``limit_m`` from there
    stays within ``limit_m`` of that join (a network walk is never shorter than
    the straight line); a station reaching them joins within
    ``station_max_snap_m + slack_m`` of the walk's far end. So stations within
    the first radius are all that can reach anyone in the area, and edges within
    the second hold every walk and every join they need.
    """
    person = population_max_snap_m + slack_m
    station = station_max_snap_m + slack_m
    station_radius = limit_m + person + station
    return station_radius, station_radius + station


def clip_network(net: Network, region: shapely.Geometry) -> Network:
    """The edges of ``net`` that touch ``region`` (metres, the network's CRS), whole,
    with their end nodes; connected parts are kept as they are."""
    edges = np.unique(net.edge_tree.query(region, predicate="intersects"))
    nodes, inverse = np.unique(np.concatenate([net.edge_u[edges], net.edge_v[edges]]),
                               return_inverse=True)
    k = edges.size
    return Network(
        crs=net.crs,
        node_osmid=net.node_osmid[nodes],
        node_xy=net.node_xy[nodes],
        node_lonlat=net.node_lonlat[nodes],
        edge_u=inverse[:k].astype(np.int64),
        edge_v=inverse[k:].astype(np.int64),
        edge_length_m=net.edge_length_m[edges],
        edge_lines=net.edge_lines.take(edges),
        edge_way=net.edge_way[edges],
        edge_join_flags=net.edge_join_flags[edges],
        dropped_lines=net.dropped_lines,
        bounds_lonlat=net.bounds_lonlat,
        source=f"{net.source} (cut to an area)",
        info={**net.info, "cut_from_nodes": net.n_nodes},
        edge_oneway=None if net.edge_oneway is None else net.edge_oneway[edges],
        mode=net.mode,
    )
