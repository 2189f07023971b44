"""The offline basemap read from the OSM files themselves (XML and PBF), and the compact
geometry encoding the planner page decodes: the same coordinates within 1e-5°."""

from __future__ import annotations

import numpy as np
import shapely

from circle15.maps.basemap import load_basemap, read_basemap
from circle15.maps.planner_layers import line_codes, polygon_codes
from tests.conftest import shared


def _decode(text: str) -> np.ndarray:
    """A reading of the polyline format written independently of the encoder."""
    values, i = [], 0
    while i < len(text):
        shift = result = 0
        while True:
            b = ord(text[i]) - 63
            i += 1
            result |= (b & 0x1F) << shift
            shift += 5
            if b < 0x20:
                break
        values.append(~(result >> 1) if result & 1 else result >> 1)
    return np.cumsum(np.array(values).reshape(-1, 2), axis=0) * 1e-5


def test_basemap_of_an_osm_xml_file(tmp_path):
    base = read_basemap(shared("osm/shenzhen-longgang.osm"))
    assert {"motorway", "trunk", "primary", "secondary", "tertiary"} <= set(base.roads)
    assert base.water_areas and base.rivers  # natural=water ponds, waterway=river
    assert ("荷坳村", "village") in [(n, k) for n, k, _, _ in base.places]
    # cached next to the network cache, read back the same
    first = load_basemap(shared("osm/shenzhen-longgang.osm"), cache_dir=tmp_path)
    again = load_basemap(shared("osm/shenzhen-longgang.osm"), cache_dir=tmp_path)
    assert list(tmp_path.glob("basemap-*.json"))
    assert first.to_json() == again.to_json() == base.to_json()


def test_basemap_of_the_district_pbf():
    base = read_basemap(shared("district/shunyi-synth.osm.pbf"))
    # main streets only: a few thousand lines, not the 67k ways of the district
    counts = {k: len(v) for k, v in base.roads.items()}
    assert {"primary", "secondary", "tertiary"} <= set(counts)
    assert 1_000 < sum(counts.values()) < 20_000
    assert base.n_vertices < 100_000


def test_encoding_round_trips_within_a_metre():
    rng = np.random.default_rng(3)
    start = np.array([11_670_000, 4_010_000])
    lines = [np.round(np.cumsum(rng.normal(0, 300, (n, 2)), axis=0) + start).astype(np.int64)
             for n in (2, 5, 40)]
    for code, line in zip(line_codes(lines), lines, strict=True):
        np.testing.assert_allclose(_decode(code), line * 1e-5, atol=1e-9)
    outer = [(116.60001, 40.10002), (116.7, 40.1), (116.7, 40.2), (116.6, 40.2)]
    hole = [(116.62, 40.12), (116.63, 40.12), (116.63, 40.13)]
    square = shapely.Polygon(outer, holes=[hole])
    multi = shapely.MultiPolygon([square, shapely.box(117, 40, 117.01, 40.01)])
    (one,), (a, b) = polygon_codes([square, multi])[0], polygon_codes([square, multi])[1]
    assert len(one) == 2 and a == one and len(b) == 1  # outer ring then the hole
    np.testing.assert_allclose(_decode(one[0]), np.array(outer)[:, :], atol=6e-6)
    np.testing.assert_allclose(_decode(one[1]), np.array(hole), atol=6e-6)
