"""Join points to the walking network: the snapping rule.

A point (a person, a station, a courier's query) enters the network from where
it stands, so it may join only edges a pedestrian can step onto from there:
by default not tunnels, ways below ground, indoor ways, bridges or trunks
without a sidewalk (:mod:`circle15.geo.network.osm_tags`, like GraphHopper's
``snap_preventions``); those edges stay in the network for walking through.

A point joins the best of the nearby eligible edges, not only the nearest:
every eligible edge within the nearest eligible edge's distance plus a slack
(:attr:`SnapRule.slack_m`, default 50 m) is a *join*; the point's walking time
is the minimum over its joins of straight-line walk + walk along the edge +
network walk. The slack applies even past the snapping limit. When no eligible
edge lies within the limit, the point falls back to the one nearest walkable
edge (no slack) and is flagged. Off-network distances are straight lines in the
network's metric CRS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from circle15.geo.errors import SettingsError, ref
from circle15.geo.network.graph import Network
from circle15.geo.network.osm_tags import DEFAULT_SNAP_AVOID, parse_snap_avoid
from circle15.geo.snapping.segment_index import SegmentIndex, eligible_index, segment_index
from circle15.geo.vocab import SNAP_SLACK_M

#: from this many points, snapping runs in compiled loops (:mod:`._many_points`):
#: they pay for loading numba (about a second) from about this many
MANY_POINTS = 50_000

#: default slack: joins within this many metres beyond the nearest eligible edge


@dataclass(frozen=True)
class SnapRule:
    """Which edges a point may join (``avoid``) and how far past the nearest (``slack_m``)."""

    avoid: tuple[str, ...] = DEFAULT_SNAP_AVOID
    slack_m: float = SNAP_SLACK_M

    @classmethod
    def of(cls, avoid: str | Iterable[str] | None = None,
           slack_m: float | None = None) -> SnapRule:
        """Validated rule from user settings (``"tunnel,bridge"``, ``"none"``, metres)."""
        slack = SNAP_SLACK_M if slack_m is None else float(slack_m)
        if not (np.isfinite(slack) and slack >= 0):
            msg = f"{ref('snap_slack_m')} must be 0 or a positive number of metres, not {slack_m}"
            raise SettingsError(msg)
        return cls(parse_snap_avoid(avoid), slack)

    def describe(self) -> str:
        slack = (f"the best of the eligible edges within {self.slack_m:g} m beyond the nearest"
                 if self.slack_m > 0 else "the nearest eligible edge")
        if not self.avoid:
            return f"points join {slack}; every walkable edge is eligible"
        return (f"points join {slack}; they do not join edges of these kinds: "
                f"{', '.join(self.avoid)} (such edges are still walked through); with no "
                "eligible edge within the snapping limit a point joins the nearest walkable "
                "edge (fallback)")


#: the rule before snap prevention: the single nearest walkable edge
NEAREST_EDGE = SnapRule(avoid=(), slack_m=0.0)
#: the default rule: no tunnels, underground, indoor ways, bridges or bare trunks;
#: the best of the eligible edges within 50 m beyond the nearest
DEFAULT_RULE = SnapRule()

_FIELDS = ("edge", "off_m", "along_m", "to_u_m", "to_v_m", "u", "v")


@dataclass(frozen=True)
class Joins:
    """Every way a set of points joins the network: one row per (point, edge).

    Rows are sorted by ``point``. ``along_m`` is the walking distance from the
    edge's ``u`` node to the join position; ``to_u_m``/``to_v_m`` the walk along
    the edge to each end; ``off_m`` the straight walk from the point.
    """

    point: NDArray[np.int64]
    edge: NDArray[np.int64]
    off_m: NDArray[np.float64]
    along_m: NDArray[np.float64]
    to_u_m: NDArray[np.float64]
    to_v_m: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.point.shape[0])

    def rows(self, index: NDArray[np.int64]) -> Joins:
        return Joins(self.point[index], *(getattr(self, f)[index] for f in _FIELDS))

    @cached_property
    def _ends(self) -> JoinEnds:
        # each join's two ends side by side: joins come grouped by point, so the
        # composite key below is nearly sorted and a stable (run-merging) sort is
        # several times faster than a full one
        rows = np.repeat(np.arange(len(self)), 2)
        point = np.repeat(self.point, 2)
        node = np.column_stack([self.u, self.v]).ravel()
        extra = np.column_stack([self.off_m + self.to_u_m, self.off_m + self.to_v_m]).ravel()
        # one sort by a composite (point, node) key; the shortest way of each run kept
        key = point * np.int64(max(int(node.max(initial=0)) + 1, 1)) + node
        order = np.argsort(key, kind="stable")
        key, extra_s = key[order], extra[order]
        start = np.ones(key.size, dtype=bool)
        start[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(start)
        if starts.size == key.size:
            keep = order
        else:
            best = np.minimum.reduceat(extra_s, starts)
            group = np.cumsum(start) - 1
            # the first of each run's shortest
            pick = np.flatnonzero(extra_s == best[group])
            pick = pick[np.concatenate([[True], group[pick][1:] != group[pick][:-1]])]
            keep = order[pick]
        return JoinEnds(point[keep], node[keep], extra[keep], rows[keep])

    def keep_ends(self, ends: JoinEnds) -> None:
        """Set what :meth:`ends` returns (computed earlier for these same joins)."""
        self.__dict__["_ends"] = ends

    def ends(self) -> JoinEnds:
        """The best way from each point to each node it joins next to (sorted by
        point, then node); computed once."""
        return self._ends


def _renumbered(joins: Joins, idx: NDArray[np.int64], n_points: int,
                rows: NDArray[np.int64]) -> JoinEnds:
    """The ends of ``joins`` for the points ``idx`` (increasing), whose joins are its
    ``rows``, numbered as the points and joins taken."""
    ends = joins.ends()
    new_point = np.full(n_points, -1, dtype=np.int64)
    new_point[idx] = np.arange(idx.size)
    new_row = np.full(len(joins), -1, dtype=np.int64)
    new_row[rows] = np.arange(rows.size)
    kept = new_point[ends.point] >= 0
    return JoinEnds(new_point[ends.point[kept]], ends.node[kept], ends.extra_m[kept],
                    new_row[ends.join[kept]])


class JoinEnds(NamedTuple):
    """From each point to a network node next to one of its joins, the shortest way."""

    point: NDArray[np.int64]
    node: NDArray[np.int64]
    #: off-network walk + walk along the edge to the node, metres
    extra_m: NDArray[np.float64]
    #: the row of :class:`Joins` this way goes through
    join: NDArray[np.int64]


@dataclass(frozen=True)
class Snapped:
    """Positions of k points on the network (all arrays of shape (k,)).

    The per-point arrays describe each point's *primary* join: its nearest
    eligible edge (or the fallback edge). ``joins`` holds every join of the
    rule (None when the primary join is the only one).

    Attributes
    ----------
    edge
        Index of the primary edge; -1 where none was within reach.
    off_m
        Straight-line walk from the point to the edge, metres.
    along_m
        Walking distance from the edge's ``u`` node to the snapped position.
    to_u_m, to_v_m
        Walking distance along the edge to its ``u`` and ``v`` nodes, metres.
    u, v
        The edge's end nodes (indices), -1 where not snapped.
    fallback
        True where no eligible edge was within reach and the point joined the
        nearest walkable edge instead.
    """

    edge: NDArray[np.int64]
    off_m: NDArray[np.float64]
    along_m: NDArray[np.float64]
    to_u_m: NDArray[np.float64]
    to_v_m: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    joins: Joins | None = None
    fallback: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if self.fallback.shape[0] != self.edge.shape[0]:
            object.__setattr__(self, "fallback", np.zeros(self.edge.shape[0], dtype=bool))

    @property
    def ok(self) -> NDArray[np.bool_]:
        return self.edge >= 0

    def __len__(self) -> int:
        return int(self.edge.shape[0])

    def all_joins(self) -> Joins:
        """Every join, the primary ones included (rows sorted by point)."""
        if self.joins is not None:
            return self.joins
        ok = np.flatnonzero(self.ok)
        return Joins(ok, *(getattr(self, f)[ok] for f in _FIELDS))

    def take(self, index: NDArray[np.int64] | NDArray[np.bool_]) -> Snapped:
        """The points at ``index`` (a mask or positions), in that order."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        if idx.size == len(self) and bool((idx == np.arange(idx.size)).all()):
            return self  # every point, in order (a layer with nobody dropped)
        joins = None
        if self.joins is not None:
            ptr = np.searchsorted(self.joins.point, np.arange(len(self) + 1))
            start, count = ptr[idx], ptr[idx + 1] - ptr[idx]
            new_point = np.repeat(np.arange(idx.size), count)
            rows = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) \
                + np.repeat(start, count)
            picked = self.joins.rows(rows)
            joins = Joins(new_point, *(getattr(picked, f) for f in _FIELDS))
            if "_ends" in self.joins.__dict__ and bool((np.diff(idx) > 0).all()):
                # kept points in their order: their ends carry over, renumbered
                joins.keep_ends(_renumbered(self.joins, idx.astype(np.int64), len(self), rows))
        primary = {f: getattr(self, f)[idx] for f in _FIELDS}
        return Snapped(**primary, joins=joins, fallback=self.fallback[idx])

    @staticmethod
    def concat(parts: list[Snapped]) -> Snapped:
        primary = {f: np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS}
        fallback = np.concatenate([p.fallback for p in parts])
        joins = None
        if any(p.joins is not None for p in parts):
            offsets = np.cumsum([0] + [len(p) for p in parts])
            alls = [p.all_joins() for p in parts]
            point = np.concatenate([j.point + o for j, o in zip(alls, offsets, strict=False)])
            joins = Joins(point, *(np.concatenate([getattr(j, f) for j in alls])
                                   for f in _FIELDS))
        return Snapped(**primary, joins=joins, fallback=fallback)


def _walk_along(net: Network, index: SegmentIndex, edge: NDArray[np.int64],
                geo_along: NDArray[np.float64]) -> NDArray[np.float64]:
    """Geometric offset along an edge's shape -> walking metres from its ``u`` node."""
    glen = index.edge_geom_length[edge]
    frac = np.divide(geo_along, glen, out=np.zeros(edge.size), where=glen > 0)
    return np.clip(frac, 0.0, 1.0) * net.edge_length_m[edge]


def _joins_of(net: Network, near: tuple[NDArray[np.int64], NDArray[np.int64],
                                       NDArray[np.float64], NDArray[np.float64]],
              fallback: NDArray[np.bool_], edge: NDArray[np.int64], off: NDArray[np.float64],
              geo_along: NDArray[np.float64], *, compiled_ends: bool) -> Joins:
    """The joins: the eligible edges ``near`` each point (grouped by point), and for a
    fallback point its one nearest walkable edge, no slack."""
    jp, je, jd, ja = near
    fb = np.flatnonzero(fallback)
    if fb.size:
        jp = np.concatenate([jp, fb])
        je = np.concatenate([je, edge[fb]])
        jd = np.concatenate([jd, off[fb]])
        ja = np.concatenate([ja, geo_along[fb]])
        order = np.argsort(jp, kind="stable")
        jp, je, jd, ja = jp[order], je[order], jd[order], ja[order]
    walk = _walk_along(net, segment_index(net), je, ja)
    joins = Joins(jp, je, jd, walk, walk, net.edge_length_m[je] - walk,
                  net.edge_u[je], net.edge_v[je])
    if compiled_ends:  # numba is loaded already: the ends by its loops too
        from circle15.geo.snapping._many_points import join_ends

        joins.keep_ends(JoinEnds(*join_ends(joins.point, joins.u, joins.v, joins.off_m,
                                            joins.to_u_m, joins.to_v_m)))
    return joins


def snap_points(net: Network, xy: NDArray[np.float64], *, max_dist_m: float,
                rule: SnapRule = NEAREST_EDGE) -> Snapped:
    """Join (k, 2) points in the network's CRS to the network under ``rule``.

    Points with no eligible edge within ``max_dist_m`` fall back to the nearest
    walkable edge (``fallback`` True); points farther than ``max_dist_m`` from
    every edge get ``edge = -1`` and NaN distances: the caller decides whether
    that is an error.
    """
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    k = int(pts.shape[0])
    edge = np.full(k, -1, dtype=np.int64)
    off = np.full(k, np.nan)
    geo_along = np.full(k, np.nan)
    fallback = np.zeros(k, dtype=bool)
    # far outside the network's UTM zone a projection gives inf: never a match
    finite = np.flatnonzero(np.isfinite(pts).all(axis=1))
    eligible = eligible_index(net, rule.avoid, int(finite.size))
    joins = None
    if finite.size:
        many = finite.size >= MANY_POINTS and isinstance(eligible, SegmentIndex)
        if many:  # a district's people: compiled loops (numba), the same answers
            from circle15.geo.snapping._many_points import snap_many

            (e_f, d_f, a_f), found = snap_many(eligible, pts[finite], max_dist_m=max_dist_m,
                                               slack_m=rule.slack_m)
        else:
            e_f, d_f, a_f = eligible.nearest(pts[finite])
        hit = d_f <= max_dist_m
        edge[finite[hit]], off[finite[hit]], geo_along[finite[hit]] = e_f[hit], d_f[hit], a_f[hit]
        miss = finite[~hit]
        if miss.size and rule.avoid:
            e_m, d_m, a_m = segment_index(net).nearest(pts[miss])
            ok = d_m <= max_dist_m
            rows = miss[ok]
            edge[rows], off[rows], geo_along[rows] = e_m[ok], d_m[ok], a_m[ok]
            fallback[rows] = True
        if rule.slack_m > 0:
            if many:
                jp, je, jd, ja = finite[found[0]], found[1], found[2], found[3]
            else:
                radius = np.full(k, np.inf)
                radius[finite[hit]] = d_f[hit] + rule.slack_m
                jp, je, jd, ja = eligible.within(pts, radius)
            joins = _joins_of(net, (jp, je, jd, ja), fallback, edge, off, geo_along,
                              compiled_ends=many)
    ok = edge >= 0
    safe = np.where(ok, edge, 0)
    along = np.where(ok, _walk_along(net, segment_index(net), safe,
                                     np.nan_to_num(geo_along)), np.nan)
    length = np.where(ok, net.edge_length_m[safe], np.nan)
    return Snapped(
        edge=edge,
        off_m=off,
        along_m=along,
        to_u_m=along,
        to_v_m=length - along,
        u=np.where(ok, net.edge_u[safe], -1),
        v=np.where(ok, net.edge_v[safe], -1),
        joins=joins,
        fallback=fallback,
    )


def snap_one(net: Network, x: float, y: float, *, max_dist_m: float,
             rule: SnapRule = NEAREST_EDGE) -> Snapped:
    """:func:`snap_points` for one point (a courier's question): the same answer by
    compiled loops over the grid cells around it (:mod:`circle15.geo.snapping._one_point`),
    none of the batch machinery."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return snap_points(net, np.array([[x, y]]), max_dist_m=max_dist_m, rule=rule)
    from circle15.geo.snapping._one_point import nearest_one, within_one  # loads numba

    eligible, full = segment_index(net, rule.avoid), segment_index(net)
    edge, off, geo_along = nearest_one(eligible, x, y)
    hit = off <= max_dist_m
    fallback = False
    if not hit:
        edge, off, geo_along = -1, math.nan, math.nan
        if rule.avoid:
            e_m, d_m, a_m = nearest_one(full, x, y)
            if d_m <= max_dist_m:
                edge, off, geo_along, fallback = e_m, d_m, a_m, True
    joins = None
    if rule.slack_m > 0:
        je, jd, ja = (within_one(eligible, x, y, off + rule.slack_m) if hit else
                      (np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)))
        if fallback:  # the one nearest walkable edge, no slack
            je, jd, ja = np.append(je, edge), np.append(jd, off), np.append(ja, geo_along)
        walk = _walk_along(net, full, je, ja)
        joins = Joins(np.zeros(je.size, dtype=np.int64), je, jd, walk, walk,
                      net.edge_length_m[je] - walk, net.edge_u[je], net.edge_v[je])
    if edge >= 0:
        along = float(_walk_along(net, full, np.array([edge]), np.array([geo_along]))[0])
        rest, u, v = float(net.edge_length_m[edge]) - along, net.edge_u[edge], net.edge_v[edge]
    else:
        along = rest = math.nan
        u = v = -1
    return Snapped(edge=np.array([edge], dtype=np.int64), off_m=np.array([off]),
                   along_m=np.array([along]), to_u_m=np.array([along]), to_v_m=np.array([rest]),
                   u=np.array([u], dtype=np.int64), v=np.array([v], dtype=np.int64),
                   joins=joins, fallback=np.array([fallback]))


def snapped_xy(net: Network, snapped: Snapped) -> NDArray[np.float64]:
    """Coordinates (metres) of the primary snapped positions; NaN where not snapped."""
    return join_xy(net, snapped.edge, snapped.along_m)


def join_xy(net: Network, edge: NDArray[np.int64], along_m: NDArray[np.float64]
            ) -> NDArray[np.float64]:
    """Coordinates (metres) of positions ``along_m`` walking metres from each edge's ``u``."""
    out = np.full((edge.shape[0], 2), np.nan)
    ok = edge >= 0
    if ok.any():
        e = edge[ok]
        length = net.edge_length_m[e]
        frac = np.divide(along_m[ok], length, out=np.zeros(e.shape[0]), where=length > 0)
        pts = shapely.line_interpolate_point(net.edge_geometry[e], frac, normalized=True)
        out[ok] = shapely.get_coordinates(pts)
    return out
