"""Hypothesis strategies for small synthetic walking networks and points near them.

Everything is drawn in local metres (the frame of :func:`tests.conftest.make_network`)
as plain tuples, so a failing example prints as a few numbers that can be pasted
into a test; the tests build the network and layers from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

#: node count of a drawn network (the task's "small synthetic networks")
MIN_NODES, MAX_NODES = 4, 30


@dataclass(frozen=True)
class Layout:
    """A connected street layout: node positions (metres) and undirected edges."""

    nodes_xy: tuple[tuple[float, float], ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def xy(self) -> np.ndarray:
        return np.asarray(self.nodes_xy, dtype=float)

    def points(self, near: tuple[tuple[int, float, float], ...]) -> np.ndarray:
        """(k, 2) metres of points given as (edge, fraction along it, metres to its left)."""
        xy = self.xy
        out = np.empty((len(near), 2))
        for i, (e, t, off) in enumerate(near):
            a, b = xy[self.edges[e][0]], xy[self.edges[e][1]]
            d = b - a
            normal = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)
            out[i] = a + t * d + off * normal
        return out


def _spanning_tree(n: int, candidates: list[tuple[int, int]], priority: list[int]
                   ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Kruskal on drawn priorities: (tree edges, the other candidates)."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree, rest = [], []
    for _, (a, b) in sorted(zip(priority, candidates, strict=True)):
        ra, rb = root(a), root(b)
        if ra == rb:
            rest.append((a, b))
        else:
            parent[ra] = rb
            tree.append((a, b))
    return tree, rest


@st.composite
def grid_layouts(draw: st.DrawFn) -> Layout:
    """A jittered grid: a random spanning tree of the grid's streets plus some of
    the others and a few diagonals (planar, no two nodes closer than ~40 % of
    the spacing)."""
    rows = draw(st.integers(2, 6))
    cols = draw(st.integers(max(2, -(-MIN_NODES // rows)), MAX_NODES // rows))
    spacing = draw(st.floats(40.0, 200.0))
    n = rows * cols
    jitter = draw(st.lists(st.tuples(st.floats(-0.3, 0.3), st.floats(-0.3, 0.3)),
                           min_size=n, max_size=n))
    nodes = tuple(((c + jitter[r * cols + c][0]) * spacing, (r + jitter[r * cols + c][1]) * spacing)
                  for r in range(rows) for c in range(cols))
    candidates = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    candidates += [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    # one diagonal per cell at most, so that no two edges cross
    for r in range(rows - 1):
        for c in range(cols - 1):
            kind = draw(st.sampled_from(["none", "none", "/", "\\"]))
            if kind == "/":
                candidates.append((r * cols + c, (r + 1) * cols + c + 1))
            elif kind == "\\":
                candidates.append((r * cols + c + 1, (r + 1) * cols + c))
    priority = draw(st.lists(st.integers(0, 1000), min_size=len(candidates),
                             max_size=len(candidates)))
    tree, rest = _spanning_tree(n, candidates, priority)
    keep = draw(st.lists(st.booleans(), min_size=len(rest), max_size=len(rest)))
    edges = tree + [e for e, k in zip(rest, keep, strict=True) if k]
    return Layout(nodes, tuple(edges))


@st.composite
def tree_layouts(draw: st.DrawFn) -> Layout:
    """A random tree grown from node 0 (each node hangs off an earlier one at a
    drawn angle and length) plus a few extra edges; edges may cross, like a
    footbridge over a street."""
    n = draw(st.integers(MIN_NODES, MAX_NODES))
    nodes = [(0.0, 0.0)]
    edges = []
    for i in range(1, n):
        p = draw(st.integers(0, i - 1))
        angle = draw(st.floats(0.0, 2 * math.pi, exclude_max=True))
        length = draw(st.floats(30.0, 250.0))
        nodes.append((nodes[p][0] + length * math.cos(angle),
                      nodes[p][1] + length * math.sin(angle)))
        edges.append((p, i))
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=6))
    seen = {frozenset(e) for e in edges}
    for a, b in extra:
        if a != b and frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            edges.append((a, b))
    return Layout(tuple(nodes), tuple(edges))


def layouts() -> st.SearchStrategy[Layout]:
    """Connected networks of 4-30 nodes in local metres."""
    return st.one_of(grid_layouts(), tree_layouts())


def near_edges(layout: Layout, *, min_size: int, max_size: int, max_off_m: float,
               min_off_m: float = 0.0) -> st.SearchStrategy[tuple[tuple[int, float, float], ...]]:
    """Points as (edge, fraction along it, signed metres off it), see :meth:`Layout.points`.

    The fraction runs a little past both ends, so that some points sit beyond a
    dead end or nearest to a node.
    """
    side = st.floats(min_off_m, max_off_m)
    off = st.one_of(side, side.map(lambda d: -d))
    return st.lists(
        st.tuples(st.integers(0, len(layout.edges) - 1), st.floats(-0.2, 1.2), off),
        min_size=min_size, max_size=max_size,
    ).map(tuple)


Near = tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class Scene:
    """A network, stations and people near its streets, and coverage settings."""

    layout: Layout
    stations: Near
    people: Near
    #: seeds the people's counts (``tests.helpers.make_population``)
    seed: int
    speed_kmh: float
    bands_min: tuple[float, ...]


@st.composite
def scenes(draw: st.DrawFn, *, min_stations: int = 1, max_stations: int = 6,
           max_people: int = 25) -> Scene:
    """A :class:`Scene`; some people share an edge with a station, close to it."""
    layout = draw(layouts())
    stations = draw(near_edges(layout, min_size=min_stations, max_size=max_stations,
                               max_off_m=40.0))
    people = draw(near_edges(layout, min_size=1, max_size=max_people, max_off_m=120.0))
    beside = draw(st.lists(st.tuples(st.integers(0, len(stations) - 1), st.floats(-0.1, 0.1),
                                     st.floats(-60.0, 60.0)), max_size=5))
    people += tuple((stations[i][0], stations[i][1] + dt, off) for i, dt, off in beside)
    # 0.5-4 km/h and 1-30 min: limits from ~8 m to 2 km, around the streets' scale
    speed = draw(st.floats(0.5, 4.0))
    bands = draw(st.lists(st.floats(1.0, 30.0), min_size=1, max_size=3, unique=True))
    seed = draw(st.integers(0, 2**32 - 1))
    return Scene(layout, stations, people, seed, speed, tuple(sorted(bands)))


@dataclass(frozen=True)
class RasterCase:
    """A small count raster near a layout: cells of ``cell_m`` metres, the top-left
    corner at (``left_m``, ``top_m``) local metres, values -1 for nodata."""

    layout: Layout
    cell_m: float
    left_m: float
    top_m: float
    values: tuple[tuple[int, ...], ...]
    margin_m: float
    max_snap_m: float


@st.composite
def raster_cases(draw: st.DrawFn) -> RasterCase:
    """Rasters from beside to across the network's box, with nodata and empty cells."""
    layout = draw(layouts())
    lo, hi = layout.xy.min(axis=0), layout.xy.max(axis=0)
    cell = draw(st.floats(25.0, 150.0))
    rows, cols = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    left = draw(st.floats(lo[0] - 400.0, hi[0]))
    top = draw(st.floats(lo[1], hi[1] + 400.0))
    # at most 90 people per cell: under the plausibility limit even for 25 m cells
    row = st.lists(st.integers(-1, 90), min_size=cols, max_size=cols).map(tuple)
    values = draw(st.lists(row, min_size=rows, max_size=rows).map(tuple))
    margin = draw(st.floats(50.0, 600.0))
    max_snap = draw(st.floats(10.0, 200.0))
    return RasterCase(layout, cell, left, top, values, margin, max_snap)
