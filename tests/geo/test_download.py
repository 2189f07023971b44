"""The online path (osmnx → Overpass and Nominatim) exercised offline, for real.

A small HTTP server on loopback answers osmnx's real requests with the real
Longgang extract from ../shared/data, in the Overpass and Nominatim formats.
osmnx makes its ordinary HTTP calls, parses, caches and builds the graph; then
a second load is served from osmnx's own cache with the server gone.
"""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import osmnx as ox
import pytest
import shapely

from circle15.geo.network.cache import load_network
from circle15.geo.network.osm_read import network_from_place
from circle15.geo.network.osm_tags import is_walkable
from tests.conftest import shared


def _overpass_json(path: Path) -> tuple[dict, shapely.Polygon]:
    root = ET.parse(path).getroot()
    nodes, ways = {}, []
    for el in root:
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        if el.tag == "node":
            nodes[int(el.get("id"))] = {"type": "node", "id": int(el.get("id")),
                                        "lat": float(el.get("lat")), "lon": float(el.get("lon")),
                                        **({"tags": tags} if tags else {})}
        elif el.tag == "way" and "highway" in tags and is_walkable(tags):
            ways.append({"type": "way", "id": int(el.get("id")),
                         "nodes": [int(n.get("ref")) for n in el.findall("nd")], "tags": tags})
    used = {n for w in ways for n in w["nodes"]}
    elements = [nodes[n] for n in sorted(used) if n in nodes] + ways
    b = root.find("bounds")
    area = shapely.box(float(b.get("minlon")), float(b.get("minlat")),
                       float(b.get("maxlon")), float(b.get("maxlat")))
    return {"version": 0.6, "elements": elements}, area


@pytest.fixture
def fake_osm_services(tmp_path) -> Iterator[dict]:
    data, area = _overpass_json(shared("osm/shenzhen-longgang.osm"))
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: object) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            query = parse_qs(self.rfile.read(length).decode())["data"][0]
            seen.append(query)
            self._send(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            seen.append(url.path)
            minx, miny, maxx, maxy = area.bounds
            self._send([{
                "place_id": 1, "osm_type": "relation", "osm_id": 1, "class": "boundary",
                "importance": 0.7, "addresstype": "city_district", "place_rank": 12,
                "name": "龙岗区",
                "type": "administrative", "display_name": "龙岗区, 深圳市, 广东省, 中国",
                "lat": str(area.centroid.y), "lon": str(area.centroid.x),
                "boundingbox": [str(miny), str(maxy), str(minx), str(maxx)],
                "geojson": json.loads(shapely.to_geojson(area))}])

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    saved = {k: getattr(ox.settings, k) for k in ("overpass_url", "nominatim_url",
                                                   "cache_folder", "use_cache",
                                                   "overpass_rate_limit")}
    ox.settings.overpass_url = f"{base}/api"
    ox.settings.nominatim_url = f"{base}/nominatim/"
    ox.settings.cache_folder = str(tmp_path / "osmnx-cache")
    ox.settings.use_cache = True
    ox.settings.overpass_rate_limit = False
    try:
        yield {"seen": seen, "server": server, "area": area}
    finally:
        server.shutdown()
        for k, v in saved.items():
            setattr(ox.settings, k, v)


def test_place_name_downloads_through_osmnx_then_comes_from_its_cache(fake_osm_services,
                                                                     tmp_path):
    from_file = load_network(shared("osm/shenzhen-longgang.osm"), cache_dir=tmp_path / "a")
    net = network_from_place("龙岗区, 深圳市, 中国")
    seen = fake_osm_services["seen"]
    assert any("/search" in s for s in seen)  # geocoded by Nominatim
    assert any("way" in s and "highway" in s for s in seen)  # the walk network from Overpass
    # the same streets as reading the file directly, 400 m inside the outline (osmnx
    # cuts the graph at the outline and simplifies it; the file keeps whole ways)
    assert net.crs == from_file.crs
    outline = shapely.transform(fake_osm_services["area"],
                                lambda ll: from_file.project(ll[:, 0], ll[:, 1]))
    core = shapely.buffer(outline, -400.0)
    inside = [float(shapely.length(shapely.intersection(n.edge_geometry, core)).sum())
              for n in (net, from_file)]
    # (osmnx's cut also strands a few bits that joined the rest only outside: ~2 %)
    assert inside[0] == pytest.approx(inside[1], rel=0.05)
    # with the server gone, osmnx's cache answers the same request
    fake_osm_services["server"].shutdown()
    n_requests = len(seen)
    again = network_from_place("龙岗区, 深圳市, 中国")
    assert len(seen) == n_requests
    assert again.n_nodes == net.n_nodes


def test_polygon_download_and_our_cache(fake_osm_services, tmp_path):
    polygon = fake_osm_services["area"]
    net = network_from_place(polygon)
    by_name = network_from_place("龙岗区, 深圳市, 中国")  # geocodes to that polygon
    assert net.n_nodes == by_name.n_nodes > 300
    np.testing.assert_allclose(net.edge_length_m.sum(), by_name.edge_length_m.sum())
    # a place name goes through our own network cache too
    cache = tmp_path / "ours"
    first = load_network("龙岗区, 深圳市, 中国", cache_dir=cache)
    second = load_network("龙岗区, 深圳市, 中国", cache_dir=cache)
    assert "from_cache" in second.info and second.n_nodes == first.n_nodes
