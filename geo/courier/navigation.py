"""One tap to go: links that start navigation to a station in Amap or Baidu Maps.

Couriers find stations and start "go there" in the map apps they already use.
Both apps take GCJ-02 coordinates (Amap only those; Baidu when told
``coord_type=gcj02``), so a station's WGS84 position is converted with
:func:`circle15.geo.crs.wgs84_to_gcj02`. The station's name goes in
percent-encoded (UTF-8), so Chinese names and commas survive the trip.

The URL patterns (:data:`AMAP_URL`, :data:`BAIDU_URL`) are also what the
offline courier page fills in its script, so the page and ``/nearest`` give
the same links. The plain coordinates (WGS84 and GCJ-02) are the fallback for
in-app browsers that block links into other apps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.inputs.station_hours import Hours

#: how a courier travels, as the map apps name it: on foot, or riding (bike, e-bike)
Travel = Literal["walk", "ride"]
#: the apps' words for each way of travelling
TRAVEL_MODES: dict[str, dict[str, str]] = {"walk": {"amap": "walk", "baidu": "walking"},
                                           "ride": {"amap": "ride", "baidu": "riding"}}
#: Amap's navigation URI: longitude first, GCJ-02
AMAP_URL = ("https://uri.amap.com/navigation?to={lon},{lat},{name}&mode={amap}"
            "&src=circle15&callnative=1")
#: Baidu's direction URI: latitude first, GCJ-02 as declared by coord_type
BAIDU_URL = ("https://api.map.baidu.com/direction?destination=latlng:{lat},{lon}|name:{name}"
             "&mode={baidu}&coord_type=gcj02&output=html&src=circle15")
#: decimals of the coordinates in links and texts (1e-6 degrees is about 0.1 m)
DECIMALS = 6


def travel_of(mode: str) -> Travel:
    """The apps' way of travelling for a circle15 mode: walk, or ride for bike/e-bike."""
    name = mode.strip().lower()
    if name in ("walk", "foot", "walking"):
        return "walk"
    if name in ("ride", "bike", "ebike", "e-bike", "bicycle", "riding"):
        return "ride"
    raise ValueError(f"unknown travel mode {mode!r}; use walk, bike or ebike")


def encode_name(name: str) -> str:
    """A name percent-encoded as UTF-8, every reserved character escaped."""
    return quote(name, safe="")


@dataclass(frozen=True)
class NavLinks:
    """Where to go, as the map apps and a human read it."""

    amap: str
    baidu: str
    #: the destination in GCJ-02 (lon, lat), as in the links
    gcj02: tuple[float, float]
    #: the destination in WGS84 (lon, lat), for GPS devices and OSM apps
    wgs84: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        return {"amap": self.amap, "baidu": self.baidu, "gcj02": list(self.gcj02),
                "wgs84": list(self.wgs84)}


def nav_links(lon: float, lat: float, name: str, *, travel: Travel = "walk") -> NavLinks:
    """Navigation links to the WGS84 position (lon, lat) called ``name``."""
    if travel not in TRAVEL_MODES:
        raise ValueError(f"travel must be one of {', '.join(TRAVEL_MODES)}, not {travel!r}")
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    glon, glat = round(float(g_lon), DECIMALS), round(float(g_lat), DECIMALS)
    fill = {"lon": f"{glon:.{DECIMALS}f}", "lat": f"{glat:.{DECIMALS}f}",
            "name": encode_name(name), **TRAVEL_MODES[travel]}
    return NavLinks(AMAP_URL.format(**fill), BAIDU_URL.format(**fill), (glon, glat),
                    (round(float(lon), DECIMALS), round(float(lat), DECIMALS)))


def open_all_day(hours: Hours, when: datetime | None = None) -> bool:
    """True when the hours say open at every moment (``24/7``, ``Mo-Su 00:00-24:00``)."""
    if hours.rules is None:
        return False
    return hours.constant_from(when or datetime.now(UTC)) == "open"
