"""The courier's question: which stations can I walk to soonest, and how?

:class:`NearestIndex` is built once from a coverage result: for every network node,
the stations that reach it within the limit and how far they are, plus each station's
shortest-path tree. A query joins the courier's position to the network by the same
snapping rule as people and stations, reads the stations at the joined edges' ends (and
any on those edges), filters and sorts them, and walks the tree back for the route: no
graph search per query. The route is drawn as it is walked (courier -> street -> along
it -> path -> station's street -> station), so its length is the distance reported.

When no station (that passes the filters) is within the limit, the answer says so
(``within_limit`` false) and lists the nearest ones up to :data:`BEYOND_FACTOR` times
the limit, from a second table made at load (:class:`~circle15.geo.courier.table.ReachTable`;
``table=False``: one bounded search instead), as the offline courier page does. Each
station has navigation links (:mod:`.navigation`); a closed one says when it opens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from numpy.typing import NDArray

from circle15.geo.courier.beyond import BeyondSearch, Walk
from circle15.geo.courier.grid import walks_from
from circle15.geo.courier.navigation import NavLinks, Travel, nav_links, open_all_day, travel_of
from circle15.geo.courier.table import ReachTable, chains, merged, walk_back
from circle15.geo.coverage.count import Coverage
from circle15.geo.coverage.reach import directed_ends
from circle15.geo.crs import check_input_crs, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from circle15.geo.errors import InputError, SettingsError
from circle15.geo.inputs.station_hours import Hours, area_timezone
from circle15.geo.inputs.stations import parse_amenities
from circle15.geo.snapping.edge_pieces import edge_shapes
from circle15.geo.snapping.segment_index import segment_index
from circle15.geo.snapping.snap import DEFAULT_RULE, Joins, SnapRule, snap_one
from circle15.geo.vocab import NEAREST_RADIUS_M

#: when nothing is within the limit, the nearest stations up to this many times
#: the limit are listed instead (the API and the offline courier page alike)
BEYOND_FACTOR = 2.0


@dataclass(frozen=True)
class LineString:
    """A walking route as a GeoJSON LineString: (lon, lat) pairs, courier first."""

    type: Literal["LineString"]
    coordinates: list[tuple[float, float]]


@dataclass(frozen=True)
class NearestStation:
    """One answer: a station, the walk to it, and the route.

    The one nearest-station type of circle15: geo returns it, the service
    answers ``/nearest`` with it (:meth:`as_dict`), and the courier page
    lists rows with the same fields.
    """

    id: str
    name: str
    distance_m: float
    walk_min: float
    amenities: list[str]
    opening_hours: str
    #: open at the time asked; None when the hours are unknown
    open_now: bool | None
    lon: float
    lat: float
    route: LineString
    #: navigation links (Amap, Baidu; GCJ-02) and plain coordinates to copy
    nav: NavLinks | None = None
    #: open at every hour of the week (24/7)
    open_24h: bool = False
    #: when a closed station opens next (its zone's local time), within 8 days
    opens_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """As JSON wants it: metres to 0.1, minutes to 0.01."""
        return {
            "id": self.id, "name": self.name, "distance_m": round(self.distance_m, 1),
            "walk_min": round(self.walk_min, 2), "amenities": self.amenities,
            "opening_hours": self.opening_hours, "open_now": self.open_now,
            "open_24h": self.open_24h, "opens_at": self.opens_at and self.opens_at.isoformat(
                timespec="minutes"), "lon": self.lon, "lat": self.lat,
            "route": {"type": self.route.type,
                      "coordinates": [list(p) for p in self.route.coordinates]},
            "nav": None if self.nav is None else self.nav.as_dict(),
        }


@dataclass(frozen=True)
class NearestAnswer:
    """The stations nearest first, with what they were measured by; coordinates in ``crs``."""

    crs: str
    walking_speed_kmh: float
    limit_min: float
    stations: list[NearestStation]
    #: False when no station (passing the filters) is within the limit: then
    #: ``stations`` are the nearest up to ``reach_min`` (BEYOND_FACTOR x the limit)
    within_limit: bool = True
    reach_min: float = 0.0
    #: the travel mode of the minutes and the speed (walk, ebike, bike): ``walk_min``
    #: and ``walking_speed_kmh`` keep their names for riding, so clients keep working
    mode: str = "walk"

    def as_dict(self) -> dict[str, Any]:
        return {"crs": self.crs, "mode": self.mode, "walking_speed_kmh": self.walking_speed_kmh,
                "limit_min": self.limit_min, "within_limit": self.within_limit,
                "reach_min": self.reach_min, "stations": [s.as_dict() for s in self.stations]}


_NO_NODES = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class NearestIndex:
    """Per-node station lists and per-station trees, for fast nearest queries."""

    coverage: Coverage
    indptr: NDArray[np.int64]
    station: NDArray[np.int32]
    dist_m: NDArray[np.float64]
    #: per entry: its node, and the entry of its station at the previous node on the
    #: station's tree (-1: where the way from the station starts)
    node_of: NDArray[np.int32]
    next_at: NDArray[np.int32]
    #: edge -> the station joins on it: (station, row of the stations' joins)
    on_edge: dict[int, list[tuple[int, int]]]
    #: per station, the node where its way onto the network arrives -> its join row
    join_at: list[dict[int, int]]
    ids: list[str]
    names: list[str]
    amenities: list[list[str]]
    hours: list[Hours]
    max_snap_m: float = NEAREST_RADIUS_M
    rule: SnapRule = DEFAULT_RULE
    #: per station: open 24/7
    open_24h: list[bool] | None = None
    #: how couriers travel, for the navigation links
    travel: Travel = "walk"
    #: the stations out to :attr:`reach_m` per node, for the answers past the limit
    #: (None: one bounded search from the position per such answer)
    table: ReachTable | None = None

    @classmethod
    def build(cls, cov: Coverage, *, max_snap_m: float = NEAREST_RADIUS_M,
              timezone: ZoneInfo | str | None = None,
              rule: SnapRule = DEFAULT_RULE, travel: Travel | None = None,
              table: bool = True) -> NearestIndex:
        """The index for a coverage result.

        ``timezone`` is the area's, for opening hours; by default the one at
        the stations' median position. ``travel`` (default: the coverage's
        mode, walk or ride) is how the navigation links send couriers.
        ``table``: answers past the limit from a table made now
        (:class:`ReachTable`), not by a search per question.
        """
        nr = cov.node_reach
        n = cov.network.n_nodes
        order = np.lexsort((nr.dist_m, nr.target))
        counts = np.bincount(nr.target, minlength=n)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        assert nr.pred is not None
        m = len(cov.stations)
        node_of, st_of = nr.target[order], nr.source[order]
        next_at = chains(node_of, st_of, nr.pred[order], n, m)
        joins = cov.stations.snapped.all_joins()
        on_edge: dict[int, list[tuple[int, int]]] = {}
        for row, (i, e) in enumerate(zip(joins.point.tolist(), joins.edge.tolist(),
                                         strict=True)):
            on_edge.setdefault(e, []).append((i, row))
        ends = directed_ends(cov.network, joins, "source")
        join_at: list[dict[int, int]] = [{} for _ in range(m)]
        for i, node, row in zip(ends.point.tolist(), ends.node.tolist(), ends.join.tolist(),
                                strict=True):
            join_at[i][node] = row
        frame = cov.stations.frame
        def col(c: str) -> list[str]:
            return [str(x) for x in frame[c]] if c in frame else [""] * m

        lonlat = frame[["lon", "lat"]].to_numpy(dtype=float) if m else np.zeros((0, 2))
        if timezone is None and m:
            timezone = area_timezone(*np.median(lonlat, axis=0).tolist())
        hours = [Hours.read(h, timezone=timezone, lonlat=(lon, lat))
                 for h, (lon, lat) in zip(col("opening_hours"), lonlat.tolist(), strict=True)]
        index = cls(cov, indptr, st_of, nr.dist_m[order], node_of, next_at, on_edge, join_at,
                   col("id"), col("name"), [[a for a in x.split(";") if a]
                                            for x in col("amenities")],
                   hours, max_snap_m, rule, [open_all_day(h) for h in hours],
                   travel or travel_of(cov.settings.mode),
                   ReachTable.build(cov.network, cov.stations.snapped,
                                    BEYOND_FACTOR * cov.settings.limit_m) if table else None)
        edge_shapes(cov.network)  # made before the service's workers are forked
        from circle15.geo.snapping.compiled import prepare  # loads numba: not on import

        prepare(segment_index(cov.network, rule.avoid), segment_index(cov.network))
        if not table:
            index.beyond  # noqa: B018 -- built before the service's workers are forked
        return index

    @cached_property
    def beyond(self) -> BeyondSearch:  # what the searches past the limit share
        return BeyondSearch.build(self.coverage.network, self.coverage.stations.snapped)

    @cached_property
    def reach_m(self) -> float:
        """How far the answer looks when nothing is within the limit."""
        return BEYOND_FACTOR * self.limit_m

    @cached_property
    def nav(self) -> list[NavLinks]:
        """Each station's navigation links."""
        ll = self.coverage.stations.frame[["lon", "lat"]].to_numpy(dtype=float)
        return [nav_links(lon, lat, name, travel=self.travel)
                for (lon, lat), name in zip(ll.tolist(), self.names, strict=True)]

    @cached_property
    def always_open(self) -> list[bool]:
        """Per station: hours of plain ``24/7`` (open whenever asked, past or future)."""
        return [h.rules is not None and h.spec.strip() == "24/7" for h in self.hours]

    @cached_property
    def limit_m(self) -> float:
        return self.coverage.settings.limit_m

    @cached_property
    def station_xy(self) -> NDArray[np.float64]:
        return shapely.get_coordinates(self.coverage.stations.frame.geometry.to_numpy())

    def query(
        self,
        lon: float,
        lat: float,
        *,
        k: int = 3,
        crs: str = "wgs84",
        amenity: str | None = None,
        open_now: bool = False,
        when: datetime | None = None,
        open_24h: bool = False,
    ) -> list[NearestStation]:
        """The ``k`` stations nearest by walking time from (lon, lat).

        Coordinates may be GCJ-02 or BD-09 (``crs``); the routes come back in
        the same system. Stations within the coverage limit are listed; when
        none (passing the filters) is, the nearest up to :attr:`reach_m`
        (:meth:`answer` says which). ``amenity`` is a key or one of its words
        (``换电`` for ``battery_swap``); ``open_24h`` keeps stations open
        24/7. ``when`` (default: now) decides ``open_now``; a naive datetime
        is wall-clock time in the area's time zone.
        """
        return self._find(lon, lat, k=k, crs=crs, amenity=amenity, open_now=open_now,
                          when=when, open_24h=open_24h)[0]

    def _find(self, lon: float, lat: float, *, k: int, crs: str, amenity: str | None,
              open_now: bool, when: datetime | None, open_24h: bool,
              ) -> tuple[list[NearestStation], bool]:
        """The answer's stations, and whether they are within the limit."""
        kind = check_input_crs(crs)
        if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
            raise InputError("position", f"lon={lon}, lat={lat} is not a valid coordinate")
        if not 1 <= k <= 50:
            raise SettingsError(f"k must be between 1 and 50, not {k}")
        if amenity:
            known, unknown = parse_amenities(amenity)
            if unknown or len(known) != 1:
                raise SettingsError(f"unknown amenity {amenity!r}")
            amenity = known[0]
        cov = self.coverage
        net = cov.network
        if kind != "wgs84":
            c_lon, c_lat = to_wgs84(np.array([lon]), np.array([lat]), kind)
            lon, lat = float(c_lon[0]), float(c_lat[0])
        x, y = net.from_wgs84.transform(lon, lat)
        if not (np.isfinite(x) and np.isfinite(y)):  # half a world away from the zone
            raise InputError("position", f"lon={lon}, lat={lat} is far outside the service "
                             "area")
        xy = np.array([[x, y]])
        snapped = snap_one(net, x, y, max_dist_m=self.max_snap_m, rule=self.rule)
        if not snapped.ok[0]:
            _, off, _ = segment_index(net).nearest_one(x, y)
            raise InputError("position", f"lon={lon}, lat={lat} is {off:,.0f} m from the nearest "
                             f"walkable street (the limit is {self.max_snap_m:,.0f} m); "
                             "is it inside the service area?")
        q = snapped.all_joins()
        st_joins = cov.stations.snapped.all_joins()
        near = merged(self.indptr, self.station, self.dist_m, net, q, st_joins, self.on_edge,
                      len(self.ids))
        limit = self.limit_m
        if when is None:
            when = datetime.now(UTC)

        def wanted(s: int, is_open_now: bool | None) -> bool:
            if amenity and amenity not in self.amenities[s]:
                return False
            if open_24h and not (self.open_24h or [])[s]:
                return False
            return not (open_now and is_open_now is not True)

        out: list[tuple[int, float, NDArray[np.float64], bool | None]] = []
        for s, metres, q_row, end, st_row, at in zip(near.station, near.metres, near.q_row,
                                                     near.end, near.st_row, near.at, strict=True):
            if metres > limit:
                break
            is_open_now = True if self.always_open[s] else self.hours[s].is_open(when)
            if not wanted(s, is_open_now):
                continue
            nodes = walk_back(self.node_of, self.next_at, at)
            if nodes:
                st_row = self.join_at[s].get(nodes[-1], -1)
            route = self._route(s, xy[0], q, q_row, end, st_row, nodes)
            out.append((s, metres, route, is_open_now))
            if len(out) == k:
                break
        if out:
            return self._answers(out, kind, when), True
        walks: Iterable[Walk]
        if self.table is not None:  # read from the table made at load
            walks = self.table.walks(net, q, st_joins, self.on_edge, limit)
        else:  # one bounded search from the position
            disc = self.beyond.small_disc((x, y), self.reach_m)
            walks = (walks_from(net, snapped, cov.stations.snapped, self.reach_m, xy=(x, y))
                     if disc is None else self.beyond.walks(snapped, disc, self.reach_m))
        for s, metres, q_row, nodes, st_row in walks:
            if metres <= limit:
                continue
            is_open_now = True if self.always_open[s] else self.hours[s].is_open(when)
            if not wanted(s, is_open_now):
                continue
            route = self._route(s, xy[0], q, q_row, nodes[0] if nodes else -1, st_row, nodes)
            out.append((s, metres, route, is_open_now))
            if len(out) == k:
                break
        return self._answers(out, kind, when), False

    def answer(
        self,
        lon: float,
        lat: float,
        *,
        k: int = 3,
        crs: str = "wgs84",
        amenity: str | None = None,
        open_now: bool = False,
        when: datetime | None = None,
        open_24h: bool = False,
    ) -> NearestAnswer:
        """:meth:`query` with the walking assumptions it was measured by, and whether
        its stations are within the limit."""
        found, within = self._find(lon, lat, k=k, crs=crs, amenity=amenity, open_now=open_now,
                                   when=when, open_24h=open_24h)
        settings = self.coverage.settings
        return NearestAnswer(crs=crs, mode=settings.mode, walking_speed_kmh=settings.speed_kmh,
                             limit_min=settings.minutes, stations=found, within_limit=within,
                             reach_min=BEYOND_FACTOR * settings.minutes)

    def _route(self, s: int, start_xy: NDArray[np.float64], q: Joins, q_row: int, end: int,
               st_row: int, nodes: list[int]) -> NDArray[np.float64]:
        """The way drawn as walked: from the courier to where they join the street (row
        ``q_row`` of ``q``), along it, the network path, along the station's street, and
        off it to the station (``nodes``: the network path, ``st_row``: the station's
        join row)."""
        from circle15.geo.snapping.compiled import route_xy  # loaded at build (numba)

        net = self.coverage.network
        st_joins = self.coverage.stations.snapped.all_joins()
        shapes = edge_shapes(net)
        st_along = float(st_joins.along_m[st_row]) if st_row >= 0 else 0.0
        se = int(st_joins.edge[st_row]) if end >= 0 and st_row >= 0 else -1
        path = np.array(nodes, dtype=np.int64) if end >= 0 else _NO_NODES
        tx, ty = self.station_xy[s].tolist()
        return route_xy(float(start_xy[0]), float(start_xy[1]), int(q.edge[q_row]),
                        float(q.along_m[q_row]), end, path, se, st_along, tx, ty, shapes.xy,
                        shapes.ptr, shapes.cum, net.edge_length_m, net.edge_u, net.node_xy)

    def _answers(self, found: list[tuple[int, float, NDArray[np.float64], bool | None]],
                 kind: str, when: datetime) -> list[NearestStation]:
        """The stations with their routes in ``kind`` coordinates (one transform for all)."""
        if not found:
            return []
        arr = np.vstack([route for _, _, route, _ in found])
        lon_r, lat_r = self.coverage.network.to_wgs84.transform(arr[:, 0], arr[:, 1])
        ll = np.column_stack([lon_r, lat_r])
        if kind == "gcj02":
            ll = np.column_stack(wgs84_to_gcj02(ll[:, 0], ll[:, 1]))
        elif kind == "bd09":
            ll = np.column_stack(wgs84_to_bd09(ll[:, 0], ll[:, 1]))
        rounded = np.round(ll, 6).tolist()
        out, at = [], 0
        for s, metres, route, is_open_now in found:
            opens = self.hours[s].opens_next(when) if is_open_now is False else None
            out.append(self._answer(s, metres, rounded[at:at + len(route)], is_open_now,
                                    opens))
            at += len(route)
        return out

    def _answer(self, s: int, metres: float, route: list[list[float]],
                is_open_now: bool | None, opens_at: datetime | None = None) -> NearestStation:
        cov = self.coverage
        return NearestStation(
            id=self.ids[s], name=self.names[s],
            distance_m=metres, walk_min=metres / cov.settings.metres_per_minute,
            amenities=self.amenities[s], opening_hours=self.hours[s].spec,
            open_now=is_open_now, lon=route[-1][0], lat=route[-1][1],
            route=LineString("LineString", [(a, b) for a, b in route]), nav=self.nav[s],
            open_24h=bool((self.open_24h or [])[s]) if self.open_24h else False,
            opens_at=opens_at,
        )

