"""Compact layer data for the planner page: encoded geometry and small rasters.

Geometry goes to the page as "polylines": each path's coordinates quantised to
1e-5° (about 1 m) and written as zig-zag, 5-bit-per-character deltas (the
encoding of Google's polyline format, longitude first), which the page's own
script decodes. A surface that covers the district (stations within reach,
population density) goes as one small PNG of classes instead of thousands of
hexagons.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

QUANTUM_DEG = 1e-5
_MAX_CHUNKS = 7  # 35 bits: more than any zig-zagged 1e-5° coordinate needs


def encode_paths(q: NDArray[np.int64], path_of: NDArray[np.int64], n_paths: int) -> list[str]:
    """Paths of quantised (lon, lat) points as polyline strings.

    ``q`` holds every point in order, ``path_of`` the path each belongs to
    (non-decreasing); paths with no point come back as ``""``.
    """
    if q.size == 0:
        return [""] * n_paths
    d = q.copy()
    same = np.r_[False, path_of[1:] == path_of[:-1]]
    d[1:][same[1:]] -= q[:-1][same[1:]]
    v = d.ravel()
    z = ((v << 1) ^ (v >> 63)).astype(np.uint64)
    shifts = (5 * np.arange(_MAX_CHUNKS)).astype(np.uint64)
    rest = z[:, None] >> shifts[None, :]
    used = np.zeros_like(rest, dtype=bool)
    used[:, 0] = True
    used[:, 1:] = rest[:, 1:] > 0
    more = np.zeros_like(used)
    more[:, :-1] = used[:, 1:]
    chars = ((rest & np.uint64(31)) | (more.astype(np.uint64) << np.uint64(5))) + np.uint64(63)
    text = chars[used].astype(np.uint8).tobytes().decode("ascii")
    per_value = used.sum(axis=1)
    per_point = per_value.reshape(-1, 2).sum(axis=1)
    lengths = np.bincount(path_of, weights=per_point, minlength=n_paths).astype(np.int64)
    ends = np.cumsum(lengths)
    return [text[e - n:e] for n, e in zip(lengths.tolist(), ends.tolist(), strict=True)]


def _quantised(coords: NDArray[np.float64], of: NDArray[np.int64], *, ring: bool
               ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Coordinates to 1e-5° steps, without repeated points (nor a ring's closing one)."""
    q = np.round(coords / QUANTUM_DEG).astype(np.int64)
    keep = np.ones(len(q), dtype=bool)
    if len(q):
        keep[1:] = np.any(q[1:] != q[:-1], axis=1) | (of[1:] != of[:-1])
        if ring:
            last = np.r_[of[1:] != of[:-1], True]
            keep &= ~last
    return q[keep], of[keep]


Project = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _ring_areas(coords: NDArray[np.float64], of: NDArray[np.int64], n: int
                ) -> NDArray[np.float64]:
    """Area of each ring (shoelace), its points given in order with their ring."""
    same = np.r_[of[1:] == of[:-1], False]
    nxt = np.r_[coords[1:], coords[:1]]
    cross = np.where(same, coords[:, 0] * nxt[:, 1] - nxt[:, 0] * coords[:, 1], 0.0)
    return np.abs(np.bincount(of, weights=cross, minlength=n)) / 2


def polygon_codes(geoms: Sequence[Any] | NDArray[np.object_], simplify: float = 0.0,
                  project: Project | None = None) -> list[list[list[str]]]:
    """Each (multi)polygon as a list of polygons, each a list of encoded rings, the
    outer one first.

    ``simplify`` simplifies each ring on its own (Douglas-Peucker, in the geometries'
    units): much faster than simplifying polygons, which GEOS then repairs; a ring
    may touch another where it was simplified, which a drawing does not show.
    ``project`` then takes the (x, y) rows to display (lon, lat) degrees.
    """
    arr = np.asarray(geoms, dtype=object)
    out: list[list[list[str]]] = [[] for _ in range(arr.size)]
    if arr.size == 0:
        return out
    parts, part_of = shapely.get_parts(arr, return_index=True)
    polys = shapely.get_type_id(parts) == 3
    parts, part_of = parts[polys], part_of[polys]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    if simplify > 0:
        rings = shapely.simplify(rings, simplify, preserve_topology=False)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    if simplify > 0 and len(coords):
        # drop what simplifying left as slivers: holes, and parts whose outer ring,
        # smaller than a few simplification steps across
        area = _ring_areas(coords, coord_of, len(rings))
        outer = np.r_[True, ring_of[1:] != ring_of[:-1]]
        small_part = np.zeros(len(parts), dtype=bool)
        small_part[ring_of[outer]] = area[outer] < (3 * simplify) ** 2
        keep = ~small_part[ring_of] & (outer | (area >= (3 * simplify) ** 2))
        rings, ring_of = rings[keep], ring_of[keep]
        keep_point = keep[coord_of]
        coords = coords[keep_point]
        coord_of = (np.cumsum(keep) - 1)[coord_of[keep_point]]
    if project is not None and len(coords):
        coords = project(coords)
    q, of = _quantised(coords, coord_of, ring=True)
    codes = encode_paths(q, of, len(rings))
    current: list[str] | None = None
    last = -1
    for code, part in zip(codes, ring_of.tolist(), strict=True):
        if part != last:  # a polygon's outer ring: a polygon with too few points is dropped
            last = part
            current = [] if len(code) >= 6 else None
            if current is not None:
                out[int(part_of[part])].append(current)
        if current is not None and len(code) >= 6:  # fewer than three points: nothing to draw
            current.append(code)
    return out


def line_codes(lines: Sequence[NDArray[np.int64]]) -> list[str]:
    """Lines already quantised to 1e-5° (``(n, 2)`` int arrays) as polyline strings."""
    if not lines:
        return []
    q = np.concatenate(lines)
    of = np.repeat(np.arange(len(lines)), [len(a) for a in lines])
    return encode_paths(q, of, len(lines))


def png_rgba(img: NDArray[np.uint8]) -> bytes:
    """An ``(h, w, 4)`` RGBA image as PNG bytes."""
    h, w = img.shape[:2]
    raw = np.concatenate([np.zeros((h, 1), dtype=np.uint8), img.reshape(h, w * 4)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def _rgba(colour: str, alpha: int) -> tuple[int, int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), alpha


class Grid:
    """A square grid of about ``cell_m`` metres over points given in degrees."""

    def __init__(self, lonlat: NDArray[np.float64], cell_m: float) -> None:
        lat0 = float(np.median(lonlat[:, 1])) if len(lonlat) else 0.0
        self.dy = cell_m / 111_320.0
        self.dx = self.dy / max(np.cos(np.radians(lat0)), 0.01)
        self.west = float(lonlat[:, 0].min()) if len(lonlat) else 0.0
        self.north = float(lonlat[:, 1].max()) if len(lonlat) else 0.0
        self.ix = np.floor((lonlat[:, 0] - self.west) / self.dx).astype(np.int64)
        self.iy = np.floor((self.north - lonlat[:, 1]) / self.dy).astype(np.int64)
        self.w = int(self.ix.max()) + 1 if len(lonlat) else 1
        self.h = int(self.iy.max()) + 1 if len(lonlat) else 1
        self.cell = self.iy * self.w + self.ix

    @property
    def cell_km2(self) -> float:
        return (self.dy * 111.32) ** 2

    def bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] of the grid, as Leaflet reads bounds."""
        south, east = self.north - self.h * self.dy, self.west + self.w * self.dx
        return [[south, self.west], [self.north, east]]

    def total(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.bincount(self.cell, weights=values, minlength=self.w * self.h).astype(float)

    def count(self) -> NDArray[np.float64]:
        return np.bincount(self.cell, minlength=self.w * self.h).astype(np.float64)

    def image(self, cls: NDArray[np.int64], colours: Sequence[str], alpha: int = 170) -> str:
        """Classes per cell (-1: empty) as a data-URI PNG, one pixel a cell."""
        palette = np.array([_rgba(c, alpha) for c in colours] + [(0, 0, 0, 0)], dtype=np.uint8)
        img = palette[np.where(cls < 0, len(colours), cls)].reshape(self.h, self.w, 4)
        return "data:image/png;base64," + base64.b64encode(png_rgba(img)).decode("ascii")
