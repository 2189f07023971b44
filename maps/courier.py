"""The courier page: where is the nearest open station, and how do I walk there?

A light, mobile-friendly page. "Locate me" (browser geolocation) or a tap on
the map picks a position; the page then lists the nearest stations by walking
time, with their amenities and whether they are open now, and draws the
walking route. Filters: an amenity, and open now.

The page carries the walking network (node coordinates and a compact
adjacency list) and walks it itself with Dijkstra's algorithm, so it works as
a single file with no server and no internet. Served by the service, it asks
``/nearest`` instead and carries no network.

Opening hours are evaluated here, in Python, by :mod:`circle15.geo.station_hours`:
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

from circle15.geo.network import Network
from circle15.geo.station_hours import Hours, Schedule, time_zone
from circle15.geo.stations import AMENITY_ALIASES, Stations
from circle15.maps.assets import inline_head
from circle15.maps.i18n import LABELS, check_lang, t
from circle15.maps.render import render

#: days of opening hours evaluated into an offline page, from when it is made;
#: after them the page says "hours unknown" (24/7 and "off" hold for ever)
HOURS_DAYS = 7


def _network_payload(net: Network) -> dict[str, object]:
    csr = net.csr
    return {
        "lon": np.round(net.node_lonlat[:, 0], 6).tolist(),
        "lat": np.round(net.node_lonlat[:, 1], 6).tolist(),
        "indptr": csr.indptr.tolist(),
        "indices": csr.indices.tolist(),
        "length": np.round(csr.data, 1).tolist(),
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
    """The stations' fields the page shows, their joins to the network, and (offline,
    with ``window``) their evaluated opening hours."""
    f = stations.frame
    sn = stations.snapped
    out = []
    for i, rec in enumerate(f.to_dict("records")):
        lon, lat = round(float(rec["lon"]), 6), round(float(rec["lat"]), 6)
        spec = str(rec.get("opening_hours") or "")
        item: dict[str, object] = {
            "id": str(rec["id"]), "name": str(rec.get("name") or rec["id"]),
            "address": str(rec.get("address") or ""), "opening_hours": spec,
            "amenities": [a for a in str(rec.get("amenities", "")).split(";") if a],
            "lon": lon, "lat": lat,
            # where the station joins the network: its edge's two ends, metres to each
            "u": int(sn.u[i]), "v": int(sn.v[i]),
            "du": round(float(sn.off_m[i] + sn.to_u_m[i]), 1),
            "dv": round(float(sn.off_m[i] + sn.to_v_m[i]), 1),
        }
        if hours is not None:
            parsed = Hours.read(spec, timezone=hours.zone, lonlat=(lon, lat))
            item["hours"] = _hours_payload(parsed.schedule(hours.start, hours.end))
        out.append(item)
    return out


def courier_page(
    net: Network,
    stations: Stations,
    *,
    lang: str = "zh",
    speed_kmh: float = 4.0,
    limit_min: float = 30.0,
    k: int = 3,
    basemap: str = "osm",
    api: str | None = None,
    timezone: str | None = None,
    now: datetime | None = None,
) -> str:
    """The courier page as one HTML string.

    With ``api`` (the service's base URL, ``""`` for the same origin) the page
    asks the service's ``/nearest`` and carries no network (small at any size);
    without it, it carries the network and searches it itself (works offline),
    with each station's open intervals for :data:`HOURS_DAYS` days from
    ``now`` (default: when the page is made). ``timezone`` is the area's (an
    IANA name such as ``"Asia/Shanghai"``); by default the one at the
    stations' median position. A naive ``now`` is wall-clock time there.
    """
    lang_ = check_lang(lang)
    window = None if api is not None else _Window.of(stations, timezone=timezone, now=now)
    data: dict[str, Any] = {
        "network": None if api is not None else _network_payload(net),
        "api": api,
        "stations": _stations_payload(stations, hours=window),
        "speed_m_per_min": speed_kmh * 1000 / 60,
        "limit_m": limit_min * speed_kmh * 1000 / 60,
        "k": k,
        "lang": lang_,
        "basemap": basemap,
        "labels": {key: LABELS[key][lang_] for key in LABELS},
    }
    if window is not None:
        data |= {"hours_from": _epoch_ms(window.start), "hours_until": _epoch_ms(window.end),
                 "timezone": str(window.start.tzinfo)}
    return render(
        "courier.html",
        html_lang="zh-CN" if lang_ == "zh" else "en",
        title=t("courier_title", lang_),
        head=inline_head(),
        locate=t("locate", lang_),
        any_amenity=t("any_amenity", lang_),
        amenities=[(a, t(a, lang_)) for a in AMENITY_ALIASES],
        open_now=t("open_now", lang_),
        hint=t("tap_hint", lang_),
        data=data,
    )


def save_courier_page(page: str, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
