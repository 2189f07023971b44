"""The region map of a batch: every area shaded by the share of its people within
the limit, with the numbers on hover. One offline HTML file (Leaflet inlined)."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from markupsafe import Markup

from circle15.maps.assets import inline_head
from circle15.maps.render import html_text, render

#: graded classes of the covered share: (lower bound, colour)
CLASSES = ((0.9, "#1a9850"), (0.75, "#91cf60"), (0.5, "#fee08b"), (0.25, "#fc8d59"),
           (0.0, "#d73027"))


def share_colour(share: float) -> str:
    for lower, colour in CLASSES:
        if share >= lower:
            return colour
    return CLASSES[-1][1]


def region_map(areas: gpd.GeoDataFrame, *, title: str = "15-minute coverage by area") -> str:
    """``areas`` (WGS84, with ``area``, ``population``, ``covered``, ``covered_share``,
    ``cross_covered``) as a shaded map page."""
    from branca.element import Element, Figure

    shown = areas[["area", "population", "covered", "covered_share", "cross_covered",
                   "geometry"]].copy()
    shown["name"] = [str(html_text(v)) for v in shown["area"]]
    shown["share_pct"] = np.round(shown["covered_share"].fillna(0) * 100, 1)
    for col in ("population", "covered", "cross_covered"):
        shown[col] = np.round(shown[col]).astype(int)
    minx, miny, maxx, maxy = shown.total_bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None,
                   control_scale=True)
    m.default_js, m.default_css = [], []
    root = m.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(Element(str(inline_head())), name="leaflet_inline")

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        share = float(feature["properties"]["share_pct"]) / 100
        return {"color": "#333", "weight": 1, "fillColor": share_colour(share),
                "fillOpacity": 0.7}

    folium.GeoJson(
        shown.drop(columns=["area", "covered_share"]).__geo_interface__, style_function=style,
        tooltip=folium.GeoJsonTooltip(
            ["name", "population", "covered", "share_pct", "cross_covered"],
            ["area", "people", "covered", "covered %", "cross-covered"])).add_to(m)
    # each area's name and share written on it, so the map reads without hovering
    spots = shapely.point_on_surface(shown.geometry.to_numpy())
    for name, pct, spot in zip(shown["name"], shown["share_pct"], spots, strict=True):
        folium.Marker([spot.y, spot.x], icon=folium.DivIcon(
            html=str(render("region_label.html", name=Markup(name), pct=f"{pct:.0f}%")),
            icon_size=(120, 32), icon_anchor=(60, 16))).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    labels = [(colour, f"≥ {lower:.0%}" if lower > 0 else "< 25%") for lower, colour in CLASSES]
    legend = render("region_legend.html", title=title, classes=labels,
                    note="share of people within the limit")
    root.html.add_child(Element(str(legend)), name="legend")
    html: str = root.render()
    return html
