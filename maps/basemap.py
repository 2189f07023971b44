"""An offline basemap drawn from the OSM extract itself: main streets by class,
water, and place names, so a planner with no tile server still sees where
things are.

Read with pyosmium (PBF or XML), filtered in C++ to the few tags a basemap
needs; lines are simplified (``simplify_deg``, about 10 m) and coordinates
quantised to 1e-5° (about 1 m), so the whole layer is small. Reading a
district-sized PBF takes seconds, so the result is cached as one JSON file
next to the network cache, keyed by a hash of the file's content.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from circle15.geo.errors import NetworkError

log = logging.getLogger(__name__)

#: street classes drawn, most important first (``*_link`` ways join their class)
ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary")
#: place=* kinds whose names are written on the map
PLACE_KINDS = ("city", "town", "suburb", "village", "quarter")
#: waterway=* kinds drawn as lines
RIVER_KINDS = ("river", "canal")
#: quantum of stored coordinates, degrees
QUANTUM_DEG = 1e-5
#: default simplification of lines and rings, degrees (~10 m at 40° N)
SIMPLIFY_DEG = 1e-4
#: bump when what is read or how it is stored changes
BASEMAP_VERSION = "1"


@dataclass(frozen=True)
class Basemap:
    """Basemap shapes in WGS84, coordinates as integer multiples of 1e-5°.

    ``roads`` maps a class of :data:`ROAD_CLASSES` to its lines; a line is an
    ``(n, 2)`` int array (lon, lat). ``water_areas`` holds polygons as lists of
    rings (the first is the outer one); ``places`` is (name, kind, lon, lat).
    """

    roads: dict[str, list[NDArray[np.int64]]] = field(default_factory=dict)
    rivers: list[NDArray[np.int64]] = field(default_factory=list)
    water_areas: list[list[NDArray[np.int64]]] = field(default_factory=list)
    places: list[tuple[str, str, float, float]] = field(default_factory=list)

    @property
    def n_vertices(self) -> int:
        lines = [a for v in self.roads.values() for a in v] + self.rivers
        rings = [r for poly in self.water_areas for r in poly]
        return int(sum(len(a) for a in lines + rings))

    def to_json(self) -> dict[str, Any]:
        return {"roads": {k: [a.ravel().tolist() for a in v] for k, v in self.roads.items()},
                "rivers": [a.ravel().tolist() for a in self.rivers],
                "water_areas": [[r.ravel().tolist() for r in p] for p in self.water_areas],
                "places": [list(p) for p in self.places]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Basemap:
        def arr(flat: list[int]) -> NDArray[np.int64]:
            return np.asarray(flat, dtype=np.int64).reshape(-1, 2)

        return cls(roads={k: [arr(a) for a in v] for k, v in data["roads"].items()},
                   rivers=[arr(a) for a in data["rivers"]],
                   water_areas=[[arr(r) for r in p] for p in data["water_areas"]],
                   places=[(str(n), str(k), float(x), float(y)) for n, k, x, y in data["places"]])


def _is_water(tags: Any) -> bool:
    return (tags.get("natural") == "water" or tags.get("waterway") == "riverbank"
            or tags.get("landuse") in ("reservoir", "basin"))


def _road_class(highway: str) -> str | None:
    base = highway.removesuffix("_link")
    return base if base in ROAD_CLASSES else None


def _quantise(coords: NDArray[np.float64]) -> NDArray[np.int64]:
    q = np.round(coords / QUANTUM_DEG).astype(np.int64)
    if len(q) > 1:  # drop repeated points the rounding made
        keep = np.ones(len(q), dtype=bool)
        keep[1:] = np.any(q[1:] != q[:-1], axis=1)
        q = q[keep]
    return q


def _lines(geoms: list[Any], simplify_deg: float) -> list[NDArray[np.int64]]:
    if not geoms:
        return []
    simple = shapely.simplify(np.asarray(geoms, dtype=object), simplify_deg)
    out = [_quantise(shapely.get_coordinates(g)) for g in simple]
    return [a for a in out if len(a) >= 2]


def _polygons(geoms: list[Any], simplify_deg: float) -> list[list[NDArray[np.int64]]]:
    out: list[list[NDArray[np.int64]]] = []
    if not geoms:
        return out
    for g in shapely.simplify(np.asarray(geoms, dtype=object), simplify_deg):
        for poly in getattr(g, "geoms", [g]):
            if poly.is_empty or poly.geom_type != "Polygon":
                continue
            rings = [_quantise(np.asarray(poly.exterior.coords))]
            rings += [_quantise(np.asarray(r.coords)) for r in poly.interiors]
            rings = [r for r in rings if len(r) >= 4]
            if rings:
                out.append(rings)
    return out


def read_basemap(path: str | Path, *, simplify_deg: float = SIMPLIFY_DEG) -> Basemap:
    """Read the basemap shapes of an OSM file (PBF or XML), without a cache."""
    import osmium
    from osmium.filter import KeyFilter, TagFilter

    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: no such file (the basemap is drawn from the OSM file)")
    wkb = osmium.geom.WKBFactory()
    roads: dict[str, list[Any]] = {k: [] for k in ROAD_CLASSES}
    rivers: list[Any] = []
    water: list[Any] = []
    places: list[tuple[str, str, float, float]] = []
    water_tags = TagFilter(("natural", "water"), ("waterway", "riverbank"),
                           ("landuse", "reservoir"), ("landuse", "basin"))
    try:
        fp = (osmium.FileProcessor(str(path)).with_locations()
              .with_areas(water_tags)
              .with_filter(KeyFilter("highway", "waterway", "place", "natural", "landuse")))
        for obj in fp:
            tags = obj.tags
            if isinstance(obj, osmium.osm.Area):
                if _is_water(tags):
                    try:
                        water.append(shapely.from_wkb(wkb.create_multipolygon(obj)))
                    except (RuntimeError, osmium.InvalidLocationError):  # a broken ring
                        continue
            elif isinstance(obj, osmium.osm.Way):
                cls = _road_class(tags.get("highway") or "")
                river = (tags.get("waterway") or "") in RIVER_KINDS
                if cls is None and not river:
                    continue
                try:
                    line = shapely.from_wkb(wkb.create_linestring(obj))
                except (RuntimeError, osmium.InvalidLocationError):  # nodes missing (clipped)
                    continue
                (roads[cls] if cls else rivers).append(line)
            elif isinstance(obj, osmium.osm.Node):
                kind = tags.get("place", "")
                name = tags.get("name", "")
                if kind in PLACE_KINDS and name and obj.location.valid():
                    places.append((name, kind, round(obj.location.lon, 5),
                                   round(obj.location.lat, 5)))
    except RuntimeError as exc:
        raise NetworkError(f"{path}: cannot read this OSM file for the basemap ({exc})") from exc
    return Basemap(roads={k: _lines(v, simplify_deg) for k, v in roads.items() if v},
                   rivers=_lines(rivers, simplify_deg),
                   water_areas=_polygons(water, simplify_deg), places=places)


def _cache_file(path: Path, simplify_deg: float, cache_dir: Path) -> Path:
    h = hashlib.blake2b(digest_size=12)
    h.update(f"basemap v{BASEMAP_VERSION}|{simplify_deg:g}|".encode())
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return cache_dir / f"basemap-{h.hexdigest()}.json"


def load_basemap(path: str | Path, *, cache_dir: Path | None = None, use_cache: bool = True,
                 simplify_deg: float = SIMPLIFY_DEG) -> Basemap:
    """:func:`read_basemap` through a cache next to the network cache
    (``$CIRCLE15_CACHE_DIR`` or the user's cache folder)."""
    from circle15.geo.network.cache_keys import default_cache_dir

    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: no such file (the basemap is drawn from the OSM file)")
    if not use_cache:
        return read_basemap(path, simplify_deg=simplify_deg)
    cache = _cache_file(path, simplify_deg, cache_dir or default_cache_dir())
    if cache.is_file():
        try:
            return Basemap.from_json(json.loads(cache.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable basemap cache %s (%s)", cache, exc)
    base = read_basemap(path, simplify_deg=simplify_deg)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(base.to_json(), fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, cache)
    except OSError as exc:  # a read-only cache folder: the basemap still works
        log.warning("could not write the basemap cache %s (%s)", cache, exc)
    return base
