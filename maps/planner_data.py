"""The planner page's layers as plain data (JSON for the page's own script).

Each builder returns what :mod:`static/planner.js` draws: polygons encoded by
:func:`planner_layers.polygon_codes`, rasters as data-URI PNGs, and rows of
text (never markup: the script inserts every string as text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from circle15.geo.coverage.count import Areas, Coverage
from circle15.geo.crs import wgs84_to_gcj02
from circle15.maps.basemap import QUANTUM_DEG, Basemap
from circle15.maps.i18n import LABELS, Lang, t
from circle15.maps.planner_layers import Grid, line_codes, polygon_codes

#: covered share classes of the towns: (lower bound in %, colour), low to high; a town
#: where nobody is within reach (0 %) has a class of its own, apart from 24 % ones
ZERO_COLOUR = "#bdbdbd"
SHARE_CLASSES = ((0, "#fff7bc"), (25, "#fec44f"), (50, "#c7e9b4"), (75, "#41b6c4"),
                 (90, "#225ea8"))
BAND_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b"]
COUNT_COLOURS = ["#d73027", "#fee08b", "#1a9850"]
DENSITY_COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
ROAD_STYLE = {"motorway": ("#e8928c", 3.5), "trunk": ("#f2a85b", 3.0),
              "primary": ("#f6c66b", 2.5), "secondary": ("#c9c08a", 1.8),
              "tertiary": ("#b8b8b8", 1.2)}
WATER_COLOUR = "#9cc3e6"

Shift = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def display_shift(amap: bool) -> Shift:
    """WGS84 (lon, lat) rows to what the basemap expects (GCJ-02 for Amap)."""
    if not amap:
        return lambda xy: xy

    def shift(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])) if len(xy) else xy

    return shift


def to_display(geoms: NDArray[np.object_], crs: Any, shift: Shift) -> NDArray[np.object_]:
    """Geometries in ``crs`` (metres) to display degrees."""
    out = gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=crs).to_crs(4326).to_numpy()
    return np.asarray(shapely.transform(out, shift), dtype=object)


def codes(geoms: NDArray[np.object_], crs: Any, shift: Shift, simplify_m: float
          ) -> list[list[list[str]]]:
    """Polygons in ``crs`` (metres), each ring simplified there, then projected to
    display degrees and encoded (only the kept points are projected)."""
    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)

    def project(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        return shift(np.column_stack([lon, lat]))

    return polygon_codes(np.asarray(geoms, dtype=object), simplify_m, project)


def lonlat(gdf: gpd.GeoDataFrame, shift: Shift) -> NDArray[np.float64]:
    xy = shapely.get_coordinates(gdf.to_crs(4326).geometry.to_numpy())
    return np.round(shift(xy), 6)


def share_class(pct: NDArray[np.float64]) -> NDArray[np.int64]:
    """The class of each share (%): 0 for nobody, then 1 + the class of
    :data:`SHARE_CLASSES` (the colours' order in :func:`class_colours`)."""
    lows = np.array([lo for lo, _ in SHARE_CLASSES[1:]], dtype=float)
    cls = 1 + np.searchsorted(lows, pct, side="right").astype(np.int64)
    return np.where(np.asarray(pct) <= 0, 0, cls)


def class_colours() -> list[str]:
    return [ZERO_COLOUR, *(c for _, c in SHARE_CLASSES)]


def share_legend(lang: Lang) -> list[tuple[str, str]]:
    out = [(ZERO_COLOUR, "0 %")]
    for i, (lo, colour) in enumerate(SHARE_CLASSES):
        hi = SHARE_CLASSES[i + 1][0] if i + 1 < len(SHARE_CLASSES) else None
        label = (t("share_top", lang, a=lo) if hi is None else
                 t("share_above_zero", lang, b=hi) if lo == 0 else
                 t("share_range", lang, a=lo, b=hi))
        out.append((colour, label))
    return out


def towns(cov: Coverage, areas: Areas, shift: Shift, lang: Lang = "zh") -> dict[str, Any]:
    stats = cov.by_area(areas)
    stats["name"] = areas.labels(lang)  # by_area keeps the areas' order
    share = np.round(stats["covered_share"].fillna(0).to_numpy(float) * 100, 1)
    cross = np.round(stats["cross_share"].fillna(0).to_numpy(float) * 100, 1)
    geoms = stats.geometry.to_numpy()
    options = label_spots(geoms, cov.stations.frame.to_crs(stats.crs).geometry.to_numpy())
    spots = shapely.get_coordinates(to_display(np.asarray([o[0] for o in options],
                                                          dtype=object), stats.crs, shift))
    alts = [np.round(shapely.get_coordinates(to_display(np.asarray(o, dtype=object),
                                                         stats.crs, shift))[:, ::-1], 5).tolist()
            for o in options]
    rows = [[str(n), round(float(p)), round(float(c)), round(float(x)), float(s), float(xs)]
            for n, p, c, x, s, xs in zip(stats["name"], stats["population"], stats["covered"],
                                         stats["cross_covered"], share, cross, strict=True)]
    return {"rows": rows, "cls": share_class(share).tolist(),
            "cls_cross": share_class(cross).tolist(),
            "polys": codes(geoms, stats.crs, shift, 10.0),
            "at": np.round(spots[:, ::-1], 5).tolist(), "alt": alts,
            "colours": class_colours()}


def label_spots(geoms: NDArray[np.object_], stations: NDArray[np.object_],
                tries: int = 14, keep: int = 12) -> list[list[object]]:
    """Where each town's name may go (metric frame), best first: of points inside it
    (its point-on-surface and a grid), those farthest from any station, kept off its
    edges, so the stations' markers and cluster bubbles do not sit on the name (the
    page moves a name to the next one where a bubble still covers it)."""
    import shapely

    tree = shapely.STRtree(stations) if len(stations) else None
    out = []
    for g in geoms:
        x0, y0, x1, y1 = g.bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, tries + 2)[1:-1],
                             np.linspace(y0, y1, tries + 2)[1:-1])
        cands = np.concatenate([[shapely.point_on_surface(g)],
                                shapely.points(gx.ravel(), gy.ravel())])
        inside = cands[shapely.contains(g, cands)]
        if tree is None or inside.size <= 1:
            out.append([cands[0]])
            continue
        _, far = tree.query_nearest(inside, return_distance=True, all_matches=False)
        edge = shapely.distance(inside, g.boundary)
        # away from the stations (where their bubbles are) first, then room from the edge
        score = 2.0 * np.minimum(far, 1200.0) + np.minimum(edge, 800.0)
        out.append(list(inside[np.argsort(-score, kind="stable")[:keep]]))
    return out


def bands(iso: gpd.GeoDataFrame, shift: Shift, limit_min: float, lang: Lang,
          show: bool) -> list[dict[str, Any]]:
    union = iso[iso["station"].isna()].sort_values("minutes", ascending=False)
    encoded = codes(union.geometry.to_numpy(), iso.crs, shift, 15.0)
    out = []
    n = len(union)
    for i, (minutes, shape) in enumerate(zip(union["minutes"], encoded, strict=True)):
        out.append({"name": t("iso_union", lang, m=f"{minutes:g}"), "polys": shape,
                    "colour": BAND_COLOURS[min(len(BAND_COLOURS) - 1, n - 1 - i)],
                    "show": bool(show and minutes == limit_min)})
    return out


def station_isochrones(iso: gpd.GeoDataFrame, ids: list[str], shift: Shift
                       ) -> list[list[list[str]]]:
    """Each station's own isochrone (service limit), encoded, in station order."""
    per = iso[iso["station"].notna()]
    per = per[per["minutes"] == per["minutes"].max()] if len(per) else per
    encoded = codes(per.geometry.to_numpy(), iso.crs, shift, 15.0)
    by_id = dict(zip(per["station"].astype(str), encoded, strict=True))
    return [by_id.get(str(i), []) for i in ids]


def surface(cov: Coverage, shift: Shift, lang: Lang, cell_m: float = 100.0) -> dict[str, Any]:
    """Stations within reach (0 / 1 / 2+) of the streets, per cell: the cell's most
    common class among its street nodes."""
    net = cov.network
    ll = shift(net.unproject(net.node_xy))
    grid = Grid(ll, cell_m)
    counts = np.minimum(cov.node_count[-1], 2)
    per = np.stack([grid.total((counts == k).astype(float)) for k in range(3)])
    cls = np.where(per.sum(axis=0) > 0, per.argmax(axis=0), -1)
    return {"url": grid.image(cls, COUNT_COLOURS, 165), "bounds": grid.bounds(),
            "legend": [(COUNT_COLOURS[k], t(f"count{k}", lang)) for k in range(3)]}


def density(cov: Coverage, shift: Shift, lang: Lang, cell_m: float = 250.0) -> dict[str, Any]:
    frame = cov.population.frame
    # the units' WGS84 lon/lat columns (no need to project 100,000 points again)
    ll = shift(frame[["lon", "lat"]].to_numpy(dtype=float))
    grid = Grid(ll, cell_m)
    per_km2 = grid.total(cov.population.count) / grid.cell_km2
    filled = grid.count() > 0
    vals = per_km2[filled]
    edges = (np.unique(np.round(np.quantile(vals, [0.2, 0.4, 0.6, 0.8]), -1)) if vals.size
             else np.zeros(0))
    cls = np.where(filled, np.searchsorted(edges, per_km2, side="right"), -1)
    bounds = [0.0, *edges.tolist()]
    legend = []
    for i in range(len(bounds)):
        a = f"{bounds[i]:,.0f}"
        legend.append((DENSITY_COLOURS[i], t("density_top", lang, a=a) if i == len(bounds) - 1
                       else t("density_cls", lang, a=a, b=f"{bounds[i + 1]:,.0f}")))
    return {"url": grid.image(cls, DENSITY_COLOURS, 180), "bounds": grid.bounds(),
            "legend": legend}


def gap_areas(gaps: gpd.GeoDataFrame, shift: Shift, top: int, block_m: float
              ) -> dict[str, Any]:
    """The ``top`` largest gap areas, ranked by the people in them.

    Touching gap hexagons are merged, but across a district they touch for tens of
    kilometres (at 50 stations one such area holds most of the district), so the
    merged gaps are cut into square blocks of ``block_m`` (about what one or a few
    new stations would serve): an area is the gap hexagons of one block, merged.
    The nearest station of an area is that of its hexagon nearest to a station.
    """
    if len(gaps) == 0:
        return {"rows": [], "polys": [], "total": 0, "people": 0}
    centre = shapely.get_coordinates(shapely.point_on_surface(gaps.geometry.to_numpy()))
    block = np.floor(centre / block_m).astype(np.int64)
    frame = pd.DataFrame({"bx": block[:, 0], "by": block[:, 1],
                          "pop": gaps["population"].to_numpy(float),
                          "walk": gaps["nearest_walk_min"].to_numpy(float)})
    grouped = frame.groupby(["bx", "by"], sort=False)
    people = grouped["pop"].sum().sort_values(ascending=False, kind="stable")
    nearest = frame.loc[grouped["walk"].idxmin().loc[people.index[:top]].to_numpy()]
    members = grouped.indices
    geoms = np.array([shapely.union_all(gaps.geometry.to_numpy()[members[key]], grid_size=0.5)
                      for key in people.index[:top]], dtype=object)
    at = shapely.get_coordinates(to_display(shapely.point_on_surface(geoms), gaps.crs, shift))
    stations = gaps["nearest_station"].to_numpy(object)[nearest.index.to_numpy()]
    rows = [[i + 1, round(float(p)), "" if s is None or pd.isna(s) else str(s),
             None if pd.isna(w) else float(w), round(float(y), 5), round(float(x), 5)]
            for i, (p, s, w, (x, y)) in enumerate(zip(people.to_numpy()[:top], stations,
                                                      nearest["walk"], at, strict=True))]
    return {"rows": rows, "polys": codes(geoms, gaps.crs, shift, 20.0), "total": len(people),
            "people": round(float(frame["pop"].sum()))}


def amenity_words(cell: object, lang: Lang) -> str:
    """Amenity keys in words (a key the labels do not know is shown as it is)."""
    keys = [k.strip() for k in str(cell or "").split(";") if k.strip()]
    words = [t(k, lang) if k in LABELS else k for k in keys]
    return ("、" if lang == "zh" else ", ").join(words)


def streets(base: Basemap, shift: Shift) -> dict[str, Any]:
    def shifted(lines: list[NDArray[np.int64]]) -> list[NDArray[np.int64]]:
        if not lines:
            return []
        flat = shift(np.concatenate(lines) * QUANTUM_DEG)
        q = np.round(flat / QUANTUM_DEG).astype(np.int64)
        return np.split(q, np.cumsum([len(a) for a in lines])[:-1])

    water = [shifted(poly) for poly in base.water_areas]
    places = [[n, k, *np.round(shift(np.array([[x, y]]))[0, ::-1], 5).tolist()]
              for n, k, x, y in base.places]
    return {"roads": [[cls, ROAD_STYLE[cls][0], ROAD_STYLE[cls][1], line_codes(shifted(lines))]
                      for cls, lines in reversed(list(base.roads.items()))],
            "rivers": line_codes(shifted(base.rivers)),
            "water": [line_codes(p) for p in water], "water_colour": WATER_COLOUR,
            "places": places}
