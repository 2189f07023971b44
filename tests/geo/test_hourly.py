"""Coverage by hour on the Longgang extract: stations that close at night, unknown hours,
the 24-hour table per town, its chart and the planner map's night layer."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circle15.geo.coverage.count import Areas, Coverage, compute_coverage
from circle15.geo.coverage.hourly import (
    ALL_AREAS,
    DemandLayer,
    coverage_by_hour,
    covered_at,
    parse_at,
    stations_open_at,
    stations_timezone,
)
from circle15.geo.errors import SettingsError
from circle15.geo.inputs.stations import Stations, read_stations
from circle15.geo.network.graph import Network
from circle15.geo.output.charts import hourly_chart
from tests.helpers import make_population, points_near_streets

#: S1 closes at night, S2 and S3 never close, S4 keeps office hours, S5 gives none
HOURS = ("Mo-Su 08:00-20:00", "24/7", "24/7", "Mo-Fr 07:00-22:00", "")
MONDAY = date(2026, 11, 23)


def _close_together(net: Network, rng: np.random.Generator) -> np.ndarray:
    """Five stations within about a kilometre, so that their reaches overlap."""
    centre = points_near_streets(net, 1, rng, spread_m=0)[0]
    out: list[np.ndarray] = []
    while len(out) < len(HOURS):
        p = points_near_streets(net, 1, rng, spread_m=5)[0]
        if np.hypot(*(p - centre) * (102_000, 111_000)) < 900:
            out.append(p)
    return np.asarray(out)


@pytest.fixture(scope="module")
def night(longgang: Network, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Stations, Coverage, Areas]:
    rng = np.random.default_rng(14)
    st = _close_together(longgang, rng)
    path = tmp_path_factory.mktemp("hourly") / "stations.csv"
    pd.DataFrame({"id": [f"S{i + 1}" for i in range(5)], "name": [f"驿站{i + 1}" for i in range(5)],
                  "lon": st[:, 0], "lat": st[:, 1], "opening_hours": HOURS}).to_csv(path,
                                                                                    index=False)
    stations = read_stations(path, longgang)
    pop = make_population(longgang, points_near_streets(longgang, 600, rng, spread_m=40), rng)
    cov = compute_coverage(longgang, stations, pop)
    west, south, east, north = longgang.hull.bounds
    mid = (west + east) / 2
    areas = Areas(gpd.GeoDataFrame({"name": ["龙城街道", "横岗街道"]},
                                   geometry=[shapely.box(west, south, mid, north),
                                             shapely.box(mid, south, east, north)],
                                   crs=longgang.crs))
    return stations, cov, areas


def test_closing_a_station_removes_exactly_the_demand_only_it_covers(longgang, night):
    stations, cov, _ = night
    layer = DemandLayer.of("residents", cov)
    when = parse_at("Tu 02:00", timezone=stations_timezone(stations), today=MONDAY)
    assert when.isoformat() == "2026-11-24T02:00:00+08:00"
    at_night = stations_open_at(stations, when)  # unknown hours count as open
    assert at_night.states == ("closed", "open", "open", "closed", "unknown")
    full = cov.bands()[-1]
    sole = layer.sole_covered()
    assert sole[0] > 0, "the test needs S1 to be the only station of some people"
    # S4 is closed too, so compare against a moment when only S1 is closed: 21:00
    only_s1 = stations_open_at(stations, parse_at("Tu 21:00", timezone=when.tzinfo,
                                                  today=MONDAY))
    assert only_s1.open.tolist() == [False, True, True, True, True]
    assert covered_at(layer, only_s1).covered == pytest.approx(full.covered - sole[0])
    # and the mask agrees with searching again from the open stations alone
    again = compute_coverage(longgang, stations.select(at_night.open), cov.population)
    got = covered_at(layer, at_night)
    assert got.covered == pytest.approx(again.bands()[-1].covered)
    assert got.cross_covered == pytest.approx(again.bands()[-1].cross_covered)
    assert got.covered < full.covered


def test_unknown_hours_count_as_the_planner_says(night):
    stations, cov, _ = night
    layer = DemandLayer.of("residents", cov)
    when = datetime(2026, 11, 24, 2)
    as_open = stations_open_at(stations, when, unknown="open")
    as_closed = stations_open_at(stations, when, unknown="closed")
    assert (as_open.n_open, as_closed.n_open) == (3, 2)
    assert as_open.without_hours == as_closed.without_hours == 1
    assert "1 without usable opening_hours" in as_closed.note()
    assert "counted as closed" in as_closed.note()
    assert covered_at(layer, as_closed).covered <= covered_at(layer, as_open).covered
    with pytest.raises(SettingsError, match="'open' or 'closed'"):
        stations_open_at(stations, when, unknown="maybe")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["Xx 02:00", "Tu 25:00", "tomorrow", "Tu 2"])
def test_bad_moments_say_what_is_expected(text):
    with pytest.raises(SettingsError, match="at "):
        parse_at(text, timezone=None)


def test_the_day_table_has_24_hours_per_town_and_a_chart(night, tmp_path):
    stations, cov, areas = night
    layers = [DemandLayer.of("residents", cov),
              # a second layer (as workers will be): same units, other weights
              DemandLayer("workers", cov.population.count[::-1].copy(),
                          cov.population.frame.geometry.to_numpy(), cov.reach,
                          cov.settings.limit_m)]
    hourly = coverage_by_hour(layers, stations, areas=areas, day="Tu", today=MONDAY)
    table = hourly.table
    assert hourly.day == date(2026, 11, 24)
    counts = table.groupby("area").size()
    assert set(counts.index) == {"龙城街道", "横岗街道", ALL_AREAS}
    assert (counts == 24).all()
    for name in ("residents", "workers"):
        shares = table[[f"covered_{name}_share", f"cross_{name}_share"]].to_numpy()
        assert np.nanmin(shares) >= 0 and np.nanmax(shares) <= 1
        whole = table[table["area"] == ALL_AREAS].set_index("hour")
        # by day everyone open (S5 unknown counts open): the full coverage; at night less
        assert whole.loc[12, f"covered_{name}"] >= whole.loc[2, f"covered_{name}"]
    whole = table[table["area"] == ALL_AREAS].set_index("hour")
    assert whole.loc[12, "covered_residents"] == pytest.approx(cov.bands()[-1].covered)
    assert whole.loc[2, "stations_open"] == 3 and whole.loc[12, "stations_open"] == 5
    towns = table[table["area"] != ALL_AREAS].groupby("hour")["population_residents"].sum()
    assert (towns <= whole["population_residents"] + 1e-6).all()

    png, svg = hourly_chart(hourly, tmp_path / "by-hour")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")


def test_night_layer_is_geojson_of_open_stations_and_lost_cells(night):
    from circle15.maps.night import night_layer, night_overlay

    stations, cov, _ = night
    layer = DemandLayer.of("residents", cov)
    at = stations_open_at(stations, datetime(2026, 11, 24, 2))
    fc = json.loads(json.dumps(night_layer(layer, stations, at)))
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.count("station") == 5
    cells = [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "cell"]
    assert sum(c["population"] for c in cells) == pytest.approx(cov.population.total, abs=1)
    lost = sum(c["lost"] for c in cells)
    assert lost == pytest.approx(cov.bands()[-1].covered - covered_at(layer, at).covered, abs=1)
    assert fc["properties"]["stations_open"] == 3
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0]
    assert 114 < lon < 115 and 22 < lat < 23  # WGS84 degrees
    # what the planner map asks for: the same at "Tu 02:00" of the coming week
    overlay = night_overlay(cov, at="Tu 02:00")
    assert overlay["properties"]["stations_open"] == 3
    assert len(overlay["features"]) == len(fc["features"])


def test_chart_has_no_towns_without_areas(night, tmp_path: Path):
    stations, cov, _ = night
    hourly = coverage_by_hour([DemandLayer.of("residents", cov)], stations, today=MONDAY)
    assert set(hourly.table["area"]) == {ALL_AREAS}
    assert all(p.exists() for p in hourly_chart(hourly, tmp_path / "c"))


def test_planner_map_has_night_layers_off_by_default(night, tmp_path: Path):
    """The planner map carries who loses their station at 02:00 and which stations are
    closed then, as layers a planner switches on; their numbers are the night layer's."""
    from circle15.usecases import planner_page_html
    from tests.browser import browser_page

    stations, cov, _ = night
    at = stations_open_at(stations, parse_at("Tu 02:00", timezone=stations_timezone(stations)))
    lost_expected = cov.bands()[-1].covered - covered_at(DemandLayer.of("residents", cov),
                                                         at).covered
    path = tmp_path / "planner.html"
    path.write_text(planner_page_html(cov, basemap="blank"), encoding="utf-8")
    with browser_page(tmp_path) as (page, _):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        names = page.inner_text(".leaflet-control-layers-overlays")
        shown = page.evaluate("() => Object.keys(c15.layers).filter(k => k.startsWith('overlay')"
                              " && c15.map.hasLayer(c15.layers[k]))")
        counts = page.evaluate("""() => ['overlay0', 'overlay1'].map(k => {
            let n = 0, lost = 0;
            c15.layers[k].eachLayer(l => { n += 1;
              lost += (l.feature && l.feature.properties.lost) || 0; });
            return [n, lost]; })""")
    assert "夜间无驿站的人" in names and "夜间关闭的驿站" in names and "02:00" in names
    assert shown == []  # off until the planner asks
    assert counts[1][0] == 2  # S1 and S4 are closed at 02:00 on a Tuesday
    assert counts[0][1] == pytest.approx(lost_expected, abs=len(stations.frame) + 1)
