"""Population from the sources planners have: rasters, census polygons, buildings.

Every source ends as points with counts that go through the one placement
path of :func:`circle15.geo.population.points.population_from_points`:

- a GeoTIFF of counts (or of densities, declared, converted with each cell's
  area) becomes cell-centre points, clipped to the network's area;
- census polygons with a count are spread over the residential buildings in
  them (weight = footprint × levels), or over the walkable street length in
  them when they hold no building; each polygon's total is kept exactly;
- buildings alone share a total given for the whole area the same way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from circle15.geo.crs import check_input_crs, geometries_to_wgs84
from circle15.geo.errors import InputError, Problem, SettingsError, ref
from circle15.geo.inputs.tables import find_column, parse_numbers
from circle15.geo.network.graph import Network
from circle15.geo.population.points import POPULATION_MAX_SNAP_M, Population, population_from_points
from circle15.geo.snapping.snap import DEFAULT_RULE, SnapRule

log = logging.getLogger(__name__)

#: building values people live in; "yes" is OSM's "a building of unknown use"
RESIDENTIAL_BUILDINGS = frozenset({
    "residential", "apartments", "house", "detached", "semidetached_house", "terrace",
    "dormitory", "bungalow", "farm", "cabin", "static_caravan", "houseboat", "yes",
})
#: storeys assumed when ``building:levels`` is missing, by building type
DEFAULT_LEVELS: dict[str, float] = {
    "apartments": 6.0, "residential": 4.0, "dormitory": 5.0, "house": 2.0, "detached": 2.0,
    "semidetached_house": 2.0, "terrace": 2.0, "farm": 2.0, "bungalow": 1.0, "cabin": 1.0,
    "static_caravan": 1.0, "houseboat": 1.0, "yes": 2.0,
}
#: counts implying more people per km² than the densest city blocks are not counts
MAX_PLAUSIBLE_DENSITY_KM2 = 150_000.0


@dataclass(frozen=True)
class Estimate:
    """Points with counts (WGS84) and how they were made, before placement."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    count: NDArray[np.float64]
    ids: list[str]
    source: str
    method: str

    def place(self, net: Network, *, max_snap_m: float = POPULATION_MAX_SNAP_M,
              rule: SnapRule = DEFAULT_RULE) -> Population:
        """Snap to the network; units too far from any street are dropped and counted."""
        pop = population_from_points(net, self.lon, self.lat, self.count, unit_ids=self.ids,
                                     source=self.source, max_snap_m=max_snap_m, on_far="drop",
                                     rule=rule)
        text = f"{pop.rule}; population estimated by {self.method}"
        return Population(pop.frame, pop.snapped, pop.source, pop.dropped_units,
                          pop.dropped_population, text)


# ---------------------------------------------------------------------------
# rasters


def raster_population(
    path: str | Path, net: Network, *, density: bool = False, band: int = 1,
    margin_m: float = 500.0,
) -> Estimate:
    """Cell-centre counts from a GeoTIFF, clipped to the network's area.

    ``density=True`` declares people per km² (converted with each cell's area,
    measured in metres); otherwise values are people per cell. Cells that are
    nodata are skipped; negative values or undeclared NaN are an error, and so
    is a count raster whose values imply implausible densities.
    """
    import rasterio
    from rasterio.windows import Window, from_bounds

    from circle15.geo.crs import transformer

    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(source, "no such file")
    try:
        src = rasterio.open(path)
    except Exception as exc:  # rasterio raises RasterioIOError and friends
        raise InputError(source, f"not a readable raster ({exc})") from exc
    with src:
        if src.crs is None:
            raise InputError(source, "the raster has no coordinate system (CRS missing)")
        if not 1 <= band <= src.count:
            raise InputError(source, f"band {band} does not exist (the raster has {src.count})")
        area = shapely.buffer(net.hull, margin_m)
        to_raster = transformer(net.crs, src.crs)
        ring = shapely.get_coordinates(shapely.segmentize(area.exterior, 200.0))
        rx, ry = to_raster.transform(ring[:, 0], ring[:, 1])
        left, right = max(min(rx), src.bounds.left), min(max(rx), src.bounds.right)
        bottom, top = max(min(ry), src.bounds.bottom), min(max(ry), src.bounds.top)
        if left >= right or bottom >= top:
            raise InputError(source, "the raster does not overlap the network's area")
        exact = from_bounds(left, bottom, right, top, transform=src.transform)
        # every cell the area touches: start rounded down, end rounded up (rounding the
        # length on its own, after moving the start back, could drop the last cell)
        col0, row0 = int(np.floor(exact.col_off)), int(np.floor(exact.row_off))
        col1 = min(int(np.ceil(exact.col_off + exact.width)), src.width)
        row1 = min(int(np.ceil(exact.row_off + exact.height)), src.height)
        window = Window(max(col0, 0), max(row0, 0), col1 - max(col0, 0), row1 - max(row0, 0))
        data = src.read(band, window=window, masked=True, boundless=False).astype(float)
        win_transform = src.window_transform(window)
        raster_crs = src.crs
    values = np.ma.filled(data, np.nan)
    valid = ~np.ma.getmaskarray(data)
    rows, cols = np.nonzero(valid)
    v = values[rows, cols]
    problems = []
    if (~np.isfinite(v)).any():
        problems.append(Problem(f"{int((~np.isfinite(v)).sum())} cells are NaN but not declared "
                                "nodata; set the raster's nodata value"))
    if (v < 0).any():
        problems.append(Problem(f"{int((v < 0).sum())} cells are negative (lowest {v.min():g})"))
    if problems:
        raise InputError(source, problems)
    # cell centres and corners, in the network's metres
    xs, ys = rasterio.transform.xy(win_transform, rows, cols, offset="center")
    to_net = transformer(raster_crs, net.crs)
    cx, cy = to_net.transform(np.asarray(xs, float), np.asarray(ys, float))
    inside = shapely.contains_xy(area, cx, cy)
    rows, cols, v, cx, cy = rows[inside], cols[inside], v[inside], cx[inside], cy[inside]
    if rows.size == 0:
        raise InputError(source, "no raster cell with data lies in the network's area")
    corners = [rasterio.transform.xy(win_transform, rows + dr, cols + dc, offset="ul")
               for dr, dc in ((0, 0), (0, 1), (1, 1), (1, 0))]
    pts = [to_net.transform(np.asarray(x, float), np.asarray(y, float)) for x, y in corners]
    px = np.stack([p[0] for p in pts], axis=1)
    py = np.stack([p[1] for p in pts], axis=1)
    cell_km2 = 0.5 * np.abs(np.sum(px * np.roll(py, -1, 1) - np.roll(px, -1, 1) * py, axis=1)) / 1e6
    if density:
        count = v * cell_km2
    else:
        implied = np.divide(v, cell_km2, out=np.zeros_like(v), where=cell_km2 > 0)
        if implied.max() > MAX_PLAUSIBLE_DENSITY_KM2:
            msg = (f"cell values imply up to {implied.max():,.0f} people per km², more than any "
                   "city; is this a density raster (people per km²)? If so pass "
                   f"{ref('raster_density')}")
            raise InputError(source, msg)
        count = v
    ll = net.unproject(np.column_stack([cx, cy]))
    keep = count > 0
    ids = [f"r{r}c{c}" for r, c in zip(rows[keep] + int(window.row_off),
                                       cols[keep] + int(window.col_off), strict=True)]
    return Estimate(ll[keep, 0], ll[keep, 1], count[keep], ids, source,
                    f"raster cells of {source}" + (" (density × cell area)" if density else ""))


# ---------------------------------------------------------------------------
# buildings


def _levels(tag: str | None) -> float | None:
    if not tag:
        return None
    m = re.match(r"\s*(\d+(?:\.\d+)?)", tag)
    if m is None:
        return None
    value = float(m.group(1))
    return value if 0 < value < 200 else None


def read_osm_buildings(path: str | Path, net: Network) -> gpd.GeoDataFrame:
    """Residential (and unknown-use) buildings of an OSM file, in the network CRS.

    Columns: ``osm_id``, ``building``, ``levels``, ``levels_from`` (``tag`` or
    ``default``), ``footprint_m2``, ``floor_area_m2`` (footprint × levels).
    """
    import osmium
    from osmium.geom import WKBFactory

    factory = WKBFactory()
    rows, wkbs = [], []
    try:
        for area in osmium.FileProcessor(str(path)).with_areas():
            if not isinstance(area, osmium.osm.Area):
                continue
            kind = area.tags.get("building")
            if kind is None or kind not in RESIDENTIAL_BUILDINGS:
                continue
            try:
                wkb = factory.create_multipolygon(area)
            except RuntimeError:  # broken rings in the source data
                continue
            levels = _levels(area.tags.get("building:levels"))
            rows.append((area.orig_id(), kind, levels))
            wkbs.append(wkb)
    except RuntimeError as exc:
        raise InputError(str(path), f"cannot read this OSM file ({exc})") from exc
    frame = pd.DataFrame(rows, columns=["osm_id", "building", "levels"])
    geoms = shapely.from_wkb(np.asarray(wkbs, dtype=object)) if wkbs else np.empty(0, object)
    gdf = gpd.GeoDataFrame(frame, geometry=list(geoms), crs=4326).to_crs(net.crs)
    tagged = gdf["levels"].notna()
    gdf["levels_from"] = np.where(tagged, "tag", "default")
    gdf["levels"] = gdf["levels"].where(tagged, gdf["building"].map(DEFAULT_LEVELS)).astype(float)
    gdf["footprint_m2"] = gdf.geometry.area
    gdf["floor_area_m2"] = gdf["footprint_m2"] * gdf["levels"]
    return gdf[gdf["floor_area_m2"] > 0].reset_index(drop=True)


def _points_of(gdf: gpd.GeoDataFrame, net: Network) -> NDArray[np.float64]:
    return net.unproject(shapely.get_coordinates(gdf.geometry.representative_point().to_numpy()))


def buildings_population(buildings: gpd.GeoDataFrame, net: Network, *, total: float,
                         source: str = "buildings") -> Estimate:
    """Share ``total`` people over buildings in proportion to floor area."""
    if not (np.isfinite(total) and total > 0):
        raise SettingsError(f"the population total must be a positive number, not {total}")
    if buildings.empty:
        raise InputError(source, "no residential building found to place people in")
    floor = buildings["floor_area_m2"].to_numpy(float)
    count = total * floor / floor.sum()
    ll = _points_of(buildings, net)
    ids = [f"b{o}" for o in buildings["osm_id"]]
    return Estimate(ll[:, 0], ll[:, 1], count, ids, source,
                    f"OSM residential buildings (floor area = footprint × levels), "
                    f"total {total:,.0f}")


# ---------------------------------------------------------------------------
# census polygons


def read_census(
    path: str | Path,
    *,
    crs: str = "wgs84",
    name_column: str | None = None,
    count_column: str | None = None,
    table: str | Path | None = None,
    table_name_column: str | None = None,
    table_count_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Census polygons with a population count, in WGS84.

    The count is a column of the polygon file, or comes from a separate table
    (CSV/XLSX) joined on the area name, e.g. the 2020 census table of Beijing's
    districts (区县, 人口数_合计) joined to an Amap outline (name 顺义区).
    """
    source = str(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds
        raise InputError(source, f"not a readable vector file ({exc})") from exc
    if gdf.empty:
        raise InputError(source, "the file has no features")
    if gdf.crs is None:
        raise InputError(source, "the file declares no coordinate system (CRS missing)")
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    kind = check_input_crs(crs)
    geoms = shapely.make_valid(geometries_to_wgs84(gdf.geometry.to_numpy(), kind))
    name_col = find_column(gdf, ("name", "名称", "区县", "town", "街道", "乡镇"),
                           explicit=name_column, source=source)
    names = gdf[name_col].astype(str).str.strip().to_numpy() if name_col else np.array(
        [str(i + 1) for i in range(len(gdf))])
    problems: list[Problem] = []
    if table is None:
        col = find_column(gdf, ("population", "pop", "人口", "人口数_合计", "count"),
                          explicit=count_column, source=source)
        if col is None:
            raise InputError(source, f"no population column; pass {ref('census_count_column')}, "
                             f"or {ref('census_table')} with the counts")
        count, problems = parse_numbers(pd.DataFrame(gdf.drop(columns="geometry")), col,
                                        what="population")
    else:
        from circle15.geo.inputs.tables import read_csv

        tpath = Path(table)
        tab = pd.read_excel(tpath, dtype=str) if tpath.suffix.lower() in (".xlsx", ".xlsm") \
            else read_csv(tpath)
        t_name = find_column(tab, ("区县", "name", "名称", "district"),
                             explicit=table_name_column, source=str(tpath))
        t_count = find_column(tab, ("人口数_合计", "population", "人口", "pop"),
                              explicit=table_count_column, source=str(tpath))
        if t_name is None or t_count is None:
            raise InputError(str(tpath), "the table needs a name and a population column")
        values, problems = parse_numbers(tab, t_count, what="population")
        lookup = dict(zip(tab[t_name].astype(str).str.strip(), values, strict=True))
        count = np.array([lookup.get(n, np.nan) for n in names])
        for i in np.flatnonzero(np.isnan(count)).tolist():
            problems.append(Problem(f"area {names[i]!r} is not in the table {tpath.name}",
                                    row=i + 1))
    for i in np.flatnonzero(np.isfinite(count) & (count < 0)).tolist():
        problems.append(Problem(f"population is negative ({count[i]})", row=i + 1,
                                ident=names[i]))
    empty = shapely.area(geoms) <= 0
    for i in np.flatnonzero(empty).tolist():
        problems.append(Problem("polygon has zero area", row=i + 1, ident=names[i]))
    if problems:
        raise InputError(source, problems)
    return gpd.GeoDataFrame({"name": names, "population": count}, geometry=list(geoms), crs=4326)


def dasymetric_population(
    census: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, net: Network, *,
    source: str = "census", street_piece_m: float = 100.0,
) -> Estimate:
    """Spread each census polygon's count over its residential buildings.

    A building belongs to the polygon holding its representative point; its
    share is its floor area over the polygon's total floor area. A polygon with
    no building spreads its people along the walkable streets inside it, in
    pieces of about ``street_piece_m``, by length. Every polygon's total is
    kept; polygons that overlap neither buildings nor streets are an error.
    """
    polys = census.to_crs(net.crs)
    poly_geoms = polys.geometry.to_numpy()
    covered = shapely.area(shapely.intersection(shapely.union_all(poly_geoms), net.hull))
    share = covered / max(shapely.area(net.hull), 1.0)
    if share < 0.9:
        log.warning("%s: the census polygons cover only %.0f%% of the network's area; people "
                    "outside them are not counted", source, share * 100)
    pts = buildings.geometry.representative_point().to_numpy()
    b_idx, p_idx = shapely.STRtree(poly_geoms).query(pts, predicate="within")
    order = np.lexsort((p_idx, b_idx))
    b_idx, p_idx = b_idx[order], p_idx[order]
    first = np.ones(b_idx.size, dtype=bool)
    first[1:] = b_idx[1:] != b_idx[:-1]
    b_idx, p_idx = b_idx[first], p_idx[first]  # a building on a border goes to one polygon
    floor = buildings["floor_area_m2"].to_numpy(float)[b_idx]
    total_floor = np.bincount(p_idx, weights=floor, minlength=len(polys))
    pop = polys["population"].to_numpy(float)
    b_count = pop[p_idx] * floor / total_floor[p_idx]
    xy = [shapely.get_coordinates(pts[b_idx])]
    counts = [b_count]
    ids = [f"b{buildings['osm_id'].iloc[i]}" for i in b_idx]
    problems = []
    for j in np.flatnonzero((total_floor == 0) & (pop > 0)).tolist():
        pieces = _street_pieces(net, poly_geoms[j], street_piece_m)
        if pieces.size == 0:
            problems.append(Problem(f"area {polys['name'].iloc[j]!r} ({pop[j]:,.0f} people) has "
                                    "no residential building and no walkable street",
                                    row=j + 1))
            continue
        length = shapely.length(pieces)
        xy.append(shapely.get_coordinates(shapely.line_interpolate_point(pieces, 0.5,
                                                                         normalized=True)))
        counts.append(pop[j] * length / length.sum())
        ids += [f"a{j + 1}s{k + 1}" for k in range(pieces.size)]
    if problems:
        raise InputError(source, problems)
    all_xy = np.vstack(xy)
    ll = net.unproject(all_xy)
    return Estimate(ll[:, 0], ll[:, 1], np.concatenate(counts), ids, source,
                    "census polygons spread over residential buildings by floor area "
                    "(footprint × levels), or over street length where there are none")


def _street_pieces(net: Network, polygon: shapely.Geometry, piece_m: float
                   ) -> NDArray[np.object_]:
    """Walkable street inside a polygon, cut into pieces of about ``piece_m``."""
    idx = net.edge_tree.query(polygon, predicate="intersects")
    if idx.size == 0:
        return np.empty(0, dtype=object)
    clipped = shapely.intersection(net.edge_geometry[idx], polygon)
    parts = shapely.get_parts(shapely.line_merge(shapely.get_parts(clipped)))
    parts = parts[shapely.get_type_id(parts) == 1]
    parts = parts[shapely.length(parts) > 0]
    if parts.size == 0:
        return parts
    dense = shapely.segmentize(parts, piece_m)
    coords, index = shapely.get_coordinates(dense, return_index=True)
    same = index[1:] == index[:-1]
    segs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    return np.asarray(shapely.linestrings(segs), dtype=object)
