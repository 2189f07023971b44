"""Leaflet, inlined: maps that work offline and in China, with no public CDN.

Leaflet and leaflet.markercluster are installed from the npm registry into
``maps/node_modules`` by the project's setup (``make install``); their JS and
CSS are inlined into the pages, with Leaflet's CSS images turned into data URIs.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path

from markupsafe import Markup

from circle15.geo.errors import MissingAssetsError
from circle15.maps.render import inline_safe, render, static_text

ASSET_DIR = Path(__file__).resolve().parent / "node_modules" / "leaflet" / "dist"
#: leaflet.markercluster (npm), which groups station markers at low zoom
CLUSTER_DIR = Path(__file__).resolve().parent / "node_modules" / "leaflet.markercluster" / "dist"
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def _read(name: str, folder: Path = ASSET_DIR) -> str:
    path = folder / name
    if not path.is_file():
        msg = (f"{path} is missing: install the map assets with `make install` "
               "(or `npm install` in the maps/ folder)")
        raise MissingAssetsError(msg)
    return path.read_text(encoding="utf-8")


@cache
def leaflet_js() -> str:
    return _read("leaflet.js")


@cache
def leaflet_css() -> str:
    """Leaflet's CSS with its images embedded as data URIs."""
    css = _read("leaflet.css")

    def inline(match: re.Match[str]) -> str:
        image = ASSET_DIR / match.group(1)
        if not image.is_file():
            return match.group(0)
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    return re.sub(r"url\((images/[^)]+\.png)\)", inline, css)


@cache
def cluster_js() -> str:
    """leaflet.markercluster's script, without its source-map link (nothing to fetch)."""
    return _SOURCE_MAP.sub("", _read("leaflet.markercluster.js", CLUSTER_DIR))


@cache
def cluster_css() -> str:
    return _read("MarkerCluster.css", CLUSTER_DIR) + _read("MarkerCluster.Default.css",
                                                            CLUSTER_DIR)


def cluster_head() -> Markup:
    """``<style>`` and ``<script>`` elements holding leaflet.markercluster (after Leaflet)."""
    css = inline_safe(cluster_css(), "MarkerCluster.css")
    js = inline_safe(cluster_js(), "leaflet.markercluster.js")
    return Markup(f"<style>{css}</style>\n<script>{js}</script>\n")


def inline_head() -> Markup:
    """``<style>`` and ``<script>`` elements holding Leaflet, for a page's head."""
    css = inline_safe(leaflet_css(), "leaflet.css")
    js = inline_safe(leaflet_js(), "leaflet.js")
    return Markup(render("leaflet_head.html", css=css, js=js,
                         shim=static_text("dollar_shim.js")))
