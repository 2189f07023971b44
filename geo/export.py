"""Write coverage results: a GeoPackage, CSV tables and a readable text table.

Files are written into a temporary folder next to the destination and moved
into place only when all of them are complete, so a failure leaves no partial
output behind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
from circle15.geo.coverage import Areas, Coverage


def _wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.to_crs(4326)


def format_summary(table: pd.DataFrame, *, title: str = "") -> str:
    """Summary rows as an aligned text table (people rounded, shares in %)."""
    lines = [title] if title else []
    head = (f"{'':<28}{'population':>12}{'covered':>12}{'%':>7}{'cross':>12}{'%':>7}"
            f"{'uncovered':>12}")
    lines.append(head)
    label_col = "name" if "name" in table.columns else "minutes"
    for _, row in table.iterrows():
        label = (f"within {row['minutes']:g} min" if label_col == "minutes"
                 else str(row["name"])[:27])
        share = row["covered_share"] * 100 if row["population"] else float("nan")
        cross = row["cross_share"] * 100 if row["population"] else float("nan")
        lines.append(
            f"{label:<28}{row['population']:>12,.0f}{row['covered']:>12,.0f}{share:>7.1f}"
            f"{row['cross_covered']:>12,.0f}{cross:>7.1f}{row['uncovered']:>12,.0f}"
        )
    return "\n".join(lines)


@contextmanager
def _staged(out_dir: Path) -> Iterator[tuple[Path, list[str]]]:
    """A temporary folder inside ``out_dir``; the file names appended to the list
    are moved into ``out_dir`` when the block ends without error, else nothing is."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".circle15-", dir=out_dir))
    names: list[str] = []
    try:
        yield tmp, names
        for name in names:
            if (tmp / name).exists():
                dest = out_dir / name
                if dest.exists():
                    dest.unlink()
                shutil.move(str(tmp / name), dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_coverage(cov: Coverage, out_dir: Path, *, areas: Areas | None = None) -> list[Path]:
    """Write ``coverage.gpkg``, ``summary.csv`` (and ``areas.csv``) into ``out_dir``.

    The GeoPackage holds the layers ``stations``, ``population`` and, with
    areas, ``areas``, all in WGS84. Returns the files written.
    """
    out_dir = Path(out_dir)
    with _staged(out_dir) as (tmp, names):
        gpkg = tmp / "coverage.gpkg"
        _wgs84(cov.stations_frame()).to_file(gpkg, layer="stations", driver="GPKG")
        _wgs84(cov.units_frame()).to_file(gpkg, layer="population", driver="GPKG")
        summary = cov.summary()
        summary["speed_kmh"] = cov.settings.speed_kmh
        summary["stations"] = len(cov.stations)
        summary["counting_rule"] = cov.population.rule
        summary["population_dropped"] = cov.population.dropped_population
        summary.to_csv(tmp / "summary.csv", index=False)
        names += ["coverage.gpkg", "summary.csv"]
        if areas is not None:
            by_area = cov.by_area(areas)
            _wgs84(by_area).to_file(gpkg, layer="areas", driver="GPKG")
            pd.DataFrame(by_area.drop(columns="geometry")).to_csv(tmp / "areas.csv", index=False)
            names.append("areas.csv")
    return [out_dir / n for n in names]


def write_frames(
    out_dir: Path,
    name: str,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    tables: dict[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Write ``<name>.gpkg`` (one layer per frame, WGS84), ``<name>.csv`` of the
    first layer's attributes and ``<table>.csv`` for each extra table, moving
    them into ``out_dir`` only when all are written."""
    out_dir = Path(out_dir)
    with _staged(out_dir) as (tmp, names):
        for i, (layer, gdf) in enumerate(layers.items()):
            if len(gdf):
                _wgs84(gdf).to_file(tmp / f"{name}.gpkg", layer=layer, driver="GPKG")
            if i == 0:
                pd.DataFrame(gdf.drop(columns="geometry")).to_csv(tmp / f"{name}.csv",
                                                                  index=False)
        names += [f"{name}.gpkg", f"{name}.csv"]
        for tname, table in (tables or {}).items():
            table.to_csv(tmp / f"{tname}.csv", index=False)
            names.append(f"{tname}.csv")
    return [out_dir / n for n in names if (out_dir / n).exists()]
