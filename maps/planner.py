"""The planner map: one offline HTML page a district planner can read.

The default view is the towns shaded by the share of their people within
reach (a graded legend, the numbers on hover and click) and the stations,
grouped at low zoom (leaflet.markercluster) and searchable by name or id;
picking a station draws its own isochrone. Coverage bands, the 0 / 1 / 2+
surface, population density, the largest merged gap areas (with a ranked
list) and proposed sites are layers to switch on. Streets, water and place
names drawn from the OSM file itself give context with no tile server.

The page is one template (``templates/planner.html``), one script of our own
(``static/planner.js``) and the data as compact JSON: polygons as encoded
polylines, surfaces as small PNGs, everything drawn on canvas. Leaflet and
leaflet.markercluster are inlined from the project's npm install; the only
network requests are basemap tiles (none with ``basemap="blank"``). With the
Amap (Gaode) basemap every overlay is shifted into GCJ-02.

Other data can be plugged in: ``station_fields`` adds per-station fields to
the popups and the search, ``overlays`` adds layers (:class:`Overlay`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from circle15.geo.coverage.count import Areas, Coverage
from circle15.geo.coverage.gaps import find_gaps
from circle15.geo.coverage.isochrones import isochrones
from circle15.geo.errors import SettingsError
from circle15.geo.siting import SitingResult
from circle15.geo.vocab import Basemap as BasemapWord
from circle15.geo.vocab import words
from circle15.maps import planner_data as pdata
from circle15.maps.assets import cluster_head, inline_head
from circle15.maps.basemap import Basemap
from circle15.maps.i18n import Lang, check_lang, for_mode, t
from circle15.maps.render import render

BasemapName = Literal["osm", "amap", "blank"]
BASEMAPS = words(BasemapWord)

TILES = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "© OpenStreetMap contributors", None),
    "amap": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
             "&x={x}&y={y}&z={z}", "© 高德地图 AutoNavi", "1234"),
}
STATION_COLOUR = "#08519c"
CLUSTER_COLOUR = "#3f7fbf"
#: the outline of the picked station's isochrone: reads over every town shade
PICKED_COLOUR = "#1a1a1a"
#: proposed sites: orange squares (station clusters are blue circles), as in the report
SITE_COLOUR = "#e6550d"
GAP_COLOUR = "#b2182b"
#: merged gap areas listed and drawn
TOP_GAPS = 20
#: gap hexagons of the map (centre to corner, metres), merged into areas
MAP_GAP_HEX_M = 150.0
#: side of the blocks that cut merged gaps into areas a planner can act on, metres
GAP_BLOCK_M = 2_000.0


@dataclass(frozen=True)
class Overlay:
    """An extra layer of the planner map, off unless ``show``.

    ``geojson`` is a FeatureCollection in WGS84 (points, lines or polygons);
    ``style`` holds Leaflet path options (``color``, ``weight``, ``fillColor``,
    ``fillOpacity``, ``radius`` for points); ``fields`` names the properties
    shown, as text, when a feature is clicked (all of them when None);
    ``legend`` is the colour of its legend swatch (``style["color"]`` if None).
    """

    name: str
    geojson: Mapping[str, Any]
    style: Mapping[str, Any] = field(default_factory=dict)
    show: bool = False
    fields: Sequence[str] | None = None
    legend: str | None = None


def _shift_coords(value: Any, shift: pdata.Shift) -> Any:
    """GeoJSON coordinates (nested lists) moved by ``shift``."""
    if len(value) and isinstance(value[0], int | float):  # one position
        return np.round(shift(np.asarray(value, dtype=float)[None, :2]), 6)[0].tolist()
    if len(value) and isinstance(value[0][0], int | float):  # a line or a ring
        return np.round(shift(np.asarray([p[:2] for p in value], dtype=float)), 6).tolist()
    return [_shift_coords(v, shift) for v in value]


def _overlay(o: Overlay, shift: pdata.Shift, amap: bool) -> dict[str, Any]:
    if o.geojson.get("type") != "FeatureCollection":
        raise SettingsError(f"overlay {o.name!r}: geojson must be a FeatureCollection")
    gj: dict[str, Any] = dict(o.geojson)
    if amap:
        feats = []
        for f in gj.get("features", []):
            geom = dict(f.get("geometry") or {})
            if "coordinates" in geom:
                geom["coordinates"] = _shift_coords(geom["coordinates"], shift)
            feats.append({**f, "geometry": geom})
        gj["features"] = feats
    style = {"color": "#555", "weight": 1.5, "fillOpacity": 0.3, **dict(o.style)}
    return {"name": o.name, "geojson": gj, "style": style, "show": bool(o.show),
            "fields": None if o.fields is None else [str(f) for f in o.fields]}


def _stations(cov: Coverage, shift: pdata.Shift, lang: Lang,
              extra: Mapping[str, Sequence[object]] | None) -> dict[str, Any]:
    st = cov.stations_frame()
    n = len(st)
    ll = pdata.lonlat(st, shift) if n else np.zeros((0, 2))
    blank = pd.Series([""] * n, index=st.index)

    def text(col: str) -> list[str]:
        return [str(v) if v is not None and not (isinstance(v, float) and np.isnan(v)) else ""
                for v in st.get(col, blank)]

    heads = [t(k, lang) for k in ("address", "amenities", "hours", "status", "served",
                                  "served_first")]
    cols: list[list[str]] = [
        text("address"), [pdata.amenity_words(a, lang) for a in text("amenities")],
        text("opening_hours"),
        [t(v, lang) if v in ("existing", "planned", "closed") else v
         for v in (text("status") if "status" in st else ["existing"] * n)],
        [f"{v:,.0f}" for v in st["population_reached"]],
        [f"{v:,.0f}" for v in st["population_nearest"]]]
    for name, values in (extra or {}).items():
        vals = list(values)
        if len(vals) != n:
            raise SettingsError(f"station field {name!r} has {len(vals)} values for {n} stations")
        heads.append(str(name))
        cols.append(["" if v is None else str(v) for v in vals])
    rows = [list(r) for r in zip(*cols, strict=True)] if n else []
    return {"ids": [str(i) for i in st["id"]], "names": text("name"),
            "lat": ll[:, 1].tolist(), "lon": ll[:, 0].tolist(), "heads": heads, "rows": rows}


def _sites(sites: SitingResult | None, shift: pdata.Shift) -> list[list[Any]]:
    if sites is None or not sites.k:
        return []
    sf = sites.sites_frame()
    ll = pdata.lonlat(sf, shift)
    return [[int(r), str(nm), float(g), float(y), float(x)]
            for r, nm, g, (x, y) in zip(sf["rank"], sf["name"], sf["marginal_gain"], ll,
                                        strict=True)]


def _legend(lang: Lang, data: dict[str, Any], minutes: str) -> list[dict[str, Any]]:
    """Legend sections: (layer key, heading, entries of (colour, label, shape))."""
    sec: list[dict[str, Any]] = []
    if data.get("towns"):
        sec.append({"key": "towns", "heading": t("towns_share", lang, m=minutes),
                    "entries": [(c, lbl, "box") for c, lbl in pdata.share_legend(lang)]})
        # the district's own goal, cross coverage (交叉覆盖), on the same classes
        sec.append({"key": "towns_cross", "heading": t("towns_cross", lang, m=minutes),
                    "entries": [(c, lbl, "box") for c, lbl in pdata.share_legend(lang)]})
    sec.append({"key": "stations", "heading": t("stations", lang),
                "entries": [(STATION_COLOUR, t("stations", lang), "dot"),
                            (CLUSTER_COLOUR, t("cluster", lang), "dot"),
                            (PICKED_COLOUR, t("picked_iso", lang, m=minutes), "ring")]})
    if data["bands"]:
        sec.append({"key": "bands", "heading": t("iso_union", lang, m=minutes),
                    "entries": [(b["colour"], b["name"], "box") for b in data["bands"]]})
    sec.append({"key": "surface", "heading": t("surface", lang),
                "entries": [(c, lbl, "box") for c, lbl in data["surface"]["legend"]]})
    sec.append({"key": "density", "heading": t("density", lang),
                "entries": [(c, lbl, "box") for c, lbl in data["density"]["legend"]]})
    if data["gaps"]["rows"]:
        sec.append({"key": "gaps", "heading": t("gaps", lang),
                    "entries": [(GAP_COLOUR, t("gap", lang), "box")]})
    if data["sites"]:
        sec.append({"key": "sites", "heading": t("sites", lang),
                    "entries": [(SITE_COLOUR, t("site", lang), "square")]})
    if data.get("streets"):
        sec.append({"key": "streets", "heading": t("streets", lang), "entries": [
            *[(c, t(f"road_{k}", lang), "line") for k, c, _, _ in reversed(
                data["streets"]["roads"])],
            (pdata.WATER_COLOUR, t("water_label", lang), "box")]})
    for i, o in enumerate(data["overlays"]):
        sec.append({"key": f"overlay{i}", "heading": o["name"],
                    "entries": [(o["legend"], o["name"], "box")]})
    return sec


def planner_page(
    cov: Coverage,
    *,
    areas: Areas | None = None,
    gaps: gpd.GeoDataFrame | None = None,
    sites: SitingResult | None = None,
    iso: gpd.GeoDataFrame | None = None,
    streets: Basemap | None = None,
    basemap: BasemapName = "osm",
    lang: str = "zh",
    data_date: str | None = None,
    title: str | None = None,
    station_fields: Mapping[str, Sequence[object]] | None = None,
    overlays: Sequence[Overlay] = (),
    top_gaps: int = TOP_GAPS,
) -> str:
    """The planner map of a coverage as one self-contained HTML page.

    ``areas``: the towns to shade (without them the service-limit band is
    shown by default instead). ``gaps``: gap hexagons (default: :func:`find_gaps`
    with 150 m hexagons), merged where they touch within 2 km blocks
    (:func:`planner_data.gap_areas`); the ``top_gaps`` areas with the most people
    are drawn and listed. ``iso``: :func:`isochrones` of ``cov``, if
    already computed. ``streets``: the OSM file's basemap
    (:func:`circle15.maps.basemap.load_basemap`), drawn under everything and
    shown by default when ``basemap="blank"``. ``station_fields``: extra
    per-station values (label -> one value per station, in station order),
    shown in popups and searched. ``overlays``: extra layers, off by default.
    """
    lang_ = check_lang(lang)
    if basemap not in BASEMAPS:
        raise SettingsError(f"basemap must be one of {', '.join(BASEMAPS)}, not {basemap!r}")
    settings = cov.settings
    amap = basemap == "amap"
    shift = pdata.display_shift(amap)
    if iso is None:
        iso = isochrones(cov)
    if gaps is None:
        gaps = find_gaps(cov, hex_m=MAP_GAP_HEX_M)
    minutes = f"{settings.minutes:g}"
    st = _stations(cov, shift, lang_, station_fields)
    st["iso"] = pdata.station_isochrones(iso, st["ids"], shift)
    data: dict[str, Any] = {
        "lang": lang_, "colours": {"station": STATION_COLOUR, "site": SITE_COLOUR,
                                   "gap": GAP_COLOUR, "picked": PICKED_COLOUR},
        "tiles": None, "stations": st, "sites": _sites(sites, shift),
        "towns": pdata.towns(cov, areas, shift, lang_) if areas is not None else None,
        "bands": pdata.bands(iso, shift, settings.minutes, lang_, show=areas is None),
        "surface": pdata.surface(cov, shift, lang_),
        "density": pdata.density(cov, shift, lang_),
        "gaps": pdata.gap_areas(gaps, shift, top_gaps, GAP_BLOCK_M),
        "streets": pdata.streets(streets, shift) if streets is not None else None,
        "streets_show": basemap not in TILES,
        "overlays": [_overlay(o, shift, amap) for o in overlays],
    }
    for o, spec in zip(data["overlays"], overlays, strict=True):
        o["legend"] = spec.legend or o["style"].get("color", "#555")
    if basemap in TILES:
        url, attr, subdomains = TILES[basemap]
        data["tiles"] = {"url": url, "attr": attr, "subdomains": subdomains or "abc",
                         "name": t(f"basemap_{basemap}", lang_)}
    hull = pdata.to_display(np.array([cov.network.hull], dtype=object), cov.network.crs, shift)
    x0, y0, x1, y1 = hull[0].bounds
    data["bounds"] = [[round(y0, 5), round(x0, 5)], [round(y1, 5), round(x1, 5)]]
    keys = ["stations", "towns", "bands", "surface", "density", "gaps", "sites", "streets",
            "search", "no_match", "pick_hint", "station", "area", "population",
            "covered", "covered_share", "cross", "rank", "uncovered_people", "nearest_station",
            "walk_min", "site", "gain", "close", "people", "fullscreen", "min"]
    labels = {k: t(k, lang_) for k in keys if k not in ("towns", "bands")}
    labels["towns"] = t("areas", lang_)
    labels["towns_cross"] = t("areas_cross", lang_)
    labels["show_gaps"] = t("show_gaps", lang_)
    labels["bands"] = t("iso_union", lang_, m=minutes)
    labels["gap_list"] = t("gap_list", lang_, n=len(data["gaps"]["rows"]),
                           total=data["gaps"]["total"])
    labels = {k: for_mode(v, settings.mode, lang_) for k, v in labels.items()}
    for band in data["bands"]:
        band["name"] = for_mode(band["name"], settings.mode, lang_)
    data["labels"] = labels
    subtitle = for_mode(t("assumptions", lang_, m=minutes, v=f"{settings.speed_kmh:g}",
                          d=f"{settings.limit_m:,.0f}",
                          date=data_date or date.today().isoformat()), settings.mode, lang_)
    return render("planner.html", html_lang="zh-CN" if lang_ == "zh" else "en",
                  title=title or t("title", lang_, m=minutes), subtitle=subtitle,
                  head=inline_head(), cluster=cluster_head(), legend_heading=t("legend", lang_),
                  legend=[{**sec, "heading": for_mode(sec["heading"], settings.mode, lang_),
                           "entries": [(c, for_mode(lbl, settings.mode, lang_), shape)
                                       for c, lbl, shape in sec["entries"]]}
                          for sec in _legend(lang_, data, minutes)], data=data,
                  fullscreen=t("fullscreen", lang_), search=t("search", lang_),
                  gap_heading=labels["gap_list"], blank=basemap not in TILES)


def save_page(html: str, path: str | Path) -> Path:
    """Write a page (one self-contained HTML file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
