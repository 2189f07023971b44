"""The planner map's night layer: coverage at one moment (e.g. 02:00) as GeoJSON.

Stations open and closed then, and hexagons of the demand that a station
reaches at that moment and at any time, so the map can show who loses their
station at night. Built on :mod:`circle15.geo.coverage.hourly` (no extra searches).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import shapely

from circle15.geo.coverage.count import Coverage
from circle15.geo.coverage.hourly import (
    DemandLayer,
    OpenStations,
    UnknownHours,
    parse_at,
    stations_open_at,
    stations_timezone,
)
from circle15.geo.inputs.stations import Stations
from circle15.geo.vocab import NIGHT_AT

#: the moment the night layer shows unless told

def night_layer(layer: DemandLayer, stations: Stations, open_stations: OpenStations, *,
                hex_m: float = 300.0, min_lost: float | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (WGS84) of coverage at one moment, for a map overlay.

    Station points carry ``kind="station"``, ``id``, ``name``, ``state`` (what
    the hours say) and ``open`` (counted open). Hexagons (``hex_m`` centre to
    corner) of the layer's units carry ``kind="cell"``, ``population``,
    ``covered`` (people reached by an open station then), ``covered_any`` (by
    any station at some hour of the week: all stations open) and ``lost``
    (``covered_any - covered``: who loses their station at that time).
    The collection's ``properties`` say when, the layer and the unknown-hours rule.
    With ``min_lost`` only the hexagons where at least that many lose their station.
    """
    from circle15.geo.coverage.gaps import hex_cells, hex_polygons
    from circle15.geo.crs import transformer

    crs = stations.frame.crs
    to_wgs = transformer(crs, "EPSG:4326")
    features: list[dict[str, Any]] = []
    xy = shapely.get_coordinates(layer.points)
    if len(xy):
        qr = hex_cells(xy, hex_m)
        uniq, first, inverse = np.unique(qr[:, 0] * np.int64(1 << 32) + qr[:, 1],
                                         return_index=True, return_inverse=True)
        now = layer.station_counts(open_stations.open) >= 1
        anytime = layer.station_counts() >= 1
        w = layer.weights
        sums = [np.bincount(inverse, weights=v, minlength=uniq.size)
                for v in (w, w * now, w * anytime)]
        keep = (np.flatnonzero(sums[2] - sums[1] >= min_lost) if min_lost is not None
                else np.arange(uniq.size))
        polys = shapely.transform(hex_polygons(qr[first[keep]], hex_m),
                                  lambda c: np.column_stack(to_wgs.transform(c[:, 0], c[:, 1])))
        for i, poly in zip(keep.tolist(), polys, strict=True):
            props = {"kind": "cell", "population": round(float(sums[0][i]), 1),
                     "covered": round(float(sums[1][i]), 1),
                     "covered_any": round(float(sums[2][i]), 1),
                     "lost": round(float(sums[2][i] - sums[1][i]), 1)}
            features.append({"type": "Feature", "geometry": shapely.geometry.mapping(poly),
                             "properties": props})
    frame = stations.frame
    for i in range(len(frame)):
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [
                             float(frame["lon"].iloc[i]), float(frame["lat"].iloc[i])]},
                         "properties": {"kind": "station", "id": str(frame["id"].iloc[i]),
                                        "name": str(frame["name"].iloc[i]),
                                        "state": open_stations.states[i],
                                        "open": bool(open_stations.open[i])}})
    return {"type": "FeatureCollection", "features": features,
            "properties": {"when": open_stations.when.isoformat(), "layer": layer.name,
                           "unknown_hours": open_stations.unknown,
                           "stations_open": open_stations.n_open,
                           "stations_unknown": open_stations.n_unknown}}


def night_overlay(cov: Coverage, *, at: str | datetime = NIGHT_AT,
                  unknown: UnknownHours = "open", layer: str = "residents",
                  hex_m: float = 300.0, min_lost: float | None = None) -> dict[str, Any]:
    """:func:`night_layer` of a coverage's population at ``at`` (``"Tu 02:00"``, a
    date and time, or an aware datetime): what the planner map overlays."""
    when = at if isinstance(at, datetime) else parse_at(
        at, timezone=stations_timezone(cov.stations))
    opened = stations_open_at(cov.stations, when, unknown=unknown)
    return night_layer(DemandLayer.of(layer, cov), cov.stations, opened, hex_m=hex_m,
                       min_lost=min_lost)
