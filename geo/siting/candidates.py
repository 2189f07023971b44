"""Candidate sites for new stations: OSM shops, thinned network nodes, a list.

Every kind becomes one :class:`Candidates` object (a frame plus positions on
the network) so the siting models need not care where a site came from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from circle15.geo.crs import check_input_crs, geometries_to_wgs84, to_wgs84
from circle15.geo.errors import InputError, Problem, SettingsError
from circle15.geo.inputs.stations import ID_NAMES, NAME_NAMES
from circle15.geo.inputs.tables import find_column, read_table
from circle15.geo.network.graph import Network
from circle15.geo.snapping.placement import place_points
from circle15.geo.snapping.snap import DEFAULT_RULE, Snapped, SnapRule, snap_points

log = logging.getLogger(__name__)

#: amenity values that make a street-front site for a station
SHOP_AMENITIES = frozenset({"cafe", "restaurant", "fast_food", "pharmacy", "convenience",
                            "bank", "post_office", "ice_cream", "food_court"})
#: default farthest a shop may be from a walkable street to count as street-front
SHOP_MAX_SNAP_M = 50.0


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites on the network.

    ``frame`` has ``id``, ``name``, ``kind`` (shop, node or list), ``lon``/
    ``lat`` (WGS84), ``off_network_m`` and point geometry in the network CRS.
    """

    frame: gpd.GeoDataFrame
    snapped: Snapped

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> list[str]:
        return self.frame["id"].tolist()

    def select(self, mask: NDArray[np.bool_]) -> Candidates:
        mask = np.asarray(mask, dtype=bool)
        return Candidates(self.frame.loc[mask].reset_index(drop=True), self.snapped.take(mask))

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        if not parts:
            raise SettingsError("no candidate sources given")
        frame = pd.concat([p.frame for p in parts], ignore_index=True)
        return Candidates(gpd.GeoDataFrame(frame, geometry="geometry", crs=parts[0].frame.crs),
                          Snapped.concat([p.snapped for p in parts]))


def _make(net: Network, ids: list[str], names: list[str], kind: str, xy: NDArray[np.float64],
          snapped: Snapped) -> Candidates:
    ll = net.unproject(xy) if len(xy) else np.empty((0, 2))
    frame = gpd.GeoDataFrame(
        {"id": ids, "name": names, "kind": kind, "lon": ll[:, 0], "lat": ll[:, 1],
         "off_network_m": snapped.off_m},
        geometry=shapely.points(xy) if len(xy) else [], crs=net.crs,
    )
    return Candidates(frame, snapped)


def candidates_from_nodes(net: Network, *, spacing_m: float = 100.0) -> Candidates:
    """Network nodes thinned to about one per ``spacing_m`` square.

    In each grid square the node nearest the square's centre is kept, so the
    result is deterministic and evenly spread.
    """
    if not spacing_m > 0:
        raise SettingsError(f"the node spacing must be positive, not {spacing_m}")
    xy = net.node_xy
    cell = np.floor(xy / spacing_m).astype(np.int64)
    centre = (cell + 0.5) * spacing_m
    d = np.hypot(*(xy - centre).T)
    key = cell[:, 0] * np.int64(1 << 32) + cell[:, 1]
    order = np.lexsort((d, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    nodes = np.sort(order[first])
    pts = net.node_xy[nodes]
    snapped = snap_points(net, pts, max_dist_m=1.0)
    ids = [f"node-{int(o)}" for o in net.node_osmid[nodes]]
    return _make(net, ids, [f"OSM node {int(o)}" for o in net.node_osmid[nodes]], "node", pts,
                 snapped)


def read_osm_shops(path: str | Path) -> pd.DataFrame:
    """Shops and street-front amenities in an OSM file (nodes, and ways by centre).

    Returns ``osm_id``, ``name``, ``what`` (e.g. ``shop=convenience``),
    ``lon``, ``lat`` in WGS84.
    """
    import osmium

    rows: list[tuple[str, str, str, float, float]] = []
    try:
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for obj in fp:
            tags = obj.tags
            shop = tags.get("shop")
            amenity = tags.get("amenity")
            if shop is None and amenity not in SHOP_AMENITIES:
                continue
            what = f"shop={shop}" if shop is not None else f"amenity={amenity}"
            name = tags.get("name:zh") or tags.get("name") or what
            if isinstance(obj, osmium.osm.Node):
                if obj.location.valid():
                    rows.append((f"n{obj.id}", name, what, obj.location.lon, obj.location.lat))
            elif isinstance(obj, osmium.osm.Way):
                locs = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if locs:
                    lon, lat = np.mean(np.asarray(locs), axis=0)
                    rows.append((f"w{obj.id}", name, what, float(lon), float(lat)))
    except RuntimeError as exc:
        raise InputError(str(path), f"cannot read this OSM file ({exc})") from exc
    return pd.DataFrame(rows, columns=["osm_id", "name", "what", "lon", "lat"])


def candidates_from_osm_shops(
    net: Network, path: str | Path, *, max_snap_m: float = SHOP_MAX_SNAP_M,
    rule: SnapRule = DEFAULT_RULE,
) -> Candidates:
    """Street-front shops and amenities of an OSM file within ``max_snap_m`` of a street."""
    shops = read_osm_shops(path)
    if shops.empty:
        raise InputError(str(path), "the OSM file has no shops or street-front amenities")
    xy = net.project(shops["lon"].to_numpy(), shops["lat"].to_numpy())
    snapped = snap_points(net, xy, max_dist_m=max_snap_m, rule=rule)
    ok = snapped.ok
    if not ok.any():
        raise InputError(str(path), f"no shop lies within {max_snap_m:g} m of a walkable street")
    log.info("%s: %d of %d shops are street-front (within %.0f m)", path, ok.sum(), len(ok),
             max_snap_m)
    kept = shops[ok]
    return _make(net, [f"osm-{i}" for i in kept["osm_id"]],
                 [f"{n} ({w})" if n != w else n for n, w in zip(kept["name"], kept["what"],
                                                                strict=True)],
                 "shop", xy[ok], snapped.take(ok))


def read_candidate_list(
    path: str | Path, net: Network, *, crs: str = "wgs84", max_snap_m: float = 200.0,
    rule: SnapRule = DEFAULT_RULE,
) -> Candidates:
    """A planner's list of sites (CSV/XLSX/GeoJSON with id, name and location)."""
    raw = read_table(path)
    source = raw.source
    id_col = find_column(raw.frame, ID_NAMES, source=source)
    name_col = find_column(raw.frame, NAME_NAMES, source=source)
    if id_col is None:
        raise InputError(source, "missing required column id")
    ids = raw.frame[id_col].astype(str).str.strip().tolist()
    names = raw.frame[name_col].astype(str).tolist() if name_col else ids
    problems = list(raw.problems)
    seen: dict[str, int] = {}
    for i, cid in enumerate(ids):
        if not cid:
            problems.append(Problem("candidate id is empty", row=i + 1, column=id_col))
        elif cid in seen:
            problems.append(Problem(f"duplicate candidate id (first on row {seen[cid] + 1})",
                                    row=i + 1, column=id_col, ident=cid))
        seen.setdefault(cid, i)
    lon, lat = to_wgs84(raw.lon, raw.lat, check_input_crs(crs))
    placement = place_points(net, lon, lat, max_snap_m=max_snap_m, ids=ids, what="candidate",
                             rule=rule)
    problems += placement.problems
    if problems:
        raise InputError(source, sorted(problems, key=lambda p: p.row or 0))
    return _make(net, ids, names, "list", placement.xy, placement.snapped)


def exclude(
    cands: Candidates, net: Network, *, ids: list[str] | None = None,
    polygons_path: str | Path | None = None, crs: str = "wgs84",
) -> Candidates:
    """Drop candidates by id, or inside the polygons of a file (e.g. no-build zones)."""
    keep = np.ones(len(cands), dtype=bool)
    if ids:
        keep &= ~cands.frame["id"].isin(ids).to_numpy()
    if polygons_path is not None:
        gdf = gpd.read_file(polygons_path)
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(4326)
        zones = geometries_to_wgs84(gdf.geometry.to_numpy(), crs)
        zones_m = gpd.GeoSeries(list(zones), crs=4326).to_crs(net.crs).to_numpy()
        inside = shapely.STRtree(zones_m).query(cands.frame.geometry.to_numpy(),
                                               predicate="within")[0]
        keep[np.unique(inside)] = False
    return cands.select(keep)


def deduplicate(cands: Candidates, *, tolerance_m: float = 1.0) -> tuple[Candidates, int]:
    """Drop candidates within ``tolerance_m`` of an earlier one; returns how many went."""
    xy = shapely.get_coordinates(cands.frame.geometry.to_numpy())
    if len(xy) == 0:
        return cands, 0
    from scipy.spatial import cKDTree

    pairs = cKDTree(xy).query_pairs(tolerance_m, output_type="ndarray")
    drop = np.zeros(len(xy), dtype=bool)
    if len(pairs):
        drop[np.maximum(pairs[:, 0], pairs[:, 1])] = True
    dup_id = cands.frame["id"].duplicated().to_numpy()
    drop |= dup_id
    return cands.select(~drop), int(drop.sum())
