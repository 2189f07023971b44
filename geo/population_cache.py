"""Placed population layers kept on disk, next to the network cache.

Placing 100,000 people on a district's streets (reading the table, checking
its coordinate system, joining each person to the streets they can step onto)
costs seconds, and it gives the same answer every time for the same inputs.
A placed layer is therefore kept under a key made of everything it depends on:
the population file's content, the network's content and settings, the joining
rule and limits, and how far people may be dropped. Change any of them and the
key changes; nothing is ever read for other inputs.

Each entry is a GeoParquet file (the units) and an ``.npz`` file (the joins,
read with ``allow_pickle=False``), written to temporary names and renamed, the
``.npz`` last, so a half-written entry is never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np

from circle15.geo.network import Network
from circle15.geo.network_cache import cache_key, default_cache_dir, file_digest
from circle15.geo.population_points import Population
from circle15.geo.snap import JoinEnds, Joins, Snapped

#: bump when the layout of a cached layer or the placing rules change
POPULATION_CACHE_VERSION = "2"
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


def _paths(folder: Path, key: str) -> tuple[Path, Path]:
    return folder / f"population-{key}.parquet", folder / f"population-{key}.npz"


def save_population(pop: Population, folder: Path, key: str) -> None:
    table, arrays = _paths(folder, key)
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, np.ndarray] = {f"s_{f}": getattr(pop.snapped, f) for f in _SNAP}
    if pop.snapped.joins is not None:
        data |= {f"j_{f}": getattr(pop.snapped.joins, f) for f in _JOIN}
        data |= {f"e_{f}": v for f, v in zip(_ENDS, pop.snapped.joins.ends(), strict=True)}
    data["meta"] = np.array([pop.source, pop.rule, str(pop.dropped_units),
                             repr(float(pop.dropped_population))])
    tmp_table = table.with_suffix(f".{os.getpid()}.tmp")
    tmp_arrays = arrays.with_suffix(f".{os.getpid()}.tmp.npz")
    try:
        pop.frame.to_parquet(tmp_table)
        np.savez(tmp_arrays, **data)  # type: ignore[arg-type]
        os.replace(tmp_table, table)
        os.replace(tmp_arrays, arrays)  # last: its presence says the entry is whole
    finally:
        tmp_table.unlink(missing_ok=True)
        tmp_arrays.unlink(missing_ok=True)


def read_population(folder: Path, key: str) -> Population | None:
    """The cached layer of ``key``, or None when there is none (or it cannot be read)."""
    table, arrays = _paths(folder, key)
    if not (arrays.is_file() and table.is_file()):
        return None
    try:
        with np.load(arrays, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        frame = gpd.read_parquet(table)
    except (OSError, ValueError, KeyError):
        return None
    joins = Joins(*(data[f"j_{f}"] for f in _JOIN)) if "j_point" in data else None
    if joins is not None and "e_point" in data:
        joins.keep_ends(JoinEnds(*(data[f"e_{f}"] for f in _ENDS)))
    snapped = Snapped(*(data[f"s_{f}"] for f in _SNAP[:-1]), joins=joins,
                      fallback=data["s_fallback"])
    source, rule, dropped_units, dropped_population = (str(v) for v in data["meta"])
    return Population(frame, snapped, source, int(dropped_units), float(dropped_population),
                      rule)


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
    found = read_population(folder, key)
    if found is not None:
        return found
    pop = place()
    with contextlib.suppress(OSError):  # a read-only or full cache costs time, not the answer
        save_population(pop, folder, key)
    return pop
