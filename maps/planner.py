"""The planner map: stations, isochrones, coverage, density, areas, gaps, new sites.

A folium map whose page needs no public CDN: Leaflet is inlined from the
project's own npm install, folium's default CDN links are dropped, and the
only network requests are basemap tiles (none with ``basemap="blank"``).
With the Amap (Gaode) basemap, every overlay is shifted into GCJ-02 so it
lines up with Amap's streets.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from circle15.geo.coverage import Areas, Coverage
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.errors import SettingsError
from circle15.geo.gaps import hex_cells, hex_polygons
from circle15.geo.isochrones import isochrones
from circle15.geo.siting import SitingResult
from circle15.maps.assets import inline_head
from circle15.maps.i18n import LABELS, Lang, check_lang, t
from circle15.maps.render import html_text, render

Basemap = Literal["osm", "amap", "blank"]
BASEMAPS = ("osm", "amap", "blank")

TILES = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "© OpenStreetMap contributors", None),
    "amap": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
             "&x={x}&y={y}&z={z}", "© 高德地图 AutoNavi", "1234"),
}
BAND_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b"]
COUNT_COLOURS = {0: "#d73027", 1: "#fee08b", 2: "#1a9850"}
DENSITY_COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
STATION_COLOUR = "#08519c"
SITE_COLOUR = "#6a51a3"
GAP_COLOUR = "#b2182b"


def _display(gdf: gpd.GeoDataFrame, basemap: Basemap) -> gpd.GeoDataFrame:
    """To WGS84 (and GCJ-02 for Amap), rounded to ~0.1 m for a small page."""
    out = gdf.to_crs(4326)
    geoms = out.geometry.to_numpy()
    if basemap == "amap":
        def shift(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
        geoms = shapely.transform(geoms, shift)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, 6))
    return out.set_geometry(list(geoms), crs=4326)


def _geojson(gdf: gpd.GeoDataFrame) -> dict[str, Any]:
    """A FeatureCollection dict built with GEOS's GeoJSON writer (vectorised)
    rather than geopandas' per-feature Python iteration."""
    geoms = shapely.to_geojson(gdf.geometry.to_numpy())
    props = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).to_dict("records")
    features = ",".join(
        f'{{"type":"Feature","id":"{i}","properties":{json.dumps(p, default=float)},'
        f'"geometry":{g}}}' for i, (p, g) in enumerate(zip(props, geoms, strict=True))
    )
    result: dict[str, Any] = json.loads(f'{{"type":"FeatureCollection","features":[{features}]}}')
    return result


def _lonlat(gdf: gpd.GeoDataFrame, basemap: Basemap) -> np.ndarray:
    return shapely.get_coordinates(_display(gdf, basemap).geometry.to_numpy())


class _Markup(Element):
    """Markup placed in the page as it is (branca's Element would read it as a template)."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup

    def render(self, **kwargs: Any) -> str:
        return self.markup


class _Fullscreen(MacroElement):
    """The full-screen button (``static/fullscreen.js``, inlined in the head)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "c15Fullscreen({{ this._parent.get_name() }}, {{ this.title|tojson }});"
        "{% endmacro %}")

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "Fullscreen"
        self.title = title


def _table(rows: list[tuple[str, object]]) -> str:
    """A popup's table (``templates/popup_table.html``), its text escaped."""
    return render("popup_table.html", rows=[(html_text(k), html_text(v)) for k, v in rows])


def _texts(values: Any) -> list[str]:
    """Cells shown by folium's popups and tooltips (which insert them as HTML), escaped."""
    return [str(html_text(v)) for v in values]


def _amenity_words(cell: str, lang: Lang) -> str:
    """Amenity keys in words (a key the labels do not know is shown as it is)."""
    words = [t(k, lang) if k in LABELS else k for k in str(cell).split(";") if k]
    return ("、" if lang == "zh" else ", ").join(words)


def _hex_layer(xy: np.ndarray, values: np.ndarray, size_m: float, crs: object,
               how: Literal["median", "sum"]) -> gpd.GeoDataFrame:
    qr = hex_cells(xy, size_m)
    key = qr[:, 0] * np.int64(1 << 32) + qr[:, 1]
    frame = pd.DataFrame({"key": key, "v": values})
    agg = frame.groupby("key")["v"].agg(how)
    first = pd.Series(np.arange(key.size)).groupby(key).first().loc[agg.index].to_numpy()
    polys = hex_polygons(qr[first], size_m)
    return gpd.GeoDataFrame({"value": agg.to_numpy()}, geometry=list(polys), crs=crs)


def _figure(m: folium.Map) -> Figure:
    root = m.get_root()
    assert isinstance(root, Figure)
    return root


def planner_map(
    cov: Coverage,
    *,
    areas: Areas | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    sites: SitingResult | None = None,
    iso: gpd.GeoDataFrame | None = None,
    basemap: Basemap = "osm",
    lang: str = "zh",
    data_date: str | None = None,
    title: str | None = None,
    surface_hex_m: float = 120.0,
    density_hex_m: float = 250.0,
    max_station_layers: int = 30,
) -> folium.Map:
    """Build the planner map (a :class:`folium.Map`; save it with :func:`save_map`)."""
    lang_ = check_lang(lang)
    if basemap not in BASEMAPS:
        raise SettingsError(f"basemap must be one of {', '.join(BASEMAPS)}, not {basemap!r}")
    settings = cov.settings
    net = cov.network
    if iso is None:
        iso = isochrones(cov)
    centre = net.unproject(np.atleast_2d(np.median(net.node_xy, axis=0)))[0]
    if basemap == "amap":
        centre = np.array(wgs84_to_gcj02(centre[0], centre[1])).ravel()
    m = folium.Map(location=[float(centre[1]), float(centre[0])], zoom_start=13, tiles=None,
                   control_scale=True)
    # no CDN: Leaflet comes inlined from our own install
    m.default_js = []
    m.default_css = []
    root = _figure(m)
    root.header.add_child(_Markup(inline_head()), name="leaflet_inline")
    root.header.add_child(_Markup(render("planner_head.html", blank=basemap not in TILES)),
                          name="c15_head")
    if basemap in TILES:
        url, attr, subdomains = TILES[basemap]
        folium.TileLayer(tiles=url, attr=attr, name=t(f"basemap_{basemap}", lang_),
                         max_zoom=19, subdomains=subdomains or "abc").add_to(m)
    legend: list[tuple[str, str, str]] = []

    # coverage union bands (largest first so smaller bands draw on top)
    union = iso[iso["station"].isna()].sort_values("minutes", ascending=False)
    for i, (minutes, geom) in enumerate(zip(union["minutes"], union.geometry, strict=True)):
        colour = BAND_COLOURS[min(len(BAND_COLOURS) - 1, len(union) - 1 - i)]
        name = t("iso_union", lang_, m=f"{minutes:g}")
        fg = folium.FeatureGroup(name=name, show=minutes == settings.minutes)
        gdf = _display(gpd.GeoDataFrame({"minutes": [minutes]}, geometry=[geom], crs=net.crs),
                       basemap)
        folium.GeoJson(_geojson(gdf), name=name, style_function=lambda f, c=colour: {
            "color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.35,
            "className": "c15-iso-union"}).add_to(fg)
        fg.add_to(m)
        legend.append((name, colour, "box"))

    # per-station isochrones, toggleable
    per = iso[iso["station"].notna()]
    if len(per):
        per_disp = _display(per, basemap)
        name_all = t("iso_station", lang_)
        if len(per) <= max_station_layers:
            for sid, row in zip(per["station"], per_disp.itertuples(), strict=True):
                # Leaflet's layer control shows names as HTML
                fg = folium.FeatureGroup(name=html_text(f"{name_all}: {sid}"), show=False)
                folium.GeoJson(json.loads(shapely.to_geojson(row.geometry)),
                               style_function=lambda f: {
                                   "color": STATION_COLOUR, "weight": 1.5, "fillOpacity": 0.08,
                                   "className": "c15-iso-station"}).add_to(fg)
                fg.add_to(m)
        else:
            fg = folium.FeatureGroup(name=name_all, show=False)
            per_disp = per_disp.assign(station=_texts(per_disp["station"]))
            folium.GeoJson(_geojson(per_disp[["station", "minutes", "geometry"]]),
                           style_function=lambda f: {"color": STATION_COLOUR, "weight": 1,
                                                     "fillOpacity": 0.05,
                                                     "className": "c15-iso-station"},
                           tooltip=folium.GeoJsonTooltip(["station"], [t("station", lang_)])
                           ).add_to(fg)
            fg.add_to(m)
        legend.append((name_all, STATION_COLOUR, "box"))

    # coverage-count surface on street hexagons (0 / 1 / 2+)
    counts = np.minimum(cov.node_count[-1], 2)
    surf = _hex_layer(net.node_xy, counts, surface_hex_m, net.crs, "median")
    surf["value"] = np.minimum(np.round(surf["value"]).astype(int), 2)
    fg = folium.FeatureGroup(name=t("surface", lang_), show=False)
    folium.GeoJson(_geojson(_display(surf, basemap)), style_function=lambda f: {
        "color": COUNT_COLOURS[int(f["properties"]["value"])], "weight": 0,
        "fillColor": COUNT_COLOURS[int(f["properties"]["value"])], "fillOpacity": 0.55,
        "className": "c15-surface"}).add_to(fg)
    fg.add_to(m)
    legend += [(t(f"count{k}", lang_), COUNT_COLOURS[k], "box") for k in (0, 1, 2)]

    # population density
    pop_xy = shapely.get_coordinates(cov.population.frame.geometry.to_numpy())
    dens = _hex_layer(pop_xy, cov.population.count, density_hex_m, net.crs, "sum")
    dens["per_km2"] = np.round(dens["value"] / dens.geometry.area * 1e6)
    edges = np.quantile(dens["per_km2"], [0.2, 0.4, 0.6, 0.8]) if len(dens) else [0, 0, 0, 0]
    dens["cls"] = np.searchsorted(edges, dens["per_km2"], side="right")
    fg = folium.FeatureGroup(name=t("density", lang_), show=False)
    folium.GeoJson(_geojson(_display(dens[["per_km2", "cls", "geometry"]], basemap)),
                   style_function=lambda f: {
                       "color": DENSITY_COLOURS[int(f["properties"]["cls"])], "weight": 0,
                       "fillColor": DENSITY_COLOURS[int(f["properties"]["cls"])],
                       "fillOpacity": 0.6, "className": "c15-density"},
                   tooltip=folium.GeoJsonTooltip(["per_km2"], [t("density", lang_)])).add_to(fg)
    fg.add_to(m)
    legend.append((t("density", lang_), DENSITY_COLOURS[3], "box"))

    # admin areas by covered share
    if areas is not None:
        stats = cov.by_area(areas)
        stats["name"] = _texts(stats["name"])
        stats["share_pct"] = np.round(stats["covered_share"].fillna(0) * 100, 1)
        stats["cross_pct"] = np.round(stats["cross_share"].fillna(0) * 100, 1)
        for col in ("population", "covered", "cross_covered"):
            stats[col] = np.round(stats[col]).astype(int)
        disp = _display(stats[["name", "population", "covered", "cross_covered", "share_pct",
                               "cross_pct", "geometry"]], basemap)

        def area_style(f: dict) -> dict:
            share = float(f["properties"]["share_pct"]) / 100
            colour = "#1a9850" if share >= 0.9 else "#fee08b" if share >= 0.6 else "#d73027"
            return {"color": "#444", "weight": 2, "fillColor": colour, "fillOpacity": 0.25,
                    "className": "c15-area"}

        fg = folium.FeatureGroup(name=t("areas", lang_), show=True)
        folium.GeoJson(_geojson(disp), style_function=area_style,
                       popup=folium.GeoJsonPopup(
                           ["name", "population", "covered", "share_pct", "cross_covered",
                            "cross_pct"],
                           [t("area", lang_), t("population", lang_), t("covered", lang_),
                            t("covered_share", lang_) + " %", t("cross", lang_),
                            t("cross", lang_) + " %"])).add_to(fg)
        fg.add_to(m)
        legend.append((t("areas", lang_), "#444", "box"))

    # gaps, ranked
    if gaps is not None and len(gaps):
        g = gaps.copy()
        g["population"] = np.round(g["population"]).astype(int)
        g["nearest_station"] = _texts(g["nearest_station"])
        disp = _display(g[["rank", "population", "nearest_station", "nearest_walk_min",
                           "geometry"]], basemap)
        fg = folium.FeatureGroup(name=t("gaps", lang_), show=True)
        folium.GeoJson(_geojson(disp), style_function=lambda f: {
            "color": GAP_COLOUR, "weight": 2, "dashArray": "4 3", "fillOpacity": 0.1,
            "className": "c15-gap"},
            tooltip=folium.GeoJsonTooltip(
                ["rank", "population", "nearest_station", "nearest_walk_min"],
                [t("rank", lang_), t("uncovered_people", lang_), t("nearest_station", lang_),
                 t("walk_min", lang_)])).add_to(fg)
        fg.add_to(m)
        legend.append((t("gaps", lang_), GAP_COLOUR, "box"))

    # stations: one GeoJSON layer (one page element, not three per station)
    st_frame = cov.stations_frame()
    pts = _display(st_frame, basemap)
    blank = pd.Series([""] * len(st_frame))
    # every cell escaped: folium's popups and tooltips insert them as HTML
    table = gpd.GeoDataFrame({
        "station": _texts(f"{n or i} ({i})" for n, i in zip(st_frame["name"], st_frame["id"],
                                                            strict=True)),
        "address": _texts(st_frame.get("address", blank).replace("", "—")),
        "amenities": _texts(_amenity_words(a, lang_) or "—"
                            for a in st_frame.get("amenities", blank)),
        "hours": _texts(st_frame.get("opening_hours", blank).replace("", "—")),
        "status": [t(v, lang_) for v in st_frame.get("status",
                                                      pd.Series(["existing"] * len(st_frame)))],
        "reached": [f"{v:,.0f}" for v in st_frame["population_reached"]],
        "nearest": [f"{v:,.0f}" for v in st_frame["population_nearest"]],
    }, geometry=pts.geometry.to_numpy(), crs=4326)
    fg = folium.FeatureGroup(name=t("stations", lang_), show=True)
    folium.GeoJson(
        _geojson(table),
        marker=folium.CircleMarker(radius=7, color="#fff", weight=2, fill=True,
                                   fill_color=STATION_COLOUR, fill_opacity=1.0),
        style_function=lambda f: {"className": "c15-station", "radius": 7, "color": "#fff",
                                  "weight": 2, "fillColor": STATION_COLOUR, "fillOpacity": 1.0},
        tooltip=folium.GeoJsonTooltip(["station"], labels=False),
        popup=folium.GeoJsonPopup(
            ["station", "address", "amenities", "hours", "status", "reached", "nearest"],
            _texts(t(k, lang_) for k in ("station", "address", "amenities", "hours", "status",
                                         "served", "served_first")), max_width=320),
    ).add_to(fg)
    fg.add_to(m)
    legend.append((t("stations", lang_), STATION_COLOUR, "dot"))

    # proposed sites
    if sites is not None and sites.k:
        sf = sites.sites_frame()
        s_ll = _lonlat(sf, basemap)
        fg = folium.FeatureGroup(name=t("sites", lang_), show=True)
        for (lon, lat), row in zip(s_ll, sf.itertuples(), strict=True):
            popup = _table([(t("rank", lang_), row.rank), (t("site", lang_), row.name),
                            (t("gain", lang_), f"{row.marginal_gain:,.0f}")])
            icon = folium.DivIcon(html=render("site_icon.html", colour=SITE_COLOUR, rank=row.rank),
                                  icon_size=(22, 22), icon_anchor=(11, 11))
            folium.Marker([float(lat), float(lon)], icon=icon,
                          popup=folium.Popup(popup, max_width=300)).add_to(fg)
        fg.add_to(m)
        legend.append((t("sites", lang_), SITE_COLOUR, "dot"))

    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_Fullscreen(t("fullscreen", lang_)))
    subtitle = t("assumptions", lang_, m=f"{settings.minutes:g}", v=f"{settings.speed_kmh:g}",
                 d=f"{settings.limit_m:,.0f}", date=data_date or date.today().isoformat())
    root.html.add_child(_Markup(render(
        "planner_title.html", title=title or t("title", lang_, m=f"{settings.minutes:g}"),
        subtitle=subtitle)), name="c15_title")
    root.html.add_child(_Markup(render("planner_legend.html", heading=t("legend", lang_),
                                       entries=legend)), name="c15_legend")
    bounds = _display(gpd.GeoDataFrame(geometry=[net.hull], crs=net.crs), basemap).total_bounds
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def save_map(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained HTML file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    m.save(str(path))
    return path
