"""Readers: OSM files (pyosmium) and osmnx graphs (GraphML, place names) to a
:class:`~circle15.geo.network.graph.Network`.

- an OSM PBF or XML file (``.osm.pbf``, ``.osm``, ``.osm.bz2``, ``.osm.gz``),
  read with pyosmium and filtered to walkable ways. Clipped extracts, whose ways
  reference nodes that are not in the file, load: such ways are cut where a
  node is missing; a file's declared bounds are kept;
- a GraphML file saved by osmnx;
- a place name or polygon, downloaded by osmnx (``network_type="walk"``,
  with osmnx's own HTTP cache).

Each edge keeps the OSM way it came from and that way's snap-prevention classes
(:func:`circle15.geo.network.osm_tags.join_flags`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from circle15.geo.errors import NetworkError
from circle15.geo.modes import check_mode, is_riding
from circle15.geo.network.graph import Network, build_network, haversine_m
from circle15.geo.network.osm_prefetch import take
from circle15.geo.network.osm_tags import join_flags
from circle15.geo.network.osm_ways import read_ways

if TYPE_CHECKING:
    import networkx as nx

log = logging.getLogger(__name__)

#: tags osmnx must keep on ways for the snap-prevention rules
OSMNX_WAY_TAGS = ("tunnel", "layer", "indoor", "bridge", "sidewalk", "sidewalk:both",
                  "sidewalk:left", "sidewalk:right", "foot")

def declared_bounds(path: Path) -> tuple[float, float, float, float] | None:
    """The bounds an OSM file's header declares (west, south, east, north), if any."""
    import osmium

    try:
        box = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING).header().box()
    except (RuntimeError, AttributeError):
        return None
    if not box.valid():
        return None
    bl, tr = box.bottom_left, box.top_right
    return (float(bl.lon), float(bl.lat), float(tr.lon), float(tr.lat))


def network_from_osm_file(path: str | Path, *, keep_all_components: bool = False,
                          mode: str = "walk") -> Network:
    """Build the walking (or, for ``mode`` ebike/bike, riding) network of an OSM
    PBF or XML file.

    Every OSM node of a usable way is kept (no topological simplification),
    so coverage is resolved along streets, not only at junctions. Segments that
    touch a node missing from a clipped extract are dropped.
    """
    mode = check_mode(mode)
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise NetworkError(msg)
    # read ahead while the command line started (osm_prefetch), or read now
    raw = take(path, mode) or read_ways(path, mode)
    ids, lon, lat, way = raw["ids"], raw["lon"], raw["lat"], raw["way"]
    if way.size == 0:
        kind = "rideable" if is_riding(mode) else "walkable"
        msg = f"{path}: no {kind} streets found (the network is empty)"
        raise NetworkError(msg)
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
        edge_way=raw["way_id"][way[i0]],
        edge_join_flags=raw["way_flags"][way[i0]],
        bounds_lonlat=declared_bounds(path),
        keep_all_components=keep_all_components,
        edge_oneway=raw["way_oneway"][way[i0]] if is_riding(mode) else None,
        mode=mode,
    )
    net.info["missing_node_refs"] = n_missing
    if n_missing:
        log.info("%s: %d way node references are outside the extract", path, n_missing)
    return net


# ---------------------------------------------------------------------------
# osmnx graphs (GraphML, place names, polygons)


def network_from_osmnx(
    G: nx.MultiDiGraph, *, source: str, keep_all_components: bool = False, mode: str = "walk"
) -> Network:
    """Build a :class:`Network` from an osmnx graph (projected or not).

    For a riding ``mode`` an edge osmnx holds in one direction only is one-way
    (osmnx keeps one-way rules for its bike networks).
    """
    import osmnx as ox

    mode = check_mode(mode)
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
    oneway = None
    if is_riding(mode):
        # an edge whose reverse osmnx does not hold may be ridden its own way only
        paired = np.zeros(u.shape[0], dtype=bool)
        paired[order_e[1:][same]] = True
        paired[order_e[:-1][same]] = True
        oneway = ~paired[keep]
    u, v, length, geoms = u[keep], v[keep], length[keep], geoms[keep]
    way_id, flags = _osmnx_way_tags(gdf_edges[keep])
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
        edge_way=way_id,
        edge_join_flags=flags,
        keep_all_components=keep_all_components,
        edge_oneway=oneway,
        mode=mode,
    )


def _first(value: Any) -> Any:
    """osmnx keeps a list where simplification merged ways with different values."""
    if isinstance(value, list):
        return value[0] if value else None
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _osmnx_way_tags(gdf_edges: Any) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """Way id and snap-prevention classes of each osmnx edge.

    A simplified edge may merge several ways: it is joinable only if each merged
    value allows it (a merged tunnel-and-street edge counts as a tunnel).
    """
    cols = [c for c in ("highway", *OSMNX_WAY_TAGS) if c in gdf_edges.columns]
    way = np.full(len(gdf_edges), -1, dtype=np.int64)
    flags = np.zeros(len(gdf_edges), dtype=np.uint8)
    osmid = gdf_edges["osmid"].tolist() if "osmid" in gdf_edges.columns else [None] * len(way)
    values = {c: gdf_edges[c].tolist() for c in cols}
    for i in range(len(way)):
        first = _first(osmid[i])
        if first is not None:
            way[i] = int(first)
        bits = 0
        tags = {c: values[c][i] for c in cols}
        n_variants = max((len(val) for val in tags.values() if isinstance(val, list) and val),
                         default=1)
        for j in range(n_variants):
            variant = {c: (val[min(j, len(val) - 1)] if isinstance(val, list) and val else val)
                       for c, val in tags.items()}
            bits |= join_flags({c: str(val) for c, val in variant.items()
                                if _first(val) is not None})
        flags[i] = bits
    return way, flags


def network_from_graphml(path: str | Path, *, keep_all_components: bool = False,
                         mode: str = "walk") -> Network:
    """Build the network from a GraphML file saved by osmnx (taken as the network of
    ``mode``: save a bike graph for riding)."""
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
    return network_from_osmnx(G, source=str(path), keep_all_components=keep_all_components,
                              mode=mode)


def network_from_place(
    place: str | shapely.Polygon | shapely.MultiPolygon,
    *,
    keep_all_components: bool = False,
    mode: str = "walk",
) -> Network:
    """Download the walking network (osmnx ``bike`` for a riding ``mode``) of a
    place name or WGS84 polygon via osmnx.

    Uses osmnx's Overpass/Nominatim HTTP cache (``osmnx.settings.cache_folder``),
    so a repeated download of the same place is served from disk.
    """
    import osmnx as ox

    # keep the tags the snap-prevention rules read
    wanted = set(ox.settings.useful_tags_way) | set(OSMNX_WAY_TAGS)
    ox.settings.useful_tags_way = sorted(wanted)
    network_type = "bike" if is_riding(mode) else "walk"
    try:
        if isinstance(place, str):
            G = ox.graph_from_place(place, network_type=network_type, retain_all=True)
            source = f"place:{place}"
        else:
            G = ox.graph_from_polygon(place, network_type=network_type, retain_all=True)
            source = f"polygon:{shapely.to_wkt(place, rounding_precision=5)[:80]}"
    except Exception as exc:  # network failures, unknown places, empty results
        msg = f"cannot download the walking network of {place!r} ({type(exc).__name__}: {exc})"
        raise NetworkError(msg) from exc
    return network_from_osmnx(G, source=source, keep_all_components=keep_all_components,
                              mode=mode)


