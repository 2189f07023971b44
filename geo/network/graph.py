"""The network type (walking, or riding for e-bikes and bicycles): compact
arrays in a local metric CRS.

A :class:`Network` holds what the computation needs and nothing else: node
coordinates in a local UTM CRS, undirected edges with their length in metres,
their geometry (for snapping and drawing), the OSM way each came from and its
snap-prevention classes, and a CSR adjacency matrix for scipy's shortest-path
routines. A riding network also marks its one-way edges (``edge_oneway``:
ridden from ``edge_u`` to ``edge_v`` only). :func:`build_network` assembles
one from WGS84 arrays; the readers
live in :mod:`circle15.geo.network.osm_read` and the disk cache in
:mod:`circle15.geo.network.cache`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse import csgraph

from circle15.geo.crs import transformer, utm_crs_for
from circle15.geo.errors import NetworkError, ref
from circle15.geo.network.lines import Lines

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

#: a network whose largest connected part holds less than this share of the
#: nodes is treated as broken input rather than trimmed silently
MIN_MAIN_COMPONENT_SHARE = 0.5

#: explicit zero weights may be dropped by sparse routines; zero-length OSM
#: segments (duplicated nodes) get this length instead
MIN_LENGTH_M = 1e-6

_EARTH_RADIUS_M = 6_371_009.0

def haversine_m(
    lon1: NDArray[np.float64],
    lat1: NDArray[np.float64],
    lon2: NDArray[np.float64],
    lat2: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Great-circle distance in metres between arrays of WGS84 points."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True, eq=False)
class Network:
    """A walkable street network in a local metric CRS.

    Attributes
    ----------
    crs
        The projected CRS of ``node_xy`` and the edge geometries (UTM, metres).
    node_osmid
        OSM node id of each node, shape (n,).
    node_xy
        Node coordinates in metres, shape (n, 2).
    node_lonlat
        Node coordinates in WGS84 degrees, shape (n, 2).
    edge_u, edge_v
        Node indices (not OSM ids) of each undirected edge, shape (m,). The
        geometry of edge i runs from ``edge_u[i]`` to ``edge_v[i]``.
    edge_length_m
        Walking length of each edge in metres (great-circle along its shape).
    edge_lines
        The edges' shapes in ``crs`` (:attr:`edge_geometry`: as shapely LineStrings).
    edge_way
        OSM way id of each edge (-1 when unknown), shape (m,).
    edge_join_flags
        Snap-prevention classes of each edge (bits of
        :data:`circle15.geo.network.osm_tags.SNAP_CLASSES`): which points may join it.
    dropped_lines
        Edges of the small connected parts that were dropped, in ``crs``: a
        point nearest to one of these is told so rather than moved silently.
    bounds_lonlat
        The extract's declared bounds (west, south, east, north), if any:
        beyond them the network is incomplete.
    source
        A human-readable description of where the network came from.
    edge_oneway
        Riding networks: True where the edge may be ridden only from ``edge_u``
        to ``edge_v``; None (walking) when every edge goes both ways.
    mode
        The travel mode the network is for (:mod:`circle15.geo.modes`).
    """

    crs: pyproj.CRS
    node_osmid: NDArray[np.int64]
    node_xy: NDArray[np.float64]
    node_lonlat: NDArray[np.float64]
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    edge_length_m: NDArray[np.float64]
    edge_lines: Lines
    edge_way: NDArray[np.int64]
    edge_join_flags: NDArray[np.uint8]
    dropped_lines: Lines
    bounds_lonlat: tuple[float, float, float, float] | None = None
    source: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    edge_oneway: NDArray[np.bool_] | None = None
    mode: str = "walk"

    @property
    def edge_geometry(self) -> NDArray[np.object_]:
        """Shapely LineStrings of the edges in ``crs``, shape (m,) (made on first use)."""
        return self.edge_lines.geoms

    @property
    def dropped_geometry(self) -> NDArray[np.object_]:
        return self.dropped_lines.geoms

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @cached_property
    def directed(self) -> bool:
        """Whether some edge is one-way (a riding network with one-way streets)."""
        return self.edge_oneway is not None and bool(self.edge_oneway.any())

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """The graph searches *from stations* run on: n×n, metres, the shortest
        parallel edge kept.

        Walking: symmetric. With one-way edges it is the riding graph reversed
        (an arc a→b where one may ride b→a), so a search from a station gives
        every node's time *to* that station, the way a person rides.
        """
        if self.directed:
            return self._directed_csr(reverse=True)
        u, v, w = self.edge_u, self.edge_v, self.edge_length_m
        keep = u != v
        u, v, w = u[keep], v[keep], np.maximum(w[keep], MIN_LENGTH_M)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        # keep the shortest of parallel edges (coo->csr would sum them)
        order = np.lexsort((w, hi, lo))
        lo, hi, w = lo[order], hi[order], w[order]
        first = np.ones(lo.shape[0], dtype=bool)
        first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
        lo, hi, w = lo[first], hi[first], w[first]
        rows = np.concatenate([lo, hi])
        cols = np.concatenate([hi, lo])
        data = np.concatenate([w, w])
        n = self.n_nodes
        return sp.csr_matrix((data, (rows, cols)), shape=(n, n))

    @cached_property
    def ride_csr(self) -> sp.csr_matrix:
        """The graph in the direction people travel (a→b where one may go a→b):
        :attr:`csr` for walking, the forward riding graph with one-way edges."""
        return self._directed_csr(reverse=False) if self.directed else self.csr

    def _directed_csr(self, *, reverse: bool) -> sp.csr_matrix:
        assert self.edge_oneway is not None
        u, v, w = self.edge_u, self.edge_v, self.edge_length_m
        keep = u != v
        one = self.edge_oneway[keep]
        u, v, w = u[keep], v[keep], np.maximum(w[keep], MIN_LENGTH_M)
        # arcs people may take: u->v always, v->u where two-way
        tail = np.concatenate([u, v[~one]])
        head = np.concatenate([v, u[~one]])
        weight = np.concatenate([w, w[~one]])
        if reverse:
            tail, head = head, tail
        order = np.lexsort((weight, head, tail))
        tail, head, weight = tail[order], head[order], weight[order]
        first = np.ones(tail.shape[0], dtype=bool)
        first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
        n = self.n_nodes
        return sp.csr_matrix((weight[first], (tail[first], head[first])), shape=(n, n))

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over edge geometries (for snapping)."""
        return shapely.STRtree(self.edge_geometry)

    @cached_property
    def hull(self) -> shapely.Geometry:
        """Convex hull of the nodes in metres: the area the network describes."""
        from scipy.spatial import ConvexHull, QhullError

        try:
            # Qhull on the coordinates is ~10x faster than GEOS on a multipoint
            corners = self.node_xy[ConvexHull(self.node_xy).vertices]
        except (QhullError, ValueError):  # fewer than 3 nodes, or all on one line
            return shapely.convex_hull(shapely.multipoints(self.node_xy))
        return shapely.Polygon(np.vstack([corners, corners[:1]]))

    @cached_property
    def to_wgs84(self) -> pyproj.Transformer:
        return transformer(self.crs, "EPSG:4326")

    @cached_property
    def from_wgs84(self) -> pyproj.Transformer:
        return transformer("EPSG:4326", self.crs)

    def project(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """WGS84 degrees -> (k, 2) metres in this network's CRS."""
        x, y = self.from_wgs84.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.column_stack([x, y])

    def unproject(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """(k, 2) metres in this network's CRS -> (k, 2) WGS84 degrees."""
        lon, lat = self.to_wgs84.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def to_networkx(self) -> nx.Graph:
        """A networkx graph (node = index, weight ``length``): undirected, or
        directed in the riding direction when some edge is one-way.

        Independent of the CSR path; used to cross-check results.
        """
        import networkx as nx

        G = nx.DiGraph() if self.directed else nx.Graph()
        G.add_nodes_from(range(self.n_nodes))
        oneway = (self.edge_oneway if self.edge_oneway is not None
                  else np.zeros(self.n_edges, dtype=bool))
        for u, v, w, one in zip(self.edge_u.tolist(), self.edge_v.tolist(),
                                self.edge_length_m.tolist(), oneway.tolist(), strict=True):
            if u == v:
                continue
            w = max(w, MIN_LENGTH_M)
            arcs = [(u, v)] if one or not self.directed else [(u, v), (v, u)]
            for a, b in arcs:
                if not G.has_edge(a, b) or G[a][b]["length"] > w:
                    G.add_edge(a, b, length=w)
        return G

    def summary(self) -> str:
        km = float(self.edge_length_m.sum()) / 1000.0
        what = "walkways" if self.mode == "walk" else f"{self.mode} ways"
        one = (f", {int(self.edge_oneway.sum()):,} one-way" if self.edge_oneway is not None
               else "")
        return (
            f"{self.n_nodes:,} nodes, {self.n_edges:,} edges{one}, {km:,.1f} km of {what} "
            f"({self.crs.name})"
        )


# ---------------------------------------------------------------------------
# building from arrays


def _main_component(
    n_nodes: int, u: NDArray[np.int64], v: NDArray[np.int64], *, keep_all: bool, source: str
) -> NDArray[np.bool_] | None:
    """Mask of nodes in the largest connected part, or None to keep all."""
    if keep_all:
        return None
    adj = sp.csr_matrix((np.ones(u.shape[0]), (u, v)), shape=(n_nodes, n_nodes))
    n_comp, labels = csgraph.connected_components(adj, directed=False)
    if n_comp == 1:
        return None
    sizes = np.bincount(labels)
    main = int(np.argmax(sizes))
    share = sizes[main] / n_nodes
    if share < MIN_MAIN_COMPONENT_SHARE:
        msg = (
            f"{source}: the walking network is disconnected: its largest connected part "
            f"has only {share:.0%} of the {n_nodes:,} nodes ({n_comp:,} parts). Check the "
            f"extract covers the whole area, or pass {ref('keep_all_components')} to use "
            "every part."
        )
        raise NetworkError(msg)
    log.info(
        "%s: kept the largest connected part (%d of %d nodes); dropped %d small parts",
        source, sizes[main], n_nodes, n_comp - 1,
    )
    return np.asarray(labels == main)


def build_network(
    *,
    node_osmid: NDArray[np.int64],
    node_lonlat: NDArray[np.float64],
    edge_u: NDArray[np.int64],
    edge_v: NDArray[np.int64],
    edge_length_m: NDArray[np.float64],
    edge_coords_lonlat: NDArray[np.float64],
    edge_offsets: NDArray[np.int64],
    source: str,
    edge_way: NDArray[np.int64] | None = None,
    edge_join_flags: NDArray[np.uint8] | None = None,
    bounds_lonlat: tuple[float, float, float, float] | None = None,
    keep_all_components: bool = False,
    edge_oneway: NDArray[np.bool_] | None = None,
    mode: str = "walk",
) -> Network:
    """Assemble a :class:`Network` from WGS84 arrays: trim, project, index.

    ``edge_coords_lonlat[edge_offsets[i]:edge_offsets[i+1]]`` is the shape of
    edge i, from node ``edge_u[i]`` to ``edge_v[i]``. ``edge_way`` and
    ``edge_join_flags`` default to unknown ways that every point may join;
    ``edge_oneway`` (riding) marks edges ridden from ``u`` to ``v`` only.
    """
    n = int(node_osmid.shape[0])
    if n == 0 or edge_u.shape[0] == 0:
        msg = f"{source}: no walkable streets found (the network is empty)"
        raise NetworkError(msg)
    m = int(edge_u.shape[0])
    edge_way = np.full(m, -1, dtype=np.int64) if edge_way is None else edge_way
    edge_join_flags = (np.zeros(m, dtype=np.uint8) if edge_join_flags is None
                       else edge_join_flags)
    centre = np.median(node_lonlat, axis=0)
    crs = utm_crs_for(float(centre[0]), float(centre[1]))
    fwd = transformer("EPSG:4326", crs)
    dropped = Lines(np.empty((0, 2)), np.zeros(1, dtype=np.int64))
    mask = _main_component(n, edge_u, edge_v, keep_all=keep_all_components, source=source)
    info: dict[str, Any] = {"nodes_before_trim": n}
    if mask is not None:
        new_index = np.full(n, -1, dtype=np.int64)
        new_index[mask] = np.arange(int(mask.sum()))
        keep_edge = mask[edge_u]  # both ends share a component
        counts = np.diff(edge_offsets)
        coord_keep = np.repeat(keep_edge, counts)
        drop_coords = edge_coords_lonlat[~coord_keep]
        dx, dy = fwd.transform(drop_coords[:, 0], drop_coords[:, 1])
        dropped = Lines(np.column_stack([dx, dy]),
                        np.concatenate([[0], np.cumsum(counts[~keep_edge])]).astype(np.int64))
        edge_coords_lonlat = edge_coords_lonlat[coord_keep]
        edge_offsets = np.concatenate([[0], np.cumsum(counts[keep_edge])])
        edge_u, edge_v = new_index[edge_u[keep_edge]], new_index[edge_v[keep_edge]]
        edge_length_m = edge_length_m[keep_edge]
        edge_way, edge_join_flags = edge_way[keep_edge], edge_join_flags[keep_edge]
        if edge_oneway is not None:
            edge_oneway = edge_oneway[keep_edge]
        node_osmid, node_lonlat = node_osmid[mask], node_lonlat[mask]
    nx_, ny_ = fwd.transform(node_lonlat[:, 0], node_lonlat[:, 1])
    ex, ey = fwd.transform(edge_coords_lonlat[:, 0], edge_coords_lonlat[:, 1])
    lines = Lines(np.column_stack([ex, ey]), np.asarray(edge_offsets, dtype=np.int64))
    info["kept_nodes"] = int(node_osmid.shape[0])
    return Network(
        crs=crs,
        node_osmid=np.asarray(node_osmid, dtype=np.int64),
        node_xy=np.column_stack([nx_, ny_]),
        node_lonlat=np.asarray(node_lonlat, dtype=np.float64),
        edge_u=np.asarray(edge_u, dtype=np.int64),
        edge_v=np.asarray(edge_v, dtype=np.int64),
        edge_length_m=np.asarray(edge_length_m, dtype=np.float64),
        edge_lines=lines,
        edge_way=np.asarray(edge_way, dtype=np.int64),
        edge_join_flags=np.asarray(edge_join_flags, dtype=np.uint8),
        dropped_lines=dropped,
        bounds_lonlat=bounds_lonlat,
        source=source,
        info=info,
        edge_oneway=None if edge_oneway is None else np.asarray(edge_oneway, dtype=bool),
        mode=mode,
    )


