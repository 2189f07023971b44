"""The usable ways of an OSM file as flat arrays: the one pass over the file.

Kept apart from :mod:`circle15.geo.network.osm_read` (which builds the network from
these arrays) so that reading needs only osmium, numpy and the tag rules: the
read ahead of :mod:`circle15.geo.network.osm_prefetch` starts before anything heavier
is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from circle15.geo.errors import NetworkError
from circle15.geo.modes import is_riding
from circle15.geo.network.osm_tags import bicycle_oneway, is_rideable, is_walkable, join_flags

#: osmium's fixed-point coordinates: degrees times this, and the value of "no location"
_PRECISION = 10_000_000.0
_NO_COORDINATE = 2**31 - 1


def read_ways(path: str | Path, mode: str = "walk") -> dict[str, NDArray[Any]]:
    """Way segments of an OSM file usable in ``mode`` as flat arrays (WGS84).

    For riding, a way one-way against its node order is read backwards, so every
    one-way edge runs in the direction riders may take (``way_oneway``).
    """
    import osmium

    riding = is_riding(mode)
    usable = is_rideable if riding else is_walkable
    way_oneway: list[bool] = []

    ids: list[int] = []
    xs: list[int] = []
    ys: list[int] = []
    way_len: list[int] = []
    way_ids: list[int] = []
    way_flags: list[int] = []
    n_way = 0
    try:
        # nodes only feed the location table (in C++); only ways with a highway
        # tag reach Python: half a million fewer objects through the loop
        fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations()
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
              .with_filter(osmium.filter.KeyFilter("highway")))
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):  # the filter lets ways through only
                continue
            tags = obj.tags  # read by key where it is, never copied
            if not usable(tags):
                continue
            way_ids.append(obj.id)
            way_flags.append(join_flags(tags))
            direction = bicycle_oneway(tags) if riding else 0
            way_oneway.append(direction != 0)
            nodes = obj.nodes
            way_len.append(len(nodes))
            # fixed-point coordinates (plain ints, cheaper than Location objects)
            for nd in (reversed(nodes) if direction < 0 else nodes):
                ids.append(nd.ref)
                loc = nd.location
                xs.append(loc.x)
                ys.append(loc.y)
            n_way += 1
    except RuntimeError as exc:  # pyosmium reports unreadable input this way
        msg = f"{path}: cannot read this OSM file ({exc})"
        raise NetworkError(msg) from exc
    x, y = np.asarray(xs, dtype=np.int64), np.asarray(ys, dtype=np.int64)
    # a clipped extract: a node not in the file has no location
    missing = (x == _NO_COORDINATE) | (y == _NO_COORDINATE)
    return {
        "ids": np.asarray(ids, dtype=np.int64),
        "lon": np.where(missing, np.nan, x / _PRECISION),
        "lat": np.where(missing, np.nan, y / _PRECISION),
        "way": np.repeat(np.arange(n_way, dtype=np.int64), np.asarray(way_len, dtype=np.int64)),
        "way_id": np.asarray(way_ids, dtype=np.int64),
        "way_flags": np.asarray(way_flags, dtype=np.uint8),
        "way_oneway": np.asarray(way_oneway, dtype=bool),
    }
