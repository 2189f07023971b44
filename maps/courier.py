"""The courier page: where is the nearest open station, and how do I get there?

A light, mobile-friendly page. "Locate me" (browser geolocation) or a tap on
the map picks a position; the page then lists the nearest stations by walking
time, with their amenities and whether they are open now, and one-tap links
that start navigation in Amap or Baidu Maps (plus the coordinates to copy,
for in-app browsers that block those links). Filters: an amenity (battery
swap among them), open 24 hours, and open now. When no station passing the
filters is within the limit, the page says so and lists the nearest ones up to
twice the limit: the rule of ``/nearest`` (:data:`circle15.geo.courier.nearest.BEYOND_FACTOR`).

Offline, the page carries no network but a lookup grid of the answers
(:mod:`circle15.geo.courier.grid`: per cell of :data:`CELL_M` metres near a
street, the stations within twice the limit and the walk to each, from the
project's own searches), about 1.3 MB at district scale with 500 stations; it
draws a straight line to the station, and the map apps give the way. Served by
the service, it asks ``/nearest`` instead and draws the walked route.

Opening hours are evaluated here, in Python, by :mod:`circle15.geo.inputs.station_hours`:
the page gets each station's open intervals for the next :data:`HOURS_DAYS`
days (epoch milliseconds) and only compares the clock with them. The HTML is
``templates/courier.html``, the script and style ``static/courier.js`` and
``static/courier.css``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from circle15.geo.courier.grid import lookup_grid
from circle15.geo.courier.navigation import AMAP_URL, BAIDU_URL, TRAVEL_MODES, Travel, open_all_day
from circle15.geo.courier.nearest import BEYOND_FACTOR
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.inputs.station_hours import Hours, Schedule, time_zone
from circle15.geo.inputs.stations import AMENITY_ALIASES, Stations
from circle15.geo.network.graph import Network
from circle15.maps.assets import cluster_head, inline_head
from circle15.maps.i18n import LABELS, check_lang, for_mode, t
from circle15.maps.render import render

#: days of opening hours evaluated into an offline page, from when it is made;
#: after them the page says "hours unknown" (24/7 and "off" hold for ever)
HOURS_DAYS = 7
#: the offline lookup grid's cell size (metres) at walking speed: a courier's time may
#: differ from ``/nearest`` at their own spot by about the walk across a cell (the
#: diagonal, about 2 minutes); faster modes get cells larger in proportion, so the
#: same time tolerance and about the same page size (more stations per cell, fewer cells)
CELL_M = 100.0
#: the walking speed CELL_M is for (km/h)
_CELL_SPEED_KMH = 4.0

#: the courier page's own words (the shared ones are in :mod:`circle15.maps.i18n`)
COURIER_LABELS: dict[str, dict[str, str]] = {
    "open_24h": {"zh": "24 小时", "en": "24 hours"},
    "amap": {"zh": "高德导航", "en": "Amap"},
    "baidu": {"zh": "百度导航", "en": "Baidu Maps"},
    "copy": {"zh": "复制坐标", "en": "Copy coordinates"},
    "copied": {"zh": "已复制", "en": "Copied"},
    "beyond": {"zh": "{m} 分钟内没有符合条件的驿站，以下是最近的几个：",
               "en": "No matching station within {m} min; the nearest ones:"},
    "none_reach": {"zh": "{m} 分钟内没有符合条件的驿站",
                   "en": "No matching station within {m} min"},
    "straight": {"zh": "直线示意，实际路线请用导航", "en": "Straight line only: navigate for the way"},
    "opens": {"zh": "{t} 开门", "en": "opens {t}"},
    "tomorrow": {"zh": "明天", "en": "tomorrow"},
}


def _epoch_ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def _hours_payload(schedule: Schedule) -> dict[str, object]:
    """A schedule for the page: a constant state, or open (and unknown) intervals in ms."""
    if schedule.constant is not None:
        return {"state": schedule.constant}
    out: dict[str, object] = {"open": [[_epoch_ms(a), _epoch_ms(b)] for a, b in schedule.open]}
    if schedule.unknown:
        out["unknown"] = [[_epoch_ms(a), _epoch_ms(b)] for a, b in schedule.unknown]
    return out


@dataclass(frozen=True)
class _Window:
    """The days of opening hours an offline page carries, in the area's time zone."""

    zone: ZoneInfo | None
    start: datetime
    end: datetime

    @classmethod
    def of(cls, stations: Stations, *, timezone: str | None, now: datetime | None) -> _Window:
        """From ``now`` (default: this moment) for :data:`HOURS_DAYS` days."""
        lonlat = stations.frame[["lon", "lat"]].to_numpy(dtype=float)
        centre = np.median(lonlat, axis=0) if len(lonlat) else None
        zone = time_zone(timezone, lonlat=None if centre is None else
                         (float(centre[0]), float(centre[1])))
        start = now if now is not None else datetime.now(UTC)
        if start.tzinfo is None:  # wall-clock time in the area
            start = start.replace(tzinfo=zone) if zone is not None else start.astimezone()
        if zone is not None:
            start = start.astimezone(zone)
        return cls(zone, start, start + timedelta(days=HOURS_DAYS))


def _stations_payload(stations: Stations, *, hours: _Window | None) -> list[dict[str, object]]:
    """The stations' fields the page shows, their GCJ-02 positions for the navigation
    links, and (offline, with ``hours``) their evaluated opening hours."""
    f = stations.frame
    lonlat = f[["lon", "lat"]].to_numpy(dtype=float).reshape(-1, 2)
    g_lon, g_lat = wgs84_to_gcj02(lonlat[:, 0], lonlat[:, 1])
    out = []
    for i, rec in enumerate(f.to_dict("records")):
        lon, lat = round(float(rec["lon"]), 6), round(float(rec["lat"]), 6)
        spec = str(rec.get("opening_hours") or "")
        item: dict[str, object] = {
            "id": str(rec["id"]), "name": str(rec.get("name") or rec["id"]),
            "address": str(rec.get("address") or ""), "opening_hours": spec,
            "amenities": [a for a in str(rec.get("amenities", "")).split(";") if a],
            "lon": lon, "lat": lat, "glon": round(float(g_lon[i]), 6),
            "glat": round(float(g_lat[i]), 6),
        }
        if hours is not None:
            parsed = Hours.read(spec, timezone=hours.zone, lonlat=(lon, lat))
            item["hours"] = _hours_payload(parsed.schedule(hours.start, hours.end))
            item["h24"] = open_all_day(parsed, hours.start)
        out.append(item)
    return out


def courier_page(
    net: Network,
    stations: Stations,
    *,
    lang: str = "zh",
    speed_kmh: float = 4.0,
    limit_min: float = 15.0,
    k: int = 3,
    basemap: str = "osm",
    api: str | None = None,
    timezone: str | None = None,
    now: datetime | None = None,
    travel: Travel = "walk",
    cell_m: float | None = None,
) -> str:
    """The courier page as one HTML string.

    With ``api`` (the service's base URL, ``""`` for the same origin) the page
    asks the service's ``/nearest`` and carries no lookup grid (small at any
    size); without it, it carries the lookup grid of ``net`` (cells of
    ``cell_m`` metres, by default :data:`CELL_M` scaled by the speed) and answers
    itself (works offline), with each station's
    open intervals for :data:`HOURS_DAYS` days from ``now`` (default: when
    the page is made). ``timezone`` is the area's (an IANA name such as
    ``"Asia/Shanghai"``); by default the one at the stations' median position.
    A naive ``now`` is wall-clock time there. ``speed_kmh`` and ``net`` are
    the travel mode's; ``travel`` names it for the navigation apps.
    """
    lang_ = check_lang(lang)
    window = None if api is not None else _Window.of(stations, timezone=timezone, now=now)
    per_min = speed_kmh * 1000 / 60
    labels = {key: LABELS[key][lang_] for key in LABELS}
    labels |= {key: COURIER_LABELS[key][lang_] for key in COURIER_LABELS}
    labels["beyond"] = labels["beyond"].format(m=f"{limit_min:g}")
    labels["none_reach"] = labels["none_reach"].format(m=f"{BEYOND_FACTOR * limit_min:g}")
    labels = {k: for_mode(v, net.mode, lang_) for k, v in labels.items()}
    cell = cell_m or CELL_M * max(1.0, speed_kmh / _CELL_SPEED_KMH)
    data: dict[str, Any] = {
        "grid": None if api is not None else lookup_grid(
            net, stations, limit_m=limit_min * per_min,
            reach_m=BEYOND_FACTOR * limit_min * per_min, cell_m=cell).encode(),
        "api": api,
        "stations": _stations_payload(stations, hours=window),
        "speed_m_per_min": per_min,
        "limit_m": limit_min * per_min,
        "reach_m": BEYOND_FACTOR * limit_min * per_min,
        "k": k,
        "lang": lang_,
        "basemap": basemap,
        "labels": labels,
        "nav": {"urls": {"amap": AMAP_URL, "baidu": BAIDU_URL}, "modes": TRAVEL_MODES[travel]},
        # the farthest a position may be from a street (the index's joining limit)
        "max_snap_m": 500.0,
        # where the page opens before a position is known: the busiest part of the area
        "start": busiest_view(stations),
        # the main streets of the network's own file (about 0.2 MB for a district)
        "streets": _streets(net),
    }
    if window is not None:
        data |= {"hours_from": _epoch_ms(window.start), "hours_until": _epoch_ms(window.end),
                 "timezone": str(window.start.tzinfo)}
    return render(
        "courier.html",
        html_lang="zh-CN" if lang_ == "zh" else "en",
        title=t("courier_title", lang_),
        head=inline_head(),
        cluster=cluster_head(),
        locate=t("locate", lang_),
        any_amenity=t("any_amenity", lang_),
        amenities=[(a, t(a, lang_)) for a in AMENITY_ALIASES],
        open_now=t("open_now", lang_),
        open_24h=COURIER_LABELS["open_24h"][lang_],
        hint=t("tap_hint", lang_),
        data=data,
    )


def _streets(net: Network) -> dict[str, Any] | None:
    from circle15.maps.basemap import load_basemap
    from circle15.maps.planner_data import streets

    source = Path(net.source or "")
    if not net.source or not source.is_file():
        return None
    return streets(load_basemap(source), lambda xy: xy)


#: the side of the square the page opens on (metres), around the most stations
START_VIEW_M = 3000.0


def busiest_view(stations: Stations) -> list[list[float]] | None:
    """The bounds ([[south, west], [north, east]], WGS84) of the ``START_VIEW_M`` square
    holding the most stations: where a courier's page opens before it knows where
    they are, instead of the whole district's dots on a phone. None without stations."""
    f = stations.frame
    if len(f) == 0:
        return None
    lon = f["lon"].to_numpy(dtype=float)
    lat = f["lat"].to_numpy(dtype=float)
    dlat = START_VIEW_M / 111_320.0
    dlon = dlat / max(0.2, float(np.cos(np.radians(np.median(lat)))))
    col = np.floor(lon / dlon * 2).astype(np.int64)  # half-size cells, counted in 2x2
    row = np.floor(lat / dlat * 2).astype(np.int64)
    keys, counts = np.unique(np.column_stack([row, col]), axis=0, return_counts=True)
    grid = {(int(r), int(c)): int(n) for (r, c), n in zip(keys, counts, strict=True)}
    best = max(grid, key=lambda rc: sum(grid.get((rc[0] + i, rc[1] + j), 0)
                                        for i in (0, 1) for j in (0, 1)))
    south, west = best[0] * dlat / 2, best[1] * dlon / 2
    return [[round(south, 6), round(west, 6)],
            [round(south + dlat, 6), round(west + dlon, 6)]]


def save_courier_page(page: str, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
