"""The snapping rule: people, stations and couriers join streets they can step onto.

Small hand-made networks for each case the rule exists for (a point above a
tunnel, beside a bridge, by a dead-end track with a street a little farther,
on an island, outside the extract), and the real extracts against an
independent implementation of the same rule (tags read straight from the OSM
file, candidate streets found by brute force with GEOS, times by networkx).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyproj
import pytest
import shapely

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.errors import InputError, SettingsError
from circle15.geo.inputs.stations import stations_from_records
from circle15.geo.network.osm_tags import SNAP_CLASSES, avoid_mask, join_flags
from circle15.geo.population.points import population_from_points
from circle15.geo.snapping.placement import place_points
from circle15.geo.snapping.segment_index import (
    MASKED_POINTS,
    MaskedIndex,
    SegmentIndex,
    eligible_index,
    keep_index,
    segment_index,
)
from circle15.geo.snapping.snap import NEAREST_EDGE, Joins, Snapped, SnapRule
from tests.conftest import make_network, metres_to_lonlat, shared
from tests.helpers import make_population, make_stations, points_near_streets
from tests.reference import as_array, nearest_lengths, split_graph

TUNNEL = SNAP_CLASSES["tunnel"] | SNAP_CLASSES["underground"]
BRIDGE = SNAP_CLASSES["bridge"]
SETTINGS = CoverageSettings(bands_min=(15,), speed_kmh=4.0)  # 1,000 m


def _ll(xy):
    return metres_to_lonlat(np.asarray(xy, dtype=float))


def _snap(net, xy, rule=None, max_dist_m=500.0):
    ll = _ll(xy)
    rule = SnapRule() if rule is None else rule
    return place_points(net, ll[:, 0], ll[:, 1], max_snap_m=max_dist_m, rule=rule)


def test_tags_decide_where_points_may_join():
    assert join_flags({"highway": "service", "tunnel": "yes", "layer": "-3"}) == TUNNEL
    assert join_flags({"highway": "footway", "tunnel": "building_passage", "layer": "-1"}) == 0
    assert join_flags({"highway": "footway", "layer": "-1"}) == SNAP_CLASSES["underground"]
    assert join_flags({"highway": "corridor"}) == SNAP_CLASSES["indoor"]
    assert join_flags({"highway": "footway", "indoor": "yes"}) == SNAP_CLASSES["indoor"]
    assert join_flags({"highway": "footway", "indoor": "no"}) == 0
    assert join_flags({"highway": "primary", "bridge": "yes", "layer": "1"}) == BRIDGE
    assert join_flags({"highway": "trunk"}) == SNAP_CLASSES["trunk"]
    assert join_flags({"highway": "trunk", "sidewalk": "both"}) == 0
    assert join_flags({"highway": "trunk_link", "sidewalk": "separate"}) == SNAP_CLASSES["trunk"]
    assert join_flags({"highway": "trunk", "foot": "yes"}) == 0
    assert join_flags({"highway": "residential", "layer": "1"}) == 0
    assert SnapRule.of("none").avoid == () and SnapRule.of(None).avoid == tuple(SNAP_CLASSES)
    assert SnapRule.of("bridge, tunnel").avoid == ("bridge", "tunnel")
    with pytest.raises(SettingsError, match="unknown class ferry"):
        SnapRule.of("ferry")
    with pytest.raises(SettingsError, match="snap_slack_m must be"):
        SnapRule.of(None, -1)


@pytest.fixture(scope="module")
def tunnel_net():
    # surface street 0-1 along y = 30; a tunnel 2-3 right under the path along y = 0,
    # joined to the street by ramps 0-2 and 1-3
    nodes = [(0, 30), (200, 30), (0, 0), (200, 0)]
    edges = [(0, 1), (2, 3), (0, 2), (1, 3)]
    flags = np.array([0, TUNNEL, 0, 0], dtype=np.uint8)
    return make_network(nodes, edges, edge_join_flags=flags,
                        edge_way=np.array([10, 20, 30, 40]))


def test_a_point_above_a_tunnel_joins_the_street(tunnel_net):
    placed = _snap(tunnel_net, [(100, 5)])
    assert placed.snapped.edge[0] == 0  # the street 25 m away, not the tunnel 5 m below
    assert placed.snapped.off_m[0] == pytest.approx(25)
    # switched off, it is the tunnel again (the old nearest-edge rule)
    assert _snap(tunnel_net, [(100, 5)], rule=NEAREST_EDGE).snapped.edge[0] == 1
    assert _snap(tunnel_net, [(100, 5)], rule=SnapRule.of("none", 0)).snapped.edge[0] == 1


def test_the_tunnel_is_still_walked_through(tunnel_net):
    # a station 10 m west of the tunnel's west portal, a person 10 m east of the east
    # one: both join the ramps at the portals, and the way between is the tunnel
    st = make_stations(tunnel_net, _ll([(-10, 0)]))
    people = population_from_points(tunnel_net, *_ll([(210, 0)]).T, np.array([1.0]))
    cov = compute_coverage(tunnel_net, st, people, settings=SETTINGS)
    assert people.snapped.edge[0] == 3 and st.snapped.edge[0] == 2
    assert cov.nearest_any.target_dist_m[0] == pytest.approx(10 + 200 + 10)


def test_beside_a_bridge_a_point_joins_the_street_not_the_bridge():
    # street 0-1-2-3 along y = 0 whose middle part 1-2 is a bridge over a motorway
    # (the motorway itself is not walkable); a lane along y = 40 below
    nodes = [(0, 0), (100, 0), (200, 0), (300, 0), (0, 40), (300, 40)]
    edges = [(0, 1), (1, 2), (2, 3), (4, 5), (0, 4), (3, 5)]
    flags = np.array([0, BRIDGE, 0, 0, 0, 0], dtype=np.uint8)
    net = make_network(nodes, edges, edge_join_flags=flags)
    placed = _snap(net, [(150, 8)])
    joins = placed.snapped.all_joins()
    assert placed.snapped.edge[0] == 3  # the lane, 32 m away (the bridge is 8 m)
    assert 1 not in joins.edge.tolist()
    # within 32 + 50 m also the street's ends off the bridge (50.6 m away)
    assert sorted(joins.edge.tolist()) == [0, 2, 3]
    np.testing.assert_allclose(sorted(joins.off_m), [32, np.hypot(50, 8), np.hypot(50, 8)])


def test_a_dead_end_track_does_not_strand_people():
    # a street 0-1 with a station at its west end; a dead-end track 2-3 that joins the
    # street only 600 m away, through 3-4-1; the person stands 10 m from the track's end
    # and 30 m from the street
    nodes = [(0, 0), (400, 0), (400, 40), (200, 40), (200, 640), (400, 640)]
    edges = [(0, 1), (3, 2), (3, 4), (4, 5), (5, 1)]
    net = make_network(nodes, edges)
    st = make_stations(net, _ll([(0, 10)]))
    who = _ll([(380, 30)])
    far = population_from_points(net, *who.T, np.array([1.0]), rule=NEAREST_EDGE)
    best = population_from_points(net, *who.T, np.array([1.0]))
    cov_far = compute_coverage(net, st, far, settings=SETTINGS)
    cov_best = compute_coverage(net, st, best, settings=SETTINGS)
    assert far.snapped.edge[0] == 1  # the track, 10 m away
    # the street 30 m away is within the 50 m slack: straight there, then 380 m west
    assert cov_best.nearest_any.target_dist_m[0] == pytest.approx(10 + 380 + 30)
    assert cov_far.nearest_any.target_dist_m[0] > 1000  # beyond the limit on the track
    assert cov_best.unit_count[0, 0] == 1 and cov_far.unit_count[0, 0] == 0
    # the layer says where the person joined: the street, 30 m off
    units = cov_best.units_frame()
    assert units["snap_m"].iloc[0] == pytest.approx(30)


def test_a_station_on_an_island_is_refused_with_the_way_out():
    # the main grid, and a small loop 300 m east that the network drops
    main = [(0, 0), (200, 0), (200, 200), (0, 200)]
    island = [(500, 0), (560, 0), (560, 60)]
    nodes = main + island
    edges = [(0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 4)]
    net = make_network(nodes, edges)
    assert net.n_nodes == 4 and net.dropped_geometry.size == 3
    lon, lat = _ll([(530, 20)])[0]
    rec = [{"id": "ISL", "name": "island", "lon": lon, "lat": lat}]
    with pytest.raises(InputError, match=r"dropped .*keep_all_components"):
        stations_from_records(rec, net, check_crs=False, max_snap_m=500)
    # a station far from both parts is told of the island too
    lon, lat = _ll([(560, 300)])[0]
    rec_far = [{"id": "FAR", "name": "far", "lon": lon, "lat": lat}]
    with pytest.raises(InputError, match="keep_all_components"):
        stations_from_records(rec_far, net, check_crs=False, max_snap_m=300)
    # with every part kept, the station stays on its island
    whole = make_network(nodes, edges, keep_all_components=True)
    st = stations_from_records(rec, whole, check_crs=False, max_snap_m=500)
    assert st.snapped.off_m[0] < 25


def test_points_outside_the_extract_bounds_are_flagged_and_stations_refused():
    nodes = [(0, 0), (1000, 0), (1000, 1000), (0, 1000)]
    edges = [(0, 1), (1, 2), (2, 3), (3, 0)]
    # the extract declares a box that ends at x = 500: the streets east of it are stubs
    sw, ne = _ll([(-10, -10), (500, 1010)])
    net = make_network(nodes, edges, bounds_lonlat=(sw[0], sw[1], ne[0], ne[1]))
    people = population_from_points(net, *_ll([(200, 20), (900, 20)]).T, np.array([5.0, 7.0]))
    assert people.frame["outside_bounds"].tolist() == [False, True]
    assert people.outside_bounds_units == 1
    lon, lat = _ll([(700, 10)])[0]
    with pytest.raises(InputError, match=r"200 m outside the bounds"):
        stations_from_records([{"id": "X", "name": "x", "lon": lon, "lat": lat}], net,
                              check_crs=False)


def test_a_point_with_only_a_tunnel_nearby_falls_back_and_is_counted(tunnel_net):
    # 5 m from the tunnel's west portal, 35 m from the street: limit 20 m
    pop = population_from_points(tunnel_net, *_ll([(100, -5)]).T, np.array([3.0]),
                                 max_snap_m=20)
    assert pop.snapped.fallback.tolist() == [True]
    assert pop.snapped.edge[0] == 1 and pop.fallback_units == 1


def test_far_point_messages_measure_on_the_earth(longgang):
    # 13,800 km away: the message gives the geodesic distance, not a projected one
    placed = place_points(longgang, np.array([-60.0]), np.array([-30.0]), max_snap_m=200)
    msg = str(placed.problems[0])
    km = float(msg.split("(")[-1].split(" km")[0].replace(",", ""))
    lon0, lat0 = longgang.node_lonlat.mean(axis=0)
    _, _, ellipsoid_m = pyproj.Geod(ellps="WGS84").inv(lon0, lat0, -60.0, -30.0)
    assert km == pytest.approx(ellipsoid_m / 1000, rel=0.01)


# ---------------------------------------------------------------------------
# real extracts: an independent implementation of the same rule


def _way_flags_from_file(path) -> dict[int, int]:
    """Snap-prevention classes of every way, straight from the OSM tags (not our reader)."""
    import osmium

    out = {}
    for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
        tags = dict(way.tags)
        if "highway" not in tags:
            continue
        bits = 0
        tunnel = tags.get("tunnel")
        if tunnel not in (None, "no", "building_passage"):
            bits |= SNAP_CLASSES["tunnel"]
        try:
            layer = float(tags.get("layer", "0").split(";")[0])
        except ValueError:
            layer = 0.0
        if layer < 0 and tunnel != "building_passage":
            bits |= SNAP_CLASSES["underground"]
        if tags.get("indoor", "no") != "no" or tags["highway"] == "corridor":
            bits |= SNAP_CLASSES["indoor"]
        if tags.get("bridge", "no") != "no":
            bits |= SNAP_CLASSES["bridge"]
        sidewalk = any(tags.get(k, "no") not in ("no", "none", "separate") for k in
                       ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"))
        if (tags["highway"] in ("trunk", "trunk_link") and not sidewalk
                and tags.get("foot") not in ("yes", "designated", "permissive", "official")):
            bits |= SNAP_CLASSES["trunk"]
        out[way.id] = bits
    return out


def _brute_force_joins(net, xy, eligible, *, limit_m, slack_m):
    """Every join of the rule found with GEOS over all edges, no index tricks."""
    pts = shapely.points(xy)
    geoms = net.edge_geometry
    rows = []
    tree = shapely.STRtree(geoms)
    for j, p in enumerate(pts):
        near = tree.query(p, predicate="dwithin", distance=limit_m + slack_m + 200)
        d = shapely.distance(geoms[near], p)
        ok = eligible[near]
        if ok.any() and d[ok].min() <= limit_m:
            cut = d[ok].min() + slack_m
            pick = near[ok & (d <= cut + 1e-6)]
        else:  # fallback: the one nearest walkable edge
            pick = near[[int(np.argmin(d))]]
        for e in pick:
            frac = shapely.line_locate_point(geoms[e], p, normalized=True)
            along = frac * net.edge_length_m[e]
            rows.append((j, e, float(shapely.distance(geoms[e], p)), along))
    arr = np.array(rows)
    point, edge = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    along = arr[:, 3]
    joins = Joins(point, edge, arr[:, 2], along, along, net.edge_length_m[edge] - along,
                  net.edge_u[edge], net.edge_v[edge])
    first = np.unique(point, return_index=True)[1]
    prim = {f: getattr(joins, f)[first] for f in ("edge", "off_m", "along_m", "to_u_m",
                                                   "to_v_m", "u", "v")}
    return Snapped(**prim, joins=joins)


@pytest.mark.parametrize(("extract", "fixture"), [("osm/andorra.osm.pbf", "andorra"),
                                                  ("osm/liechtenstein.osm.pbf", "liechtenstein")])
def test_agrees_with_an_independent_implementation(request, extract, fixture):
    net = request.getfixturevalue(fixture)
    flags = _way_flags_from_file(shared(extract))
    edge_flags = np.array([flags.get(int(w), 0) for w in net.edge_way])
    assert (edge_flags != 0).sum() > 100  # the extract has tunnels, bridges, trunks
    eligible = edge_flags == 0
    rng = np.random.default_rng(11)
    # people near streets, many of them near tunnels and bridges
    special = np.flatnonzero(~eligible)
    mids = shapely.get_coordinates(shapely.line_interpolate_point(
        net.edge_geometry[rng.choice(special, 300)], 0.5, normalized=True))
    near_special = net.unproject(mids + rng.normal(0, 25, mids.shape))
    people_ll = np.vstack([points_near_streets(net, 500, rng, spread_m=40), near_special])
    people = make_population(net, people_ll, rng)
    stations = make_stations(net, points_near_streets(net, 25, rng, spread_m=10))
    cov = compute_coverage(net, stations, people, settings=SETTINGS)

    ref_people = _brute_force_joins(net, people.frame.geometry.get_coordinates().to_numpy(),
                                    eligible, limit_m=500, slack_m=50)
    ref_st = _brute_force_joins(net, stations.frame.geometry.get_coordinates().to_numpy(),
                                eligible, limit_m=200, slack_m=50)
    # the same streets joined, at the same distances
    ours = people.snapped.all_joins()
    assert len(ours) == len(ref_people.joins)
    key = lambda j: sorted(zip(j.point.tolist(), j.edge.tolist(), strict=True))  # noqa: E731
    assert key(ours) == key(ref_people.joins)
    # and the same walking times by networkx on a graph holding every join
    G = split_graph(net, {"st": ref_st, "p": ref_people})
    ref = as_array(nearest_lengths(G, [("st", j) for j in range(len(stations))]),
                   [("p", j) for j in range(len(people))])
    np.testing.assert_allclose(cov.nearest_any.target_dist_m, ref, atol=1e-3)
    # covered status per person agrees
    assert ((cov.nearest.target_dist_m <= SETTINGS.limit_m)
            == (ref <= SETTINGS.limit_m + 1e-9)).all()


def test_a_few_points_query_the_full_index_masked(longgang):
    """Stations (a few points) join the eligible streets through the full index with
    the other pieces masked: the same edges, distances and offsets as the eligible
    streets' own index, also where the eligible streets are far (then that index)."""
    net = longgang
    full = segment_index(net)
    rule = SnapRule()
    sub = segment_index(net, rule.avoid)
    keep_edge = (net.edge_join_flags & avoid_mask(rule.avoid)) == 0
    assert 0.5 < keep_edge.mean() < 1.0, "the extract needs streets the rule avoids"
    rng = np.random.default_rng(41)
    xy = np.vstack([net.project(*points_near_streets(net, 800, rng, spread_m=80).T),
                    full.start[~keep_edge[full.edge]][:200]])  # on avoided streets
    built = []
    masked = MaskedIndex(full, keep_edge[full.edge], lambda: built.append(1) or sub)
    for got, want in zip(masked.nearest(xy), sub.nearest(xy), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    radius = sub.nearest(xy)[1] + 50.0
    got_w, want_w = masked.within(xy, radius), sub.within(xy, radius)
    for got, want in zip(got_w, want_w, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert not built
    # three eligible streets far apart: too far for the masked search, so the index of
    # those streets answers
    few = np.zeros(net.n_edges, dtype=bool)
    few[rng.choice(np.flatnonzero(keep_edge), 3, replace=False)] = True
    few_index = full.subset(few)
    masked = MaskedIndex(full, few[full.edge], lambda: built.append(1) or few_index)
    for got, want in zip(masked.nearest(xy[:50]), few_index.nearest(xy[:50]), strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert built
    # a station file's few points go the masked way while the eligible index is not
    # built; a population's many points build it
    fresh = dataclasses.replace(net)
    keep_index(fresh, full)
    assert isinstance(eligible_index(fresh, rule.avoid, 500), MaskedIndex)
    assert isinstance(eligible_index(fresh, rule.avoid, MASKED_POINTS + 1), SegmentIndex)
    assert isinstance(eligible_index(fresh, rule.avoid, 500), SegmentIndex)  # built now
