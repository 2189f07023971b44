"""A district's people joined by the compiled loops (many points at once): the same
joins, offsets and ways to the nodes as the numpy path, and the ways carried
through the steps that keep some points."""

from __future__ import annotations

import numpy as np
import pytest

from circle15.geo.snapping import snap
from circle15.geo.snapping.placement import _spread
from circle15.geo.snapping.segment_index import segment_index
from circle15.geo.snapping.snap import DEFAULT_RULE, Joins, SnapRule, snap_points
from tests.helpers import points_near_streets


def _positions(net, rng: np.random.Generator) -> np.ndarray:
    """People near streets, some far from them (beyond the snapping limit, and
    fallbacks onto avoided streets), outside the streets' box and not finite."""
    ll = np.vstack([points_near_streets(net, 6000, rng, spread_m=40),
                    points_near_streets(net, 400, rng, spread_m=400)])
    index = segment_index(net)
    lo, hi = index.start.min(axis=0), index.start.max(axis=0)
    # on avoided streets (bridges, tunnels, trunks): their eligible streets may be far
    avoided = np.flatnonzero(net.edge_join_flags != 0)
    on_avoided = index.start[np.isin(index.edge, avoided)]
    return np.vstack([net.project(ll[:, 0], ll[:, 1]),
                      rng.uniform(lo - 3000, hi + 3000, size=(300, 2)),
                      on_avoided[rng.choice(len(on_avoided), min(300, len(on_avoided)))],
                      [[np.nan, 0.0], [np.inf, np.inf]]])


def _both(net, xy, monkeypatch, rule: SnapRule, max_dist_m: float = 25.0):
    monkeypatch.setattr(snap, "MANY_POINTS", 10**9)
    plain = snap_points(net, xy, max_dist_m=max_dist_m, rule=rule)
    monkeypatch.setattr(snap, "MANY_POINTS", 1)
    compiled = snap_points(net, xy, max_dist_m=max_dist_m, rule=rule)
    return plain, compiled


def _same_joins(a: Joins, b: Joins) -> None:
    assert a.point.tolist() == b.point.tolist()
    assert a.edge.tolist() == b.edge.tolist()
    for f in ("off_m", "along_m", "to_u_m", "to_v_m"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=0, atol=1e-9)


@pytest.mark.parametrize("network", ["liechtenstein", "andorra"])
def test_compiled_snapping_gives_the_numpy_answer(request, network, monkeypatch):
    net = request.getfixturevalue(network)
    xy = _positions(net, np.random.default_rng(5))
    plain, compiled = _both(net, xy, monkeypatch, DEFAULT_RULE)
    # the mix holds what the merge must handle
    assert plain.fallback.sum() > 0, "no fallback point"
    assert (plain.edge < 0).sum() > 0, "no point beyond the limit"
    assert plain.joins is not None and compiled.joins is not None
    assert "_ends" in compiled.joins.__dict__  # worked out by the loops too
    assert compiled.edge.tolist() == plain.edge.tolist()
    assert compiled.fallback.tolist() == plain.fallback.tolist()
    for f in ("off_m", "along_m", "to_u_m", "to_v_m"):
        np.testing.assert_allclose(getattr(compiled, f), getattr(plain, f), rtol=0, atol=1e-9)
    _same_joins(plain.joins, compiled.joins)
    assert np.bincount(plain.joins.point).max() > 5  # many streets within the slack
    mine, ref = compiled.joins.ends(), plain.joins.ends()
    for f in ("point", "node", "join"):
        assert getattr(mine, f).tolist() == getattr(ref, f).tolist(), f
    np.testing.assert_allclose(mine.extra_m, ref.extra_m, rtol=0, atol=1e-9)


def test_compiled_snapping_without_a_slack_or_an_avoided_street(liechtenstein, monkeypatch):
    xy = _positions(liechtenstein, np.random.default_rng(8))
    plain, compiled = _both(liechtenstein, xy, monkeypatch, SnapRule(avoid=(), slack_m=0.0))
    assert plain.joins is None and compiled.joins is None
    assert compiled.edge.tolist() == plain.edge.tolist()
    np.testing.assert_allclose(compiled.off_m, plain.off_m, rtol=0, atol=1e-9)
    np.testing.assert_allclose(compiled.along_m, plain.along_m, rtol=0, atol=1e-9)


def test_ways_to_the_nodes_carry_over_to_the_points_kept(liechtenstein, monkeypatch):
    xy = _positions(liechtenstein, np.random.default_rng(9))
    monkeypatch.setattr(snap, "MANY_POINTS", 1)
    s = snap_points(liechtenstein, xy, max_dist_m=300.0, rule=DEFAULT_RULE)
    keep = s.ok & (np.arange(len(s)) % 3 != 0)
    for taken in (s.take(keep), _spread(s, np.arange(len(s)) * 2, 2 * len(s))):
        assert taken.joins is not None
        carried = taken.joins.ends()
        j = taken.joins
        fresh = Joins(j.point, j.edge, j.off_m, j.along_m, j.to_u_m, j.to_v_m, j.u, j.v).ends()
        for f in ("point", "node", "join"):
            assert getattr(carried, f).tolist() == getattr(fresh, f).tolist(), f
        np.testing.assert_allclose(carried.extra_m, fresh.extra_m, rtol=0, atol=0)
