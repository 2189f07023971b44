"""Reading an OSM file ahead, on the second core, while the command line starts.

A cold ``circle15 coverage`` on a district spends its first second and a half
importing pandas, geopandas and scipy, and then another second and a half
reading the PBF, one after the other. The command line asks for the read as
its very first step (:func:`start`, before those imports), a forked child does
it while the parent imports, and the network is then built from the arrays it
hands over (:func:`take`). When the network comes from the cache after all, the
child is stopped (:func:`cancel`). Anything that goes wrong here only means the
file is read the usual way.

This module imports nothing heavy: it must cost nothing before the fork.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from circle15.geo.forked import Forked, can_fork

#: the file names an OSM reader takes (PBF, XML, compressed XML)
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".xml")
#: the read under way: (file, mode) and the child doing it
_AHEAD: tuple[tuple[str, str], Forked[dict[str, Any]]] | None = None


def _key(path: str | os.PathLike[str], mode: str) -> tuple[str, str]:
    return os.path.realpath(path), mode


def _read(path: str, mode: str) -> dict[str, Any]:
    from circle15.geo.osm_ways import read_ways  # in the child: light imports only

    return read_ways(path, mode)


def start(path: str, mode: str = "walk") -> None:
    """Begin reading ``path`` for ``mode`` in a forked child (nothing where the process
    cannot fork, or when a read is already under way)."""
    global _AHEAD
    if _AHEAD is not None or not can_fork() or not os.path.isfile(path):
        return
    job: Forked[dict[str, Any]] = Forked(_read, path, mode)
    _AHEAD = (_key(path, mode), job)


def take(path: str | os.PathLike[str], mode: str) -> dict[str, Any] | None:
    """The arrays read ahead for this file and mode, or None (none under way, another
    file or mode: stopped; the child failed: the caller reads, and says why)."""
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
            start(path, value("--mode") or "walk")
