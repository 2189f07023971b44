"""The files a batch writes: units as GeoParquet partitioned by area, the merged tables
(areas, totals, stations, gaps and sites when asked) as CSV and XLSX, a region map."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from circle15.usecases.batch import BatchResult


def merged_tables(batch: BatchResult) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-area rows at the service limit, per-band totals, stations) of a batch.

    Stations are listed once, in the area containing them, with the people they
    reach summed over every area they serve."""
    rows = []
    for r in batch.results:
        last = r.summary.iloc[-1]
        rows.append({"area": r.name, "population": last["population"],
                     "covered": last["covered"], "covered_share": last["covered_share"],
                     "cross_covered": last["cross_covered"], "uncovered": last["uncovered"],
                     "units": len(r.units), "network_nodes": r.nodes,
                     "seconds": round(r.seconds, 2)})
    per_area = pd.DataFrame(rows)
    bands = pd.concat([r.summary for r in batch.results]) if batch.results else pd.DataFrame()
    totals = (bands.drop(columns="area").groupby("minutes", as_index=False).sum(
        numeric_only=True) if len(bands) else bands)
    if len(totals):
        totals["covered_share"] = totals["covered"] / totals["population"]
        totals["cross_share"] = totals["cross_covered"] / totals["population"]
    stations = pd.concat([r.stations for r in batch.results]) if batch.results else (
        pd.DataFrame())
    if len(stations):
        reached = stations.groupby("id")[["population_reached", "population_nearest"]].sum()
        home = stations[stations["in_area"]].drop_duplicates("id").set_index("id")
        home = home.drop(columns=["population_reached", "population_nearest", "in_area"])
        stations = home.join(reached).reset_index()
    return per_area, totals, stations


def write_batch(batch: BatchResult, out: Path, *, areas: gpd.GeoDataFrame | None = None,
                name_column: str = "name", out_crs: str = "wgs84") -> list[Path]:
    """GeoParquet of units partitioned by area, merged CSV/XLSX tables, a region map.

    Units and stations are written as lon/lat in ``out_crs`` (wgs84, gcj02 or bd09;
    each table's ``coord_crs`` column says which); the region map stays in WGS84,
    as its basemap is."""
    from circle15.geo.output.export import csv_text, safe_for_spreadsheets
    from circle15.geo.output.out_crs import check_output_crs, frame_in, table_in

    out_crs = check_output_crs(out_crs)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for r in batch.results:
        part = out / "units" / f"area={_safe(r.name)}"
        part.mkdir(parents=True, exist_ok=True)
        gdf = gpd.GeoDataFrame(r.units, geometry=gpd.points_from_xy(r.units["lon"],
                                                                     r.units["lat"]), crs=4326)
        frame_in(gdf, out_crs).to_parquet(part / "part-0.parquet")
    written.append(out / "units")
    per_area, totals, stations = merged_tables(batch)
    stations = table_in(stations, out_crs)
    failed = pd.DataFrame([{"area": k, "error": v} for k, v in batch.failed.items()])
    for name, table in (("areas", per_area), ("summary", totals), ("stations", stations),
                        ("failed", failed)):
        if name == "failed" and table.empty:
            continue
        (out / f"{name}.csv").write_text(csv_text(table), encoding="utf-8-sig")  # BOM: Excel
        written.append(out / f"{name}.csv")
    for name in ("gaps", "sites"):
        parts = [getattr(r, name) for r in batch.results if getattr(r, name) is not None]
        if parts:
            table = table_in(pd.concat(parts, ignore_index=True), out_crs)
            (out / f"{name}.csv").write_text(csv_text(table), encoding="utf-8-sig")
            written.append(out / f"{name}.csv")
    with pd.ExcelWriter(out / "batch.xlsx") as xl:
        for name, table in (("areas", per_area), ("summary", totals), ("stations", stations),
                            ("failed", failed)):
            safe_for_spreadsheets(table).to_excel(xl, sheet_name=name, index=False)
    written.append(out / "batch.xlsx")
    if areas is not None and len(per_area):
        from circle15.maps.region import region_map

        path = out / "region-map.html"
        shaded = areas[[name_column, "geometry"]].to_crs(4326).merge(
            per_area, left_on=name_column, right_on="area")
        path.write_text(region_map(shaded), encoding="utf-8")
        written.append(path)
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "area"
