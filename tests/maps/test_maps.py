"""The planner map in a real headless browser: layers drawn, legend, languages, Amap shift."""

from __future__ import annotations

import numpy as np
import pytest

from circle15.geo.candidates import candidates_from_nodes
from circle15.geo.coverage import CoverageSettings, compute_coverage, read_areas
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.gaps import find_gaps
from circle15.geo.siting import build_problem, solve
from circle15.maps.planner import planner_map, save_map
from tests.browser import browser_page
from tests.helpers import make_population, make_stations, points_near_streets

COUNT_JS = """() => {
  const n = s => document.querySelectorAll(s).length;
  return {
    stations: n('path.c15-station'), union: n('path.c15-iso-union'),
    per_station: n('path.c15-iso-station'), surface: n('path.c15-surface'),
    density: n('path.c15-density'), gaps: n('path.c15-gap'), sites: n('.c15-site'),
    areas: n('path.c15-area'), overlays: n('.leaflet-control-layers-overlays label'),
    legend: document.querySelector('.c15-legend').innerText,
    title: document.querySelector('.c15-title').innerText,
    scale: n('.leaflet-control-scale'), fullscreen: n('.c15-fullscreen'),
    leaflet: typeof L !== 'undefined' && !!document.querySelector('.leaflet-container'),
  };
}"""


@pytest.fixture(scope="module")
def scenario(longgang):
    rng = np.random.default_rng(41)
    stations = make_stations(longgang, points_near_streets(longgang, 8, rng))
    people = make_population(longgang, points_near_streets(longgang, 1500, rng, spread_m=40),
                             rng)
    cov = compute_coverage(longgang, stations, people, settings=CoverageSettings.of(10))
    problem = build_problem(cov, candidates_from_nodes(longgang, spacing_m=300))
    sites = solve(problem, k=3)
    return cov, find_gaps(cov), sites


def _show_all(page) -> None:
    # switch every overlay on, as a planner would, then let Leaflet draw
    page.evaluate("""() => document.querySelectorAll(
        '.leaflet-control-layers-overlays input').forEach(i => { if (!i.checked) i.click(); })""")
    page.wait_for_timeout(300)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planner_map_renders_every_layer(tmp_path, scenario, lang):
    cov, gaps, sites = scenario
    m = planner_map(cov, gaps=gaps, sites=sites, basemap="blank", lang=lang,
                    data_date="2026-11-24")
    path = save_map(m, tmp_path / f"planner-{lang}.html")
    with browser_page(tmp_path) as (page, requests):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        first = page.evaluate(COUNT_JS)
        page.screenshot(path=str(tmp_path / f"planner-{lang}-default.png"))
        _show_all(page)
        counts = page.evaluate(COUNT_JS)
        page.screenshot(path=str(tmp_path / f"planner-{lang}.png"))
    assert requests.blocked == []  # nothing tried to leave the machine
    assert first["leaflet"] and first["scale"] == 1 and first["fullscreen"] == 1
    assert first["stations"] == len(cov.stations)
    assert first["per_station"] == 0  # per-station isochrones start hidden
    assert counts["per_station"] == len(cov.stations)
    assert counts["union"] == len(cov.settings.bands_min)
    assert counts["sites"] == sites.k == 3
    assert counts["gaps"] == len(gaps)
    assert counts["surface"] > 10 and counts["density"] > 10
    if lang == "zh":
        assert "图例" in counts["legend"] and "驿站" in counts["legend"]
        assert "交叉覆盖" in counts["legend"] and "步行 10 分钟" in counts["title"]
    else:
        assert "Legend" in counts["legend"] and "Stations" in counts["legend"]
        assert "cross coverage" in counts["legend"] and "10 min walk" in counts["title"]
    assert "2026-11-24" in counts["title"]


def test_amap_mode_puts_markers_at_gcj02(tmp_path, scenario):
    cov, _, _ = scenario
    path = save_map(planner_map(cov, basemap="amap"), tmp_path / "amap.html")
    js = """() => { const out = [];
      for (const k of Object.keys(window)) {
        if (k.startsWith('map_') && window[k] instanceof L.Map) {
          window[k].eachLayer(l => { if (l instanceof L.CircleMarker &&
              l.options.className === 'c15-station') { const p = l.getLatLng();
              out.push([p.lng, p.lat]); } });
        } }
      return out; }"""
    with browser_page(tmp_path) as (page, requests):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        got = np.array(page.evaluate(js))
    lon, lat = cov.stations.frame["lon"].to_numpy(), cov.stations.frame["lat"].to_numpy()
    want = np.column_stack(wgs84_to_gcj02(lon, lat))
    np.testing.assert_allclose(got, want, atol=2e-6)  # the page rounds to 1e-6°
    assert np.abs(got - np.column_stack([lon, lat])).max() > 1e-3  # shifted, not WGS84
    # the only requests tried were Amap tiles, and they were stopped here
    assert requests.blocked and all("autonavi.com" in u for u in requests.blocked)


def test_areas_layer_colours_by_share(tmp_path, scenario, longgang):
    import geopandas as gpd
    import shapely

    cov, _, _ = scenario
    minx, miny, maxx, maxy = shapely.bounds(longgang.hull)
    mid = (minx + maxx) / 2
    gdf = gpd.GeoDataFrame({"name": ["西区", "东区"]},
                           geometry=[shapely.box(minx, miny, mid, maxy),
                                     shapely.box(mid, miny, maxx, maxy)],
                           crs=longgang.crs).to_crs(4326)
    gdf.to_file(tmp_path / "areas.geojson", driver="GeoJSON")
    areas = read_areas(tmp_path / "areas.geojson", longgang)
    path = save_map(planner_map(cov, areas=areas, basemap="blank"), tmp_path / "areas.html")
    with browser_page(tmp_path) as (page, _):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        n = page.evaluate("() => document.querySelectorAll('path.c15-area').length")
        page.click("path.c15-area >> nth=0", force=True)
        page.wait_for_timeout(200)
        popup = page.evaluate(
            "() => (document.querySelector('.leaflet-popup-content') || {}).innerText || ''")
    assert n == 2
    assert "覆盖率" in popup and ("西区" in popup or "东区" in popup)
