"""The courier's answers read from the tables made at load are the searched answers.

Past the limit, :class:`circle15.geo.courier.table.ReachTable` replaces one
bounded search per question: the answers (stations, order, metres, routes,
rounding, as the service serialises them) must be byte for byte those of the
search, within the limit, past it, with filters, in GCJ-02, walking and riding,
at positions and stations exactly on nodes (where two ways are equally long),
and with two stations at one spot.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import orjson
import pytest
import shapely

from circle15.geo.courier.nearest import NearestIndex
from circle15.geo.courier.table import merged
from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from circle15.geo.inputs.stations import Stations, read_stations
from circle15.geo.network.cache import load_network
from circle15.geo.network.lines import Lines
from circle15.geo.population.points import read_population
from circle15.geo.snapping import edge_path, edge_pieces
from circle15.geo.snapping.compiled import route_xy
from circle15.geo.snapping.snap import snap_one
from tests.conftest import shared
from tests.helpers import make_population, make_stations, points_near_streets

WHEN = datetime(2026, 11, 29, 10, 0)
ASKS = ({"k": 3}, {"k": 1}, {"k": 7, "crs": "gcj02"}, {"k": 20},
        {"k": 3, "amenity": "battery_swap"}, {"k": 2, "open_now": True},
        {"k": 4, "open_24h": True, "crs": "bd09"})


def _with_services(st: Stations) -> Stations:
    frame = st.frame.copy()
    frame["amenities"] = [("water;charger" if i % 2 else "first_aid")
                          + (";battery_swap" if i % 5 == 1 else "") for i in range(len(frame))]
    frame["opening_hours"] = ["24/7" if i % 3 else "Mo-Fr 08:00-09:00" for i in range(len(frame))]
    return Stations(gpd.GeoDataFrame(frame, geometry="geometry", crs=st.frame.crs), st.snapped)


def _questions(index: NearestIndex, rng: np.random.Generator, n: int) -> np.ndarray:
    """Positions near the streets, exactly on nodes, on the stations, and past the limit."""
    net = index.coverage.network
    d = index.coverage.nearest_any.node_dist_m
    far = np.flatnonzero((d > index.limit_m) & (d < index.reach_m))
    edge = np.flatnonzero((d > index.limit_m * 0.97) & (d < index.limit_m * 1.03))
    assert far.size >= 20 and edge.size >= 5, "the test area needs places past the limit"
    nodes = rng.choice(net.n_nodes, n // 4, replace=False)
    return np.vstack([
        points_near_streets(net, n // 2, rng, spread_m=40),
        net.node_lonlat[nodes],  # on a node: streets on every side equally near
        net.node_lonlat[rng.choice(far, n // 4)],
        net.node_lonlat[rng.choice(edge, 5)],  # about the limit
        index.coverage.stations.frame[["lon", "lat"]].to_numpy()[:10],
    ])


def _same_answers(index: NearestIndex, queries: np.ndarray, asks=ASKS) -> int:
    """Assert the table and the search answer alike; the number of answers past the limit."""
    searched = dataclasses.replace(index, table=None)
    assert index.table is not None
    beyond = 0
    for ask in asks:
        to = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}.get(ask.get("crs", ""))
        for lon, lat in queries if to is None else np.column_stack(to(*queries.T)):
            got = index.answer(lon, lat, when=WHEN, **ask)
            want = searched.answer(lon, lat, when=WHEN, **ask)
            assert orjson.dumps(got.as_dict()) == orjson.dumps(want.as_dict()), (lon, lat, ask)
            beyond += not want.within_limit and bool(want.stations)
    return beyond


def _loop(index: NearestIndex, q, st_joins) -> list[tuple[int, float, int, int, int]]:
    """The per-node lists merged one station at a time (the merge before the arrays)."""
    net = index.coverage.network
    best: dict[int, tuple[float, int, int, int]] = {}
    for r in range(len(q)):
        off, along = float(q.off_m[r]), float(q.along_m[r])
        one = net.edge_oneway is not None and bool(net.edge_oneway[int(q.edge[r])])
        legs = [] if one else [(int(q.u[r]), along)]
        for node, walk in (*legs, (int(q.v[r]), float(q.to_v_m[r]))):
            a, b = index.indptr[node], index.indptr[node + 1]
            for s, d in zip(index.station[a:b].tolist(), index.dist_m[a:b].tolist(),
                            strict=True):
                total = off + walk + d
                if s not in best or total < best[s][0]:
                    best[s] = (total, r, node, -1)
        for s, row in index.on_edge.get(int(q.edge[r]), []):
            if one and float(st_joins.along_m[row]) < along:
                continue
            total = (off + abs(along - float(st_joins.along_m[row]))
                     + float(st_joins.off_m[row]))
            if s not in best or total < best[s][0]:
                best[s] = (total, r, -1, row)
    return [(s, *v) for s, v in sorted(best.items(), key=lambda kv: kv[1][0])]


def _same_merge(index: NearestIndex, queries: np.ndarray) -> None:
    net = index.coverage.network
    st_joins = index.coverage.stations.snapped.all_joins()
    xy = net.project(queries[:, 0], queries[:, 1])
    for x, y in xy:
        q = snap_one(net, x, y, max_dist_m=index.max_snap_m, rule=index.rule).all_joins()
        c = merged(index.indptr, index.station, index.dist_m, net, q, st_joins, index.on_edge,
                   len(index.ids))
        assert list(zip(c.station, c.metres, c.q_row, c.end, c.st_row, strict=True)) == _loop(
            index, q, st_joins)


@pytest.fixture(scope="module")
def longgang_index(longgang):
    rng = np.random.default_rng(7)
    lonlat = points_near_streets(longgang, 40, rng)
    lonlat = np.vstack([lonlat, lonlat[:1]])  # two stations at one spot
    st = _with_services(make_stations(longgang, lonlat))
    people = make_population(longgang, points_near_streets(longgang, 100, rng), rng)
    return NearestIndex.build(compute_coverage(longgang, st, people,
                                               settings=CoverageSettings.of(6)))


def test_longgang_walking(longgang_index):
    rng = np.random.default_rng(3)
    queries = _questions(longgang_index, rng, 160)
    assert _same_answers(longgang_index, queries) >= 40
    _same_merge(longgang_index, queries)
    table = longgang_index.table
    assert table is not None and table.reach_m == 2 * longgang_index.limit_m
    # the table holds every station's search out to the reach, no further
    assert table.dist_m.max() <= table.reach_m


def test_longgang_riding(cache_dir: Path):
    net = load_network(shared("osm/shenzhen-longgang.osm"), cache_dir=cache_dir, mode="ebike")
    rng = np.random.default_rng(11)
    st = _with_services(make_stations(net, points_near_streets(net, 30, rng)))
    people = make_population(net, points_near_streets(net, 80, rng), rng)
    index = NearestIndex.build(compute_coverage(
        net, st, people, settings=CoverageSettings.of(2, mode="ebike")))
    assert net.directed
    queries = _questions(index, rng, 120)
    assert _same_answers(index, queries, ASKS[:4]) >= 30
    _same_merge(index, queries)


def test_district_city(cache_dir: Path):
    net = load_network(shared("district/subsets/city-10k.osm.pbf"), cache_dir=cache_dir)
    st = _with_services(read_stations(shared("district/subsets/stations-10k.csv"), net))
    people = read_population(shared("district/subsets/pop-10k.csv"), net)
    index = NearestIndex.build(compute_coverage(net, st, people,
                                                settings=CoverageSettings.of(8)))
    rng = np.random.default_rng(5)
    pop = people.frame[["lon", "lat"]].to_numpy()
    queries = np.vstack([_questions(index, rng, 200), pop[rng.choice(len(pop), 60,
                                                                     replace=False)]])
    assert _same_answers(index, queries, ASKS[:3] + ASKS[4:5]) >= 50


def test_route_pieces_from_kept_shapes(longgang):
    """Pieces cut from the shapes kept as arrays are the pieces cut from the geometries,
    bit for bit (bent streets, both directions, ends, outside the edge, one point)."""
    rng = np.random.default_rng(17)
    # the networks' edges are straight; bend 300 of them (two to five inner vertices)
    geoms = longgang.edge_geometry.copy()
    bent = rng.choice(longgang.n_edges, 300, replace=False)
    for e in bent.tolist():
        (x0, y0), (x1, y1) = shapely.get_coordinates(geoms[e])[[0, -1]]
        t = np.sort(rng.uniform(0, 1, rng.integers(2, 6)))
        inner = np.column_stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]) + rng.normal(
            0, 15, (t.size, 2))
        geoms[e] = shapely.linestrings(np.vstack([[x0, y0], inner, [x1, y1]]))
    net = dataclasses.replace(longgang, edge_lines=Lines.of(geoms),
                              edge_length_m=shapely.length(geoms))
    assert (np.diff(edge_pieces.edge_shapes(net).ptr) > 3).sum() >= 200
    for e in np.concatenate([bent[:300], rng.choice(net.n_edges, 300)]).tolist():
        length = float(net.edge_length_m[e])
        for a, b in ((rng.uniform(-5, length + 5), rng.uniform(-5, length + 5)),
                     (0.0, length), (length, 0.0), (length / 3, length / 3), (0.0, 0.0)):
            got, want = edge_pieces.along_edge(net, e, a, b), edge_path.along_edge(net, e, a, b)
            assert got.shape == want.shape and (got == want).all(), (e, a, b)
            # the compiled route (the service's): the same piece between its two ends
            shapes = edge_pieces.edge_shapes(net)
            drawn = route_xy(-1.0, -2.0, e, a, -1, np.zeros(0, dtype=np.int64), -1, b, 3.0,
                             4.0, shapes.xy, shapes.ptr, shapes.cum, net.edge_length_m,
                             net.edge_u, net.node_xy)
            assert (drawn[1:-1] == want).all() and drawn[[0, -1]].tolist() == [[-1, -2], [3, 4]]
