"""The walking network: load from OSM, project to metres, keep compact, cache.

A :class:`Network` holds what the computation needs and nothing else: node
coordinates in a local UTM CRS, undirected edges with their length in metres
and their geometry (for snapping and drawing), and a CSR adjacency matrix for
scipy's shortest-path routines. It is built from

- an OSM PBF or XML file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.osm.gz``),
  read with pyosmium and filtered to walkable ways. Clipped extracts, whose ways
  reference nodes that are not in the file, load: such ways are cut where a
  node is missing;
- a GraphML file saved by osmnx;
- a place name or polygon, downloaded by osmnx (``network_type="walk"``,
  with osmnx's own HTTP cache).

The built network is cached on disk under a key made from a hash of the source
and the settings, so a second start reads a few arrays instead of the OSM file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from circle15.geo.crs import transformer, utm_crs_for
from circle15.geo.errors import NetworkError
from numpy.typing import NDArray
from scipy.sparse import csgraph

if TYPE_CHECKING:
    import networkx as nx
    from circle15.geo.snap import SegmentIndex

log = logging.getLogger(__name__)

#: bump when the cached layout or the way filter changes, so old caches are ignored
CACHE_VERSION = "3"

#: a network whose largest connected part holds less than this share of the
#: nodes is treated as broken input rather than trimmed silently
MIN_MAIN_COMPONENT_SHARE = 0.5

#: explicit zero weights may be dropped by sparse routines; zero-length OSM
#: segments (duplicated nodes) get this length instead
_MIN_LENGTH_M = 1e-6

_EARTH_RADIUS_M = 6_371_009.0

# Ways a pedestrian can use, following the rules OSM routers use for walking:
# highway values that are never walkable, and tags that close a way to walkers.
_NOT_WALKABLE_HIGHWAY = frozenset(
    {
        "abandoned", "bus_guideway", "construction", "disused", "motorway",
        "motorway_link", "motorroad", "no", "planned", "platform", "proposed",
        "raceway", "razed", "busway", "escape", "elevator_shaft", "bus_stop",
        "services", "rest_area",
    }
)
_FOOT_OK = frozenset({"yes", "designated", "permissive", "official", "destination"})


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether an OSM way with these tags belongs to the walking network.

    Cycleways count only when walking is explicitly allowed on them; private
    access, ``foot=no`` and areas (pedestrian squares drawn as polygons) are out.
    """
    highway = tags.get("highway")
    if highway is None or highway in _NOT_WALKABLE_HIGHWAY:
        return False
    foot = tags.get("foot")
    if foot == "no" or foot == "use_sidepath":
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("access") in ("private", "no") and foot not in _FOOT_OK:
        return False
    if tags.get("service") == "private":
        return False
    return not (highway == "cycleway" and foot not in _FOOT_OK)


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
    edge_geometry
        Shapely LineStrings in ``crs``, shape (m,).
    source
        A human-readable description of where the network came from.
    """

    crs: pyproj.CRS
    node_osmid: NDArray[np.int64]
    node_xy: NDArray[np.float64]
    node_lonlat: NDArray[np.float64]
    edge_u: NDArray[np.int64]
    edge_v: NDArray[np.int64]
    edge_length_m: NDArray[np.float64]
    edge_geometry: NDArray[np.object_]
    source: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """Symmetric n×n adjacency with the shortest parallel edge's length in metres."""
        u, v, w = self.edge_u, self.edge_v, self.edge_length_m
        keep = u != v
        u, v, w = u[keep], v[keep], np.maximum(w[keep], _MIN_LENGTH_M)
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
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over edge geometries (for snapping)."""
        return shapely.STRtree(self.edge_geometry)

    @cached_property
    def segment_index(self) -> SegmentIndex:
        """Exact nearest-edge index over straight pieces of the edges."""
        from circle15.geo.snap import SegmentIndex

        return SegmentIndex.build(self.edge_geometry)

    @cached_property
    def hull(self) -> shapely.Geometry:
        """Convex hull of the nodes in metres: the area the network describes."""
        return shapely.convex_hull(shapely.multipoints(self.node_xy))

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
        """An undirected networkx graph (node = index, weight ``length``).

        Independent of the CSR path; used to cross-check results.
        """
        import networkx as nx

        G = nx.Graph()
        G.add_nodes_from(range(self.n_nodes))
        for u, v, w in zip(
            self.edge_u.tolist(), self.edge_v.tolist(), self.edge_length_m.tolist(), strict=True
        ):
            if u == v:
                continue
            w = max(w, _MIN_LENGTH_M)
            if not G.has_edge(u, v) or G[u][v]["length"] > w:
                G.add_edge(u, v, length=w)
        return G

    def summary(self) -> str:
        km = float(self.edge_length_m.sum()) / 1000.0
        return (
            f"{self.n_nodes:,} nodes, {self.n_edges:,} edges, {km:,.1f} km of walkways "
            f"({self.crs.name})"
        )


# ---------------------------------------------------------------------------
# building from arrays


def _line_coords_to_geoms(
    coords: NDArray[np.float64], offsets: NDArray[np.int64]
) -> NDArray[np.object_]:
    counts = np.diff(offsets)
    index = np.repeat(np.arange(counts.shape[0]), counts)
    return np.asarray(shapely.linestrings(coords, indices=index), dtype=object)


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
            "extract covers the whole area, or pass keep_all_components=True "
            "(--keep-all-components) to use every part."
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
    keep_all_components: bool = False,
) -> Network:
    """Assemble a :class:`Network` from WGS84 arrays: trim, project, index.

    ``edge_coords_lonlat[edge_offsets[i]:edge_offsets[i+1]]`` is the shape of
    edge i, from node ``edge_u[i]`` to ``edge_v[i]``.
    """
    n = int(node_osmid.shape[0])
    if n == 0 or edge_u.shape[0] == 0:
        msg = f"{source}: no walkable streets found (the network is empty)"
        raise NetworkError(msg)
    mask = _main_component(n, edge_u, edge_v, keep_all=keep_all_components, source=source)
    info: dict[str, Any] = {"nodes_before_trim": n}
    if mask is not None:
        new_index = np.full(n, -1, dtype=np.int64)
        new_index[mask] = np.arange(int(mask.sum()))
        keep_edge = mask[edge_u]  # both ends share a component
        counts = np.diff(edge_offsets)
        coord_keep = np.repeat(keep_edge, counts)
        edge_coords_lonlat = edge_coords_lonlat[coord_keep]
        edge_offsets = np.concatenate([[0], np.cumsum(counts[keep_edge])])
        edge_u, edge_v = new_index[edge_u[keep_edge]], new_index[edge_v[keep_edge]]
        edge_length_m = edge_length_m[keep_edge]
        node_osmid, node_lonlat = node_osmid[mask], node_lonlat[mask]
    centre = np.median(node_lonlat, axis=0)
    crs = utm_crs_for(float(centre[0]), float(centre[1]))
    fwd = transformer("EPSG:4326", crs)
    nx_, ny_ = fwd.transform(node_lonlat[:, 0], node_lonlat[:, 1])
    ex, ey = fwd.transform(edge_coords_lonlat[:, 0], edge_coords_lonlat[:, 1])
    geoms = _line_coords_to_geoms(np.column_stack([ex, ey]), edge_offsets)
    info["kept_nodes"] = int(node_osmid.shape[0])
    return Network(
        crs=crs,
        node_osmid=np.asarray(node_osmid, dtype=np.int64),
        node_xy=np.column_stack([nx_, ny_]),
        node_lonlat=np.asarray(node_lonlat, dtype=np.float64),
        edge_u=np.asarray(edge_u, dtype=np.int64),
        edge_v=np.asarray(edge_v, dtype=np.int64),
        edge_length_m=np.asarray(edge_length_m, dtype=np.float64),
        edge_geometry=geoms,
        source=source,
        info=info,
    )


# ---------------------------------------------------------------------------
# OSM files (PBF / XML) through pyosmium

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml")


def _read_osm_file(path: Path) -> dict[str, NDArray[Any]]:
    """Walkable way segments of an OSM file as flat arrays (WGS84)."""
    import osmium

    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    way_of: list[int] = []
    n_way = 0
    try:
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):
                continue
            tags = obj.tags
            if "highway" not in tags or not is_walkable(dict(tags)):
                continue
            for nd in obj.nodes:
                loc = nd.location
                ids.append(nd.ref)
                if loc.valid():
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                else:  # clipped extract: the node is not in the file
                    lons.append(np.nan)
                    lats.append(np.nan)
                way_of.append(n_way)
            n_way += 1
    except RuntimeError as exc:  # pyosmium reports unreadable input this way
        msg = f"{path}: cannot read this OSM file ({exc})"
        raise NetworkError(msg) from exc
    return {
        "ids": np.asarray(ids, dtype=np.int64),
        "lon": np.asarray(lons, dtype=np.float64),
        "lat": np.asarray(lats, dtype=np.float64),
        "way": np.asarray(way_of, dtype=np.int64),
    }


def network_from_osm_file(path: str | Path, *, keep_all_components: bool = False) -> Network:
    """Build the walking network of an OSM PBF or XML file.

    Every OSM node of a walkable way is kept (no topological simplification),
    so coverage is resolved along streets, not only at junctions. Segments that
    touch a node missing from a clipped extract are dropped.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise NetworkError(msg)
    raw = _read_osm_file(path)
    ids, lon, lat, way = raw["ids"], raw["lon"], raw["lat"], raw["way"]
    valid = np.isfinite(lon)
    seg = (way[:-1] == way[1:]) & valid[:-1] & valid[1:] & (ids[:-1] != ids[1:])
    i0 = np.flatnonzero(seg)
    i1 = i0 + 1
    used = np.concatenate([i0, i1])
    node_osmid, first = np.unique(ids[used], return_index=True)
    node_lonlat = np.column_stack([lon[used][first], lat[used][first]])
    edge_u = np.searchsorted(node_osmid, ids[i0])
    edge_v = np.searchsorted(node_osmid, ids[i1])
    length = haversine_m(lon[i0], lat[i0], lon[i1], lat[i1])
    coords = np.empty((2 * i0.shape[0], 2))
    coords[0::2, 0], coords[0::2, 1] = lon[i0], lat[i0]
    coords[1::2, 0], coords[1::2, 1] = lon[i1], lat[i1]
    offsets = np.arange(0, 2 * i0.shape[0] + 1, 2, dtype=np.int64)
    n_missing = int((~valid).sum())
    net = build_network(
        node_osmid=node_osmid,
        node_lonlat=node_lonlat,
        edge_u=edge_u,
        edge_v=edge_v,
        edge_length_m=length,
        edge_coords_lonlat=coords,
        edge_offsets=offsets,
        source=str(path),
        keep_all_components=keep_all_components,
    )
    net.info["missing_node_refs"] = n_missing
    if n_missing:
        log.info("%s: %d way node references are outside the extract", path, n_missing)
    return net


# ---------------------------------------------------------------------------
# osmnx graphs (GraphML, place names, polygons)


def network_from_osmnx(
    G: nx.MultiDiGraph, *, source: str, keep_all_components: bool = False
) -> Network:
    """Build a :class:`Network` from an osmnx graph (projected or not)."""
    import osmnx as ox

    if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
        msg = f"{source}: the walking network is empty"
        raise NetworkError(msg)
    gdf_nodes, gdf_edges = ox.graph_to_gdfs(G, fill_edge_geometry=True)
    if gdf_nodes.crs is not None and not gdf_nodes.crs.equals(pyproj.CRS.from_epsg(4326)):
        gdf_nodes = gdf_nodes.to_crs(4326)
        gdf_edges = gdf_edges.to_crs(4326)
    node_osmid = gdf_nodes.index.to_numpy(dtype=np.int64)
    order = np.argsort(node_osmid)
    node_osmid = node_osmid[order]
    node_lonlat = shapely.get_coordinates(gdf_nodes.geometry.to_numpy())[order]
    u = gdf_edges.index.get_level_values(0).to_numpy(dtype=np.int64)
    v = gdf_edges.index.get_level_values(1).to_numpy(dtype=np.int64)
    length = gdf_edges["length"].to_numpy(dtype=np.float64)
    geoms = gdf_edges.geometry.to_numpy()
    # osmnx stores each walkable street in both directions; keep one of each pair
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = np.round(length, 3)
    order_e = np.lexsort((key, hi, lo))
    dup = np.zeros(u.shape[0], dtype=bool)
    same = (
        (lo[order_e][1:] == lo[order_e][:-1])
        & (hi[order_e][1:] == hi[order_e][:-1])
        & (key[order_e][1:] == key[order_e][:-1])
    )
    dup[order_e[1:][same]] = True
    keep = ~dup
    u, v, length, geoms = u[keep], v[keep], length[keep], geoms[keep]
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(index, minlength=geoms.shape[0])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return build_network(
        node_osmid=node_osmid,
        node_lonlat=node_lonlat,
        edge_u=np.searchsorted(node_osmid, u),
        edge_v=np.searchsorted(node_osmid, v),
        edge_length_m=length,
        edge_coords_lonlat=coords,
        edge_offsets=offsets,
        source=source,
        keep_all_components=keep_all_components,
    )


def network_from_graphml(path: str | Path, *, keep_all_components: bool = False) -> Network:
    """Build the network from a GraphML file saved by osmnx."""
    import osmnx as ox

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise NetworkError(msg)
    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # networkx/osmnx raise many kinds on bad XML
        msg = f"{path}: cannot read this GraphML file ({type(exc).__name__}: {exc})"
        raise NetworkError(msg) from exc
    return network_from_osmnx(G, source=str(path), keep_all_components=keep_all_components)


def network_from_place(
    place: str | shapely.Polygon | shapely.MultiPolygon,
    *,
    keep_all_components: bool = False,
) -> Network:
    """Download the walking network of a place name or WGS84 polygon via osmnx.

    Uses osmnx's Overpass/Nominatim HTTP cache (``osmnx.settings.cache_folder``),
    so a repeated download of the same place is served from disk.
    """
    import osmnx as ox

    try:
        if isinstance(place, str):
            G = ox.graph_from_place(place, network_type="walk", retain_all=True)
            source = f"place:{place}"
        else:
            G = ox.graph_from_polygon(place, network_type="walk", retain_all=True)
            source = f"polygon:{shapely.to_wkt(place, rounding_precision=5)[:80]}"
    except Exception as exc:  # network failures, unknown places, empty results
        msg = f"cannot download the walking network of {place!r} ({type(exc).__name__}: {exc})"
        raise NetworkError(msg) from exc
    return network_from_osmnx(G, source=source, keep_all_components=keep_all_components)


# ---------------------------------------------------------------------------
# the on-disk cache


def default_cache_dir() -> Path:
    """``$CIRCLE15_CACHE_DIR``, else ``data/cache`` in the project checkout."""
    env = os.environ.get("CIRCLE15_CACHE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "data" / "cache"


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_key(source: str, *, keep_all_components: bool) -> str:
    """Key of a network in the cache: a hash of the source content and settings."""
    path = Path(source)
    content = _file_digest(path) if path.is_file() else f"name:{source}"
    h = hashlib.blake2b(digest_size=12)
    h.update(f"v{CACHE_VERSION}|{content}|all={keep_all_components}".encode())
    return h.hexdigest()


def save_network(net: Network, path: Path) -> None:
    """Write a network to one ``.npz`` file (atomically)."""
    coords, index = shapely.get_coordinates(net.edge_geometry, return_index=True)
    counts = np.bincount(index, minlength=net.n_edges)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(
            tmp,
            crs=np.array(net.crs.to_wkt()),
            source=np.array(net.source),
            node_osmid=net.node_osmid,
            node_xy=net.node_xy,
            node_lonlat=net.node_lonlat,
            edge_u=net.edge_u,
            edge_v=net.edge_v,
            edge_length_m=net.edge_length_m,
            edge_coords=coords,
            edge_offsets=offsets,
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_network(path: Path) -> Network:
    """Read a network written by :func:`save_network`."""
    with np.load(path, allow_pickle=False) as z:
        return Network(
            crs=pyproj.CRS.from_wkt(str(z["crs"])),
            node_osmid=z["node_osmid"],
            node_xy=z["node_xy"],
            node_lonlat=z["node_lonlat"],
            edge_u=z["edge_u"],
            edge_v=z["edge_v"],
            edge_length_m=z["edge_length_m"],
            edge_geometry=_line_coords_to_geoms(z["edge_coords"], z["edge_offsets"]),
            source=str(z["source"]),
            info={"from_cache": str(path)},
        )


def load_network(
    source: str | Path,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    keep_all_components: bool = False,
) -> Network:
    """Load a walking network from a file or a place name, through the cache.

    Parameters
    ----------
    source
        An OSM file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.osm.gz``), an osmnx
        GraphML file (``.graphml``), or a place name for osmnx to geocode and
        download (e.g. ``"Shunyi District, Beijing, China"``).
    cache_dir
        Where built networks are kept; default :func:`default_cache_dir`.
    use_cache
        Read and write the cache (a changed file gets a new key automatically).
    keep_all_components
        Keep every connected part instead of only the largest.
    """
    text = str(source)
    path = Path(text)
    looks_like_file = path.suffix.lower() in {".pbf", ".osm", ".bz2", ".gz", ".xml", ".graphml"}
    if looks_like_file and not path.is_file():
        msg = f"{path}: no such file"
        raise NetworkError(msg)
    cache_file = None
    if use_cache:
        key = cache_key(text, keep_all_components=keep_all_components)
        cache_file = (cache_dir or default_cache_dir()) / f"network-{key}.npz"
        if cache_file.is_file():
            try:
                return read_network(cache_file)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable cache %s (%s)", cache_file, exc)
    if path.is_file():
        if path.suffix.lower() == ".graphml":
            net = network_from_graphml(path, keep_all_components=keep_all_components)
        else:
            net = network_from_osm_file(path, keep_all_components=keep_all_components)
    else:
        net = network_from_place(text, keep_all_components=keep_all_components)
    if cache_file is not None:
        save_network(net, cache_file)
    return net
