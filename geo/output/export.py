"""Write coverage results: a GeoPackage, CSV tables and a readable text table.

Files are written into a temporary folder next to the destination and moved
into place only when all of them are complete, so a failure leaves no partial
output behind.

CSV files carry numbers at the precision their units deserve (the GeoPackage
keeps full precision for further analysis); the decimals follow from the
column name (:func:`csv_decimals`):

- people (``population*``, ``covered*``, ``cross*``, ``uncovered*``,
  ``*_gain``, ``objective_value``, ``bound``): 1 decimal. Populations spread
  over buildings or cells are fractional; a tenth of a person keeps small
  units and the sums honest without printing float noise;
- shares (``*_share``, ``gap``): 4 decimals (0.01 percentage point);
- minutes (``minutes``, ``*_min``): 2 decimals (under a second of walking);
- metres (``*_m``): 1 decimal (10 cm); areas (``*_km2``): 4 decimals (100 m²);
- coordinates (``lon``, ``lat``, degrees in the output CRS, WGS84 unless
  ``out_crs`` says gcj02 or bd09; ``coord_crs`` names it): 7 decimals (about 1 cm);
- seconds (``*_s``): 3 decimals; speeds (``*_kmh``): 2 decimals.

Integer, boolean and text columns are written as they are. CSV files carry a
UTF-8 byte-order mark, so that Excel shows Chinese text instead of mojibake;
each run also writes its tables to one Excel workbook (:mod:`circle15.geo.output.report`).
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from circle15.geo.coverage.count import Areas, Coverage
from circle15.geo.forked import Forked, can_fork
from circle15.geo.output.gpkg_points import write_points
from circle15.geo.output.out_crs import check_output_crs, frame_in, table_in
from circle15.geo.output.report import write_report

#: (suffix or exact name, decimals) for CSV columns, first match wins
_UNIT_DECIMALS: tuple[tuple[str, int], ...] = (
    ("_share", 4), ("_km2", 4), ("_kmh", 2), ("_min", 2), ("_m", 1), ("_s", 3),
)
_EXACT_DECIMALS = {"gap": 4, "minutes": 2, "lon": 7, "lat": 7,
                   "objective_value": 1, "bound": 1}
_PEOPLE_PREFIXES = ("population", "covered", "cross", "uncovered")
PEOPLE_DECIMALS = 1


def csv_decimals(column: str) -> int | None:
    """Decimals a float column keeps in CSV files, from its name (None: as is)."""
    if column in _EXACT_DECIMALS:
        return _EXACT_DECIMALS[column]
    for suffix, decimals in _UNIT_DECIMALS:
        if column.endswith(suffix):
            return decimals
    if column.startswith(_PEOPLE_PREFIXES) or column.endswith("_gain"):
        return PEOPLE_DECIMALS
    return None


def round_for_csv(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with float columns rounded by :func:`csv_decimals`."""
    out = pd.DataFrame(table).copy()
    for col in out.columns:
        decimals = csv_decimals(str(col))
        if decimals is not None and pd.api.types.is_float_dtype(out[col]):
            # + 0.0 turns -0.0 (a tiny negative difference rounded) into 0.0
            out[col] = out[col].round(decimals) + 0.0
    return out


#: a cell starting with one of these is read as a formula by spreadsheet programs
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_for_spreadsheets(table: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as formulas in Excel/WPS/LibreOffice.

    Text starting with ``= + - @`` (or a tab or carriage return) gets a leading
    apostrophe, which spreadsheets show as text; numbers are left alone.
    """
    out = pd.DataFrame(table).copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                        for v in out[col].tolist()]
    renamed = {c: f"'{c}" for c in out.columns
               if isinstance(c, str) and c.startswith(_FORMULA_START)}
    return out.rename(columns=renamed) if renamed else out


def csv_text(table: pd.DataFrame) -> str:
    """A table as CSV for people: rounded by unit, formulas neutralised, no geometry."""
    frame = table.drop(columns="geometry") if "geometry" in table.columns else table
    return str(safe_for_spreadsheets(round_for_csv(pd.DataFrame(frame))).to_csv(index=False))


def _to_csv(table: pd.DataFrame, path: Path) -> None:
    # with a byte-order mark: Excel (as set up in China) reads BOM-less files as GBK
    path.write_text(csv_text(table), encoding="utf-8-sig")


def _sheet(table: pd.DataFrame) -> pd.DataFrame:
    """A table as its CSV file shows it (for the report workbook)."""
    frame = table.drop(columns="geometry") if "geometry" in table.columns else table
    return safe_for_spreadsheets(round_for_csv(pd.DataFrame(frame)))


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    """Write ``table`` as :func:`csv_text` does, UTF-8 with a byte-order mark."""
    _to_csv(table, Path(path))
    return Path(path)


def _wgs84(gdf: gpd.GeoDataFrame, out_crs: str = "wgs84") -> gpd.GeoDataFrame:
    """The frame as lon/lat in ``out_crs`` (geometry and lon/lat columns), saying which."""
    return frame_in(gdf, out_crs)


# ---------------------------------------------------------------------------
# console tables


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and fullwidth
    characters (汉字, fullwidth punctuation) take two, combining marks none."""
    return sum(0 if unicodedata.combining(ch)
               else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
               for ch in text)


def _fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns (ending in ``..`` when cut) and
    padded with spaces to exactly ``width`` columns."""
    if display_width(text) > width:
        kept, used = [], 0
        for ch in text:
            w = display_width(ch)
            if used + w > width - 2:
                break
            kept.append(ch)
            used += w
        text = "".join(kept) + ".."
    return text + " " * (width - display_width(text))


#: label column width; the label itself keeps one column free as a gap
_LABEL_W = 28
#: (header, value column, format, width) of the numeric columns
_SUMMARY_COLUMNS = (
    ("population", "population", ",.0f", 12),
    ("covered", "covered", ",.0f", 12),
    ("%", "covered_pct", ".1f", 7),
    ("cross", "cross_covered", ",.0f", 12),
    ("%", "cross_pct", ".1f", 7),
    ("uncovered", "uncovered", ",.0f", 12),
)


def format_summary(table: pd.DataFrame, *, title: str = "") -> str:
    """Summary rows as an aligned text table (people rounded, shares in %).

    ``table`` is :meth:`Coverage.summary` (one row per time band, labelled
    ``within N min``) or :meth:`Coverage.by_area` (one row per area, labelled
    by ``name``). Columns line up by display width, so Chinese area names
    (two columns per character) keep the numbers under their headers; names
    longer than the label column are cut.
    """
    if "name" in table.columns:
        labels = [str(name) for name in table["name"]]
    else:
        labels = [f"within {m:g} min" for m in table["minutes"]]
    population = table["population"].to_numpy(dtype=float)
    has_people = population > 0
    values: dict[str, NDArray[np.float64]] = {
        "population": population,
        "covered": table["covered"].to_numpy(dtype=float),
        "covered_pct": np.where(has_people, table["covered_share"].to_numpy(dtype=float) * 100,
                                np.nan),
        "cross_covered": table["cross_covered"].to_numpy(dtype=float),
        "cross_pct": np.where(has_people, table["cross_share"].to_numpy(dtype=float) * 100,
                              np.nan),
        "uncovered": table["uncovered"].to_numpy(dtype=float),
    }
    lines = [title] if title else []
    lines.append(" " * _LABEL_W + "".join(f"{head:>{w}}" for head, _, _, w in _SUMMARY_COLUMNS))
    for i, label in enumerate(labels):
        numbers = "".join(f"{values[col][i]:>{w}{fmt}}" for _, col, fmt, w in _SUMMARY_COLUMNS)
        lines.append(_fit(label, _LABEL_W - 1) + " " + numbers)
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# files


#: GeoPackage layers written through Arrow (pyogrio): 2-3x faster than row by row
_FAST: dict[str, Any] = {"engine": "pyogrio", "use_arrow": True}


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


def write_coverage(cov: Coverage, out_dir: Path, *, areas: Areas | None = None,
                   out_crs: str = "wgs84", tables: dict[str, pd.DataFrame] | None = None,
                   report: bool = True, meanwhile: Callable[[], None] | None = None
                   ) -> list[Path]:
    """Write ``coverage.gpkg``, ``summary.csv`` (and ``areas.csv``) into ``out_dir``,
    ``<name>.csv`` for each of ``tables`` and the workbook ``coverage-report.xlsx``
    (sheets summary, towns, stations and the tables).

    The GeoPackage holds the layers ``stations``, ``population`` and, with
    areas, ``areas``, as lon/lat in ``out_crs`` (wgs84, gcj02 or bd09; the
    summary's ``out_crs`` and each layer's ``coord_crs`` say which). The CSV
    numbers are rounded as the module docstring lists. Returns the files written.

    ``meanwhile`` is called while the GeoPackage is still being written (the
    command line prints its tables then); should it fail, the files are still
    written and its error is raised after.
    """
    out_dir = Path(out_dir)
    out_crs = check_output_crs(out_crs)
    _import_writers()
    failed: BaseException | None = None
    with _staged(out_dir) as (tmp, names), ThreadPoolExecutor(1) as pool:
        stations = _wgs84(cov.stations_frame(), out_crs)
        # the population and areas layers are worked out by the writer itself, beside
        # the tables below
        gpkg = _on_the_side(pool, _write_layers, tmp / "coverage.gpkg", stations, cov, areas,
                            out_crs)
        by_area = cov.by_area(areas) if areas is not None else None
        summary = cov.summary()
        summary["mode"] = cov.settings.mode
        summary["speed_kmh"] = cov.settings.speed_kmh
        summary["stations"] = len(cov.stations)
        summary["counting_rule"] = cov.population.rule
        summary["population_dropped"] = cov.population.dropped_population
        for key, note in cov.notes.items():  # e.g. the demand layer and its sources
            if key not in summary.columns and key != "counting_rule":
                summary[key] = note
        summary["out_crs"] = out_crs
        _to_csv(summary, tmp / "summary.csv")
        names += ["coverage.gpkg", "summary.csv"]
        sheets = {"summary": summary, "stations": stations}
        if by_area is not None:
            _to_csv(by_area, tmp / "areas.csv")
            names.append("areas.csv")
            sheets["towns"] = by_area
        for tname, table in (tables or {}).items():
            _to_csv(table_in(table, out_crs), tmp / f"{tname}.csv")
            names.append(f"{tname}.csv")
            sheets[tname] = table_in(table, out_crs)
        if report:
            write_report(tmp / "coverage-report.xlsx", {k: _sheet(t) for k, t in sheets.items()})
            names.append("coverage-report.xlsx")
        if meanwhile is not None:
            try:
                meanwhile()
            except BaseException as exc:  # raised below, once the files are written
                failed = exc
        gpkg()  # its error, if any, stops the run before anything is moved
    if failed is not None:
        raise failed
    return [out_dir / n for n in names]


def _on_the_side(pool: ThreadPoolExecutor, fn: Callable[..., None], *args: Any
                 ) -> Callable[[], None]:
    """``fn(*args)`` on the second core while this thread writes the tables; returns
    the wait for it. A forked child where one can be (converting the layers holds the
    interpreter: on a thread, the tables would wait their turn), else a thread."""
    if not can_fork():
        return pool.submit(fn, *args).result
    job = Forked(fn, *args)

    def wait() -> None:
        try:
            job.result()
        except RuntimeError as exc:  # the child's error, said in one line
            last = str(exc).strip().splitlines()[-1]
            raise OSError(f"writing the GeoPackage failed: {last}") from None
    return wait


def _import_writers() -> None:
    """Import what writes the files before the GeoPackage's thread starts: an import
    reads hundreds of files, and with a second thread running each read waits its
    turn for the interpreter (xlsxwriter took 0.9 s that way instead of 0.06 s)."""
    import pyarrow  # noqa: F401
    import pyogrio  # noqa: F401
    import xlsxwriter  # noqa: F401


def _write_layers(path: Path, stations: gpd.GeoDataFrame, cov: Coverage,
                  areas: Areas | None, out_crs: str) -> None:
    """coverage.gpkg's layers: ``stations`` (already in ``out_crs``), the population
    units and, with ``areas``, the areas."""
    stations.to_file(path, layer="stations", driver="GPKG", **_FAST)
    _write_layer(path, "population", cov.units_frame(), out_crs)
    if areas is not None:
        _write_layer(path, "areas", cov.by_area(areas), out_crs)


def _write_layer(path: Path, layer: str, gdf: gpd.GeoDataFrame, out_crs: str) -> None:
    """One layer in ``out_crs`` lon/lat: a point layer straight from its lon/lat
    columns where those are its geometry, else reprojected by geopandas."""
    if not write_points(path, layer, gdf, out_crs):
        _wgs84(gdf, out_crs).to_file(path, layer=layer, driver="GPKG", **_FAST)


def write_frames(
    out_dir: Path,
    name: str,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    tables: dict[str, pd.DataFrame] | None = None,
    out_crs: str = "wgs84",
    report: dict[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Write ``<name>.gpkg`` (one layer per frame, lon/lat in ``out_crs``),
    ``<name>.csv`` of the first layer's attributes and ``<table>.csv`` for each
    extra table, and with ``report`` (sheet name -> table) the workbook
    ``<name>-report.xlsx``, moving them into ``out_dir`` only when all are
    written. CSV numbers are rounded as the module docstring lists; lon/lat
    columns are in ``out_crs`` (``coord_crs`` says which)."""
    out_dir = Path(out_dir)
    out_crs = check_output_crs(out_crs)
    with _staged(out_dir) as (tmp, names):
        for i, (layer, gdf) in enumerate(layers.items()):
            if len(gdf):
                _write_layer(tmp / f"{name}.gpkg", layer, gdf, out_crs)
            if i == 0:
                _to_csv(table_in(gdf, out_crs), tmp / f"{name}.csv")
        names += [f"{name}.gpkg", f"{name}.csv"]
        for tname, table in (tables or {}).items():
            _to_csv(table_in(table, out_crs), tmp / f"{tname}.csv")
            names.append(f"{tname}.csv")
        if report:
            write_report(tmp / f"{name}-report.xlsx",
                         {k: _sheet(table_in(t, out_crs)) for k, t in report.items()})
            names.append(f"{name}-report.xlsx")
    return [out_dir / n for n in names if (out_dir / n).exists()]
