"""Reading an OSM file ahead, on the second core, while the command line starts.

A cold ``circle15 coverage`` on a district spends its first second and a half
importing pandas, geopandas and scipy, and then another second and a half
reading the PBF, one after the other. The command line asks for the read as
its very first step (:func:`start`, before those imports), a forked child does
it while the parent imports, and the network is then built from the arrays it
hands over (:func:`take`). When the network comes from the cache after all, the
child is stopped (:func:`cancel`). Anything that goes wrong here only means the
file is read the usual way.

When the network's cache file is there already (a warm run), the child reads
nothing: it asks the kernel to read that file ahead, and the cached people
placed from the same ``--population`` file, while the parent imports (on this
machine's reclaimed file cache, 0.2-0.4 s of a warm district run).

This module imports nothing heavy: it must cost nothing before the fork.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from circle15.geo.forked import Forked, can_fork

#: the file names an OSM reader takes (PBF, XML, compressed XML)
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml")
#: the read under way: (file, mode) and the child doing it
_AHEAD: tuple[tuple[str, str], Forked[dict[str, Any] | None]] | None = None


def _key(path: str | os.PathLike[str], mode: str) -> tuple[str, str]:
    return os.path.realpath(path), mode


def _read(path: str, mode: str, cache: tuple[bool, str | None] | None
          ) -> dict[str, Any] | None:
    """The ways of ``path``; or None, having asked for the cache files to be read
    ahead, where the network is cached (``cache``: keep all components, the
    population file; None: the cache is not used)."""
    if cache is not None:
        from circle15.geo.network.cache_keys import cache_file_name, cache_key, default_cache_dir

        folder = default_cache_dir()
        cached = folder / cache_file_name(
            cache_key(path, keep_all_components=cache[0], mode=mode), mode)
        if cached.is_file():
            will_need([cached, *_population_files(folder, cache[1])])
            return None
    from circle15.geo.network.osm_ways import read_ways  # in the child: light imports only

    return read_ways(path, mode)


def _population_files(folder: Path, population: str | None) -> list[Path]:
    """The files of the cached layers placed from ``population``."""
    if population is None:
        return []
    wanted, out = os.path.realpath(population), []
    for entry in folder.glob("population-*"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
            if os.path.realpath(meta["source"]) == wanted:
                out += [p for p in entry.iterdir() if p.name != "meta.json"]
    return out


def will_need(paths: list[Path]) -> None:
    """Ask the kernel to read these files into its cache, in the background."""
    advise = getattr(os, "posix_fadvise", None)
    for path in paths:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY)
            try:
                if advise is not None:
                    advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)


def start(path: str, mode: str = "walk", *, use_cache: bool = True,
          keep_all_components: bool = False, population: str | None = None) -> None:
    """Begin reading ``path`` for ``mode`` in a forked child (nothing where the process
    cannot fork, or when a read is already under way); with ``use_cache``, only the
    cache files ahead where the network is cached (``population``: the people's file)."""
    global _AHEAD
    if _AHEAD is not None or not can_fork() or not os.path.isfile(path):
        return
    cache = (keep_all_components, population) if use_cache else None
    job: Forked[dict[str, Any] | None] = Forked(_read, path, mode, cache)
    _AHEAD = (_key(path, mode), job)


def take(path: str | os.PathLike[str], mode: str) -> dict[str, Any] | None:
    """The arrays read ahead for this file and mode, or None (none under way, another
    file or mode: stopped; the child found the network cached, or failed: the caller
    reads, and says why)."""
    global _AHEAD
    if _AHEAD is None:
        return None
    key, job = _AHEAD
    if key != _key(path, mode):
        cancel()
        return None
    _AHEAD = None
    try:
        return job.result()
    except RuntimeError:
        return None


def cancel() -> None:
    """Stop a read no longer wanted (the network came from the cache)."""
    global _AHEAD
    if _AHEAD is None:
        return
    _, job = _AHEAD
    _AHEAD = None
    job.stop()


#: commands that name a network but do not read it in this process (batch: its
#: Dask workers each read their own)
READ_ELSEWHERE = frozenset({"batch"})


def start_from_argv(argv: list[str]) -> None:
    """:func:`start` for a command line that names an OSM file with ``--network``
    (its ``--mode`` too); nothing for any other."""
    if argv[:1] and argv[0] in READ_ELSEWHERE:
        return

    def value(flag: str) -> str | None:
        for i, arg in enumerate(argv):
            if arg == flag and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
        return None

    path = value("--network")
    if path and path.lower().endswith(OSM_SUFFIXES):
        with contextlib.suppress(OSError):
            start(path, value("--mode") or "walk", use_cache="--no-cache" not in argv,
                  keep_all_components="--keep-all-components" in argv,
                  population=value("--population"))
