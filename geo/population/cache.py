"""Placed population layers kept on disk, next to the network cache.

Placing 100,000 people on a district's streets (reading the table, checking
its coordinate system, joining each person to the streets they can step onto)
costs seconds, and it gives the same answer every time for the same inputs.
A placed layer is therefore kept under a key made of everything it depends on:
the population file's content, the network's content and settings, the joining
rule and limits, and how far people may be dropped. Change any of them and the
key changes; nothing is ever read for other inputs.

Each entry is a folder: a Parquet file (the units) and one ``.npy`` file per
array (the joins, read with ``allow_pickle=False`` and mapped, not copied),
written under a temporary name and renamed whole, so a half-written entry is
never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle15.geo.forked import finish_background, in_background
from circle15.geo.network.cache_keys import cache_key, default_cache_dir, file_digest
from circle15.geo.network.graph import Network
from circle15.geo.population.points import Population
from circle15.geo.snapping.snap import JoinEnds, Joins, Snapped

#: bump when the layout of a cached layer or the placing rules change
POPULATION_CACHE_VERSION = "3"
_SNAP = ("edge", "off_m", "along_m", "to_u_m", "to_v_m", "u", "v", "fallback")
_JOIN = ("point", "edge", "off_m", "along_m", "to_u_m", "to_v_m", "u", "v")
#: the joins' ends (:meth:`Joins.ends`), kept too: a second of sorting at district scale
_ENDS = JoinEnds._fields


def population_key(net: Network, inputs: Mapping[str, object], files: list[Path], *,
                   keep_all_components: bool = False) -> str:
    """The key of a placed layer: the network's (content, settings, mode), the
    files' contents and every setting in ``inputs`` (JSON-able values)."""
    network = cache_key(net.source, keep_all_components=keep_all_components, mode=net.mode)
    text = json.dumps({"v": POPULATION_CACHE_VERSION, "network": network,
                       "files": [file_digest(p) for p in files], "inputs": dict(inputs)},
                      sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _entry(folder: Path, key: str) -> Path:
    return folder / f"population-{key}"


def save_population(pop: Population, folder: Path, key: str) -> None:
    """Write the layer as a folder: the units' table (Parquet; point coordinates as
    two columns, which read back far faster than WKB) and one ``.npy`` file per
    array, written under a temporary name and renamed whole."""
    entry = _entry(folder, key)
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, np.ndarray] = {f"s_{f}": getattr(pop.snapped, f) for f in _SNAP}
    if pop.snapped.joins is not None:
        data |= {f"j_{f}": getattr(pop.snapped.joins, f) for f in _JOIN}
        data |= {f"e_{f}": v for f, v in zip(_ENDS, pop.snapped.joins.ends(), strict=True)}
    geom = pop.frame.geometry
    points = bool((geom.geom_type == "Point").all())
    table = pd.DataFrame(pop.frame.drop(columns=pop.frame.geometry.name))
    if points:
        table["__x"], table["__y"] = geom.x.to_numpy(), geom.y.to_numpy()
    meta = {"source": pop.source, "rule": pop.rule, "dropped_units": pop.dropped_units,
            "dropped_population": float(pop.dropped_population), "points": points,
            "crs": pop.frame.crs.to_wkt() if pop.frame.crs is not None else None}
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=folder))
    try:
        if points:
            table.to_parquet(tmp / "units.parquet")
        else:
            pop.frame.to_parquet(tmp / "units.parquet")
        for name, values in data.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, entry)  # whole or not at all (another process may have won)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def release_mapped(snapped: Snapped) -> int:
    """Hand back the pages of a cached layer's mapped arrays that a pass over them read
    in (they stay in the page cache, and are mapped again when next touched): after a
    search from every candidate site has read a district's 1.8 million joins, they
    were 0.3 GB of the process's memory for nothing. The bytes advised."""
    arrays = [getattr(snapped, f) for f in _SNAP[:-1]] + [snapped.fallback]
    if snapped.joins is not None:
        arrays += [getattr(snapped.joins, f) for f in _JOIN]
        if "_ends" in snapped.joins.__dict__:
            arrays += list(snapped.joins.ends())
    done = 0
    for a in arrays:
        region = getattr(a, "_mmap", None)
        if isinstance(a, np.memmap) and region is not None:
            with contextlib.suppress(OSError, ValueError):
                region.madvise(mmap.MADV_DONTNEED)
                done += len(region)
    return done


def read_population(folder: Path, key: str) -> Population | None:
    """The cached layer of ``key``, or None when there is none (or it cannot be read).

    The arrays are mapped from their files, not copied: a district's 1.8 million
    joins cost nothing to open, and pages are read as the searches touch them."""
    entry = _entry(folder, key)
    if not (entry / "meta.json").is_file():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        data = {p.stem: np.load(p, mmap_mode="r", allow_pickle=False)
                for p in entry.glob("*.npy")}
        if meta["points"]:
            import pyarrow.parquet as pq  # the file itself, not pandas' dataset reader

            table = pq.ParquetFile(entry / "units.parquet").read().to_pandas()
            xy = shapely.points(table.pop("__x").to_numpy(), table.pop("__y").to_numpy())
            frame = gpd.GeoDataFrame(table, geometry=xy, crs=meta["crs"])
        else:
            frame = gpd.read_parquet(entry / "units.parquet")
    except (OSError, ValueError, KeyError):
        return None
    joins = Joins(*(data[f"j_{f}"] for f in _JOIN)) if "j_point" in data else None
    if joins is not None and "e_point" in data:
        joins.keep_ends(JoinEnds(*(data[f"e_{f}"] for f in _ENDS)))
    snapped = Snapped(*(data[f"s_{f}"] for f in _SNAP[:-1]), joins=joins,
                      fallback=data["s_fallback"])
    return Population(frame, snapped, meta["source"], int(meta["dropped_units"]),
                      float(meta["dropped_population"]), meta["rule"])


#: joins from which a freshly placed layer is saved at once and used mapped from the cache
MAPPED_FROM_JOINS = 300_000


def cached_population(net: Network, inputs: Mapping[str, object], files: list[Path],
                      place: Callable[[], Population], *, use_cache: bool = True,
                      keep_all_components: bool = False,
                      folder: Path | None = None) -> Population:
    """``place()``'s layer, read from the cache when these inputs were placed before
    (only for a network read from a file: a downloaded one may change)."""
    if not use_cache or not Path(net.source).is_file():
        return place()
    folder = folder or default_cache_dir()
    key = population_key(net, inputs, files, keep_all_components=keep_all_components)
    finish_background()  # a layer being written (by this process) is waited for
    found = read_population(folder, key)
    if found is not None:
        return found
    pop = place()
    if pop.snapped.joins is not None:
        pop.snapped.joins.ends()  # worked out here: the coverage needs them too
        if len(pop.snapped.joins) >= MAPPED_FROM_JOINS:
            # a large layer is written now and read back mapped from its files, as on
            # every later run: its pages are then the system's to hand back (a district's
            # 1.8 million joins held in this process's memory made a first run's siting
            # peak 0.3 GB higher than a second run's)
            _save_quietly(pop, folder, key)
            found = read_population(folder, key)
            if found is not None:
                return found
    # written by a child while this process goes on to count coverage
    in_background(f"writing the population cache {folder}", _save_quietly, pop, folder, key)
    return pop


def _save_quietly(pop: Population, folder: Path, key: str) -> None:
    with contextlib.suppress(OSError):  # a read-only or full cache costs time, not the answer
        save_population(pop, folder, key)
