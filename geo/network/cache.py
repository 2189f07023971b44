"""The on-disk network cache, and :func:`load_network`: a file or a place name
to a :class:`~circle15.geo.network.graph.Network`, built once and then read back.

A built network is kept as one ``.npz`` file under a key made from a hash of the
source's content, the settings and the travel mode (one file per mode: the
walking network and the riding network of e-bikes and bicycles differ), so a
second start reads a few arrays instead of the OSM file. The cache lives in the
user's cache folder (platformdirs), or in ``$CIRCLE15_CACHE_DIR``; never inside
the installed package.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import pyproj
import scipy.sparse as sp

from circle15.geo.errors import NetworkError
from circle15.geo.forked import finish_background, in_background
from circle15.geo.modes import check_mode
from circle15.geo.network import osm_prefetch
from circle15.geo.network.cache_keys import cache_file_name, cache_key, default_cache_dir
from circle15.geo.network.graph import Network
from circle15.geo.network.lines import Lines
from circle15.geo.network.osm_read import (
    network_from_graphml,
    network_from_osm_file,
    network_from_place,
)
from circle15.geo.snapping.segment_index import SegmentIndex, keep_index, segment_index

log = logging.getLogger(__name__)

def _bounds(value: list[float] | None) -> tuple[float, float, float, float] | None:
    return None if value is None else (value[0], value[1], value[2], value[3])


def save_network(net: Network, path: Path) -> None:
    """Write a network to one ``.npz`` file (atomically)."""
    coords, offsets = net.edge_lines.coords, net.edge_lines.offsets
    dropped_coords, dropped_offsets = net.dropped_lines.coords, net.dropped_lines.offsets
    extra = {} if net.edge_oneway is None else {"edge_oneway": net.edge_oneway}
    # the nearest-edge index too: rebuilding it costs more than reading it
    index = segment_index(net)
    extra |= {f"seg_{f}": getattr(index, f) for f in SegmentIndex.FIELDS}
    extra |= {f"seg_{f}": v for f, v in index.tree_arrays().items()}
    # and the searches' graph (0.15 s to sort on a district, 2 ms to read back)
    graph = net.csr
    extra |= {"csr_indptr": graph.indptr, "csr_indices": graph.indices, "csr_data": graph.data}
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
            edge_way=net.edge_way,
            edge_join_flags=net.edge_join_flags,
            dropped_coords=dropped_coords,
            dropped_offsets=dropped_offsets,
            bounds=np.array(json.dumps(net.bounds_lonlat)),
            mode=np.array(net.mode),
            **extra,
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_network(path: Path) -> Network:
    """Read a network written by :func:`save_network`."""
    with np.load(path, allow_pickle=False) as z:
        net = Network(
            crs=pyproj.CRS.from_wkt(str(z["crs"])),
            node_osmid=z["node_osmid"],
            node_xy=z["node_xy"],
            node_lonlat=z["node_lonlat"],
            edge_u=z["edge_u"],
            edge_v=z["edge_v"],
            edge_length_m=z["edge_length_m"],
            edge_lines=Lines(z["edge_coords"], z["edge_offsets"]),
            edge_way=z["edge_way"],
            edge_join_flags=z["edge_join_flags"],
            dropped_lines=Lines(z["dropped_coords"], z["dropped_offsets"]),
            bounds_lonlat=_bounds(json.loads(str(z["bounds"]))),
            source=str(z["source"]),
            info={"from_cache": str(path)},
            edge_oneway=z["edge_oneway"] if "edge_oneway" in z.files else None,
            mode=str(z["mode"]) if "mode" in z.files else "walk",
        )
        if "seg_start" in z.files:
            keep_index(net, SegmentIndex.from_arrays(
                {f: z[f"seg_{f}"] for f in SegmentIndex.FIELDS + SegmentIndex.TREE_FIELDS
                 if f"seg_{f}" in z.files}))
        if "csr_indptr" in z.files:
            n = net.n_nodes
            net.__dict__["csr"] = sp.csr_matrix(  # what the cached property would build
                (z["csr_data"], z["csr_indices"], z["csr_indptr"]), shape=(n, n))
    return net


def load_network(
    source: str | Path,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    keep_all_components: bool = False,
    mode: str = "walk",
) -> Network:
    """Load the network of a travel mode from a file or a place name, through the cache.

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
    mode
        ``walk`` (the walking network), ``ebike`` or ``bike`` (the riding
        network: roads and cycleways, no motorways or foot-only ways, one-way
        rules for riders); each mode is cached in its own file.
    """
    mode = check_mode(mode)
    text = str(source)
    path = Path(text)
    looks_like_file = path.suffix.lower() in {".pbf", ".osm", ".bz2", ".gz", ".xml", ".graphml"}
    if looks_like_file and not path.is_file():
        msg = f"{path}: no such file"
        raise NetworkError(msg)
    cache_file = None
    if use_cache:
        key = cache_key(text, keep_all_components=keep_all_components, mode=mode)
        cache_file = (cache_dir or default_cache_dir()) / cache_file_name(key, mode)
        finish_background()  # a cache being written (by this process) is waited for
        if cache_file.is_file():
            osm_prefetch.cancel()  # the file need not be read after all
            try:
                return read_network(cache_file)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable cache %s (%s)", cache_file, exc)
    if path.is_file():
        if path.suffix.lower() == ".graphml":
            net = network_from_graphml(path, keep_all_components=keep_all_components, mode=mode)
        else:
            net = network_from_osm_file(path, keep_all_components=keep_all_components,
                                        mode=mode)
    else:
        net = network_from_place(text, keep_all_components=keep_all_components, mode=mode)
    if cache_file is not None:
        segment_index(net)  # built here: the network's users need it as well
        # written by a child while this process goes on to use the network
        in_background(f"writing the network cache {cache_file}", save_network, net, cache_file)
    return net
