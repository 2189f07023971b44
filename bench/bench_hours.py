"""Opening hours: the worst case per station, on the hours strings real data holds.

Every distinct ``opening_hours`` value of the OSM extracts in ../shared/data/osm
and of the district's station lists, plus the spellings of "always open" an
attacker (or a careless import) may send, is read and evaluated the way a
station change makes the service do it: parsed, asked whether it is constant
(:meth:`Hours.constant_from`, over a bounded horizon), its week's schedule for
the courier page, and its state at each hour of a day.

The peer is the parser's own unbounded ``next_change`` (what circle15 asked
before), timed on the always-open spellings only (it takes about a second each).

    .venv/bin/python bench/bench_hours.py
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import osmium
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.courier.navigation import open_all_day  # noqa: E402
from circle15.geo.inputs.station_hours import Hours  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ZONE = ZoneInfo("Asia/Shanghai")
SPELLINGS = ["24/7", "Mo-Su 00:00-24:00", "00:00-24:00", "Mo-Fr 00:00-24:00; Sa-Su 00:00-24:00",
             "Mo-Su 00:00-24:00; PH 00:00-24:00", "Jan-Dec Mo-Su 00:00-24:00 open",
             "Mo-Su 00:00-12:00,12:00-24:00", "Mo-Su,PH 00:00-24:00", "off", "Mo-Su off"]


class _Hours(osmium.SimpleHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.values: set[str] = set()

    def _take(self, o: osmium.osm.OSMObject) -> None:
        value = o.tags.get("opening_hours")
        if value:
            self.values.add(value)

    node = way = _take


def hours_strings() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for pbf in sorted((DATA / "osm").glob("*.osm.pbf")):
        h = _Hours()
        h.apply_file(str(pbf))
        found[pbf.name] = h.values
    for csv in sorted((DATA / "district").glob("stations-*.csv")):
        found[csv.name] = set(pd.read_csv(csv, dtype=str)["opening_hours"].dropna())
    found["always-open spellings"] = set(SPELLINGS)
    return found


def station_cost(spec: str, start: datetime) -> float:
    """Seconds for what a station change costs one station's hours."""
    t0 = time.perf_counter()
    hours = Hours.read(spec, timezone=ZONE)
    open_all_day(hours, start)
    hours.schedule(start, start + timedelta(days=7))
    for h in range(24):
        hours.state(start.replace(hour=h))
    return time.perf_counter() - t0


def main() -> None:
    start = datetime.now(ZONE).replace(minute=0, second=0, microsecond=0)
    found = hours_strings()
    worst_all = ("", 0.0)
    print(f"{'source':<28}{'distinct':>9}{'median ms':>11}{'worst ms':>10}  worst string")
    for source, values in found.items():
        costs = sorted((station_cost(v, start), v) for v in values)
        if not costs:
            continue
        med = costs[len(costs) // 2][0]
        worst = costs[-1]
        if worst[0] > worst_all[1]:
            worst_all = (worst[1], worst[0])
        print(f"{source:<28}{len(costs):>9}{med * 1e3:>11.3f}{worst[0] * 1e3:>10.3f}  "
              f"{worst[1][:40]!r}")
    peer = []
    for spec in SPELLINGS[:4]:
        rules = Hours.read(spec, timezone=ZONE).rules
        t0 = time.perf_counter()
        rules.next_change(start.replace(tzinfo=None))
        peer.append(time.perf_counter() - t0)
    ours = [station_cost(s, start) for s in SPELLINGS[:4]]
    print(f"\nworst case per station: {worst_all[1] * 1e3:.3f} ms ({worst_all[0]!r})")
    print(f"always-open spellings: parser's next_change {max(peer) * 1e3:,.0f} ms worst, "
          f"ours (all of a station's evaluation) {max(ours) * 1e3:.3f} ms worst: "
          f"{max(peer) / max(ours):,.0f}x")


if __name__ == "__main__":
    main()
