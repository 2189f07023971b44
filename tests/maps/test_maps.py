"""The planner map in a real headless browser, on the Longgang extract: layers, legend,
languages, search, the picked station's isochrone, the Amap shift, the OSM basemap."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from circle15.geo.coverage.areas import read_areas
from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.coverage.gaps import find_gaps
from circle15.geo.crs import wgs84_to_gcj02
from circle15.geo.siting import build_problem, solve
from circle15.geo.siting.candidates import candidates_from_nodes
from circle15.maps.basemap import load_basemap
from circle15.maps.planner import Overlay, planner_page, save_page
from tests.browser import browser_page
from tests.conftest import shared
from tests.helpers import make_population, make_stations, points_near_streets

STATE_JS = """() => {
  const on = k => !!c15.layers[k] && c15.map.hasLayer(c15.layers[k]);
  const text = s => (document.querySelector(s) || {}).innerText || '';
  return {
    layers: Object.keys(c15.layers), on: Object.keys(c15.layers).filter(on),
    overlays: text('.leaflet-control-layers-overlays'), legend: text('.c15-legend'),
    title: text('.c15-title'), sites: document.querySelectorAll('.c15-site').length,
    scale: document.querySelectorAll('.leaflet-control-scale').length,
    fullscreen: document.querySelectorAll('.c15-fullscreen').length,
    gap_items: document.querySelectorAll('.c15-gap-item').length,
    gap_list_shown: !document.getElementById('c15-gaps').hidden,
    markers: c15.markers.length, places: Array.from(document.querySelectorAll('.c15-place'))
      .map(e => e.innerText),
  };
}"""


# the newest popup: a closed one fades out for a while before it goes
LAST_POPUP = ("() => Array.from(document.querySelectorAll('.leaflet-popup-content'))"
              ".pop().innerText")


@pytest.fixture(scope="module")
def scenario(longgang, tmp_path_factory):
    rng = np.random.default_rng(41)
    stations = make_stations(longgang, points_near_streets(longgang, 8, rng))
    people = make_population(longgang, points_near_streets(longgang, 1500, rng, spread_m=40),
                             rng)
    cov = compute_coverage(longgang, stations, people, settings=CoverageSettings.of(10))
    problem = build_problem(cov, candidates_from_nodes(longgang, spacing_m=300))
    sites = solve(problem, k=3)
    streets = load_basemap(shared("osm/shenzhen-longgang.osm"),
                           cache_dir=tmp_path_factory.mktemp("basemap"))
    return cov, find_gaps(cov, hex_m=150), sites, streets


def _all_on(page) -> None:
    page.evaluate("""() => document.querySelectorAll(
        '.leaflet-control-layers-overlays input').forEach(i => { if (!i.checked) i.click(); })""")
    page.wait_for_timeout(300)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planner_page_draws_every_layer(tmp_path, scenario, lang):
    cov, gaps, sites, streets = scenario
    html = planner_page(cov, gaps=gaps, sites=sites, streets=streets, basemap="blank",
                        lang=lang, data_date="2026-11-24")
    path = save_page(html, tmp_path / f"planner-{lang}.html")
    errors: list[str] = []
    with browser_page(tmp_path) as (page, requests):
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        first = page.evaluate(STATE_JS)
        page.screenshot(path=str(tmp_path / f"planner-{lang}-default.png"))
        _all_on(page)
        page.evaluate("() => c15.map.setZoom(15)")
        page.wait_for_timeout(300)
        after = page.evaluate(STATE_JS)
        page.screenshot(path=str(tmp_path / f"planner-{lang}.png"))
    assert errors == [] and requests.blocked == []  # nothing tried to leave the machine
    assert first["scale"] == 1 and first["fullscreen"] == 1
    assert first["markers"] == len(cov.stations)
    # no areas: the service-limit band, the stations, the sites and the OSM streets start on
    assert set(first["on"]) == {"bands", "stations", "sites", "streets"}
    assert not first["gap_list_shown"] and 1 <= first["gap_items"] <= min(20, len(gaps))
    assert after["gap_list_shown"] and set(after["on"]) == set(after["layers"])
    assert first["sites"] == sites.k == 3
    assert "荷坳村" in after["places"]  # a place name of the OSM file
    if lang == "zh":
        assert "图例" in first["legend"] and "驿站" in first["legend"]
        # the legend follows the layers: the 0 / 1 / 2+ surface's classes once it is on
        assert "交叉覆盖" not in first["legend"] and "交叉覆盖" in after["legend"]
        assert "步行 10 分钟" in first["title"]
        assert "主干道" in first["legend"]  # the basemap's street classes
    else:
        assert "Legend" in first["legend"] and "Stations" in first["legend"]
        assert "cross coverage" in after["legend"] and "10 min walk" in first["title"]
    assert "2026-11-24" in first["title"]


def test_search_and_pick_draw_one_isochrone(tmp_path, scenario):
    cov, gaps, _, _ = scenario
    frame = cov.stations.frame
    extra = {"夜间开放": ["是" if i % 2 else "否" for i in range(len(frame))]}
    path = save_page(planner_page(cov, gaps=gaps, basemap="blank", station_fields=extra),
                     tmp_path / "search.html")
    target = frame["id"].iloc[3]
    with browser_page(tmp_path) as (page, _):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        page.fill("#c15-search", str(target))
        hits = page.evaluate("() => Array.from(document.querySelectorAll('.c15-hit'))"
                             ".map(e => e.innerText)")
        page.click(".c15-hit >> nth=0")
        page.wait_for_selector(".leaflet-popup-content")
        page.wait_for_timeout(300)
        popup = page.inner_text(".leaflet-popup-content")
        picked = page.evaluate("""() => { let n = 0, b = null;
            c15.map.eachLayer(l => { if (l instanceof L.Polygon && l.options.fillOpacity === 0.12)
              { n += 1; b = l.getBounds(); } });
            return [n, b && [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]]; }""")
        page.fill("#c15-search", "no such station anywhere")
        none = page.inner_text("#c15-results")
    assert any(str(target) in h for h in hits)
    assert str(target) in popup and "夜间开放" in popup  # the extra field is in the popup
    n, (s, w, north, e) = picked
    assert n == 1  # one station's isochrone, not all of them
    lon, lat = frame.loc[frame["id"] == target, ["lon", "lat"]].to_numpy(float)[0]
    assert s < lat < north and w < lon < e  # around the station picked
    assert "没有匹配" in none


def test_amap_mode_puts_markers_at_gcj02(tmp_path, scenario):
    cov, gaps, _, _ = scenario
    x, y = cov.stations.frame[["lon", "lat"]].to_numpy(float)[0]
    ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y]]
    hole = [[x + 0.002, y + 0.001], [x + 0.004, y + 0.001], [x + 0.003, y + 0.003],
            [x + 0.002, y + 0.001]]  # rings of different lengths
    layer = Overlay("night", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [ring, hole]}}]})
    path = save_page(planner_page(cov, gaps=gaps, basemap="amap", overlays=[layer]),
                     tmp_path / "amap.html")
    with browser_page(tmp_path) as (page, requests):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        got = np.array(page.evaluate(
            "() => c15.markers.map(m => [m.getLatLng().lng, m.getLatLng().lat])"))
        corner = page.evaluate("() => { let p = null; c15.layers.overlay0.eachLayer("
                               "l => { p = l.getLatLngs()[0][0]; }); return [p.lng, p.lat]; }")
    lon, lat = cov.stations.frame["lon"].to_numpy(), cov.stations.frame["lat"].to_numpy()
    want = np.column_stack(wgs84_to_gcj02(lon, lat))
    np.testing.assert_allclose(got, want, atol=2e-6)  # the page rounds to 1e-6°
    assert np.abs(got - np.column_stack([lon, lat])).max() > 1e-3  # shifted, not WGS84
    # a plugged-in layer is shifted the same way
    np.testing.assert_allclose(corner, np.ravel(wgs84_to_gcj02(x, y)), atol=2e-6)
    # the only requests tried were Amap tiles, and they were stopped here
    assert requests.blocked and all("autonavi.com" in u for u in requests.blocked)


def test_towns_shaded_by_share_with_numbers_and_overlays(tmp_path, scenario, longgang):
    cov, gaps, _, _ = scenario
    minx, miny, maxx, maxy = shapely.bounds(longgang.hull)
    mid = (minx + maxx) / 2
    # a third town beside the area, where nobody is within reach: the 0 % class
    gdf = gpd.GeoDataFrame({"name": ["西区", "东区", "空镇"]},
                           geometry=[shapely.box(minx, miny, mid, maxy),
                                     shapely.box(mid, miny, maxx, maxy),
                                     shapely.box(maxx + 10, miny, maxx + 3000, maxy)],
                           crs=longgang.crs).to_crs(4326)
    gdf.to_file(tmp_path / "areas.geojson", driver="GeoJSON")
    areas = read_areas(tmp_path / "areas.geojson", longgang)
    centre = gdf.geometry.union_all().centroid
    night = Overlay("夜间覆盖", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"名称": "夜间", "人数": 12},
         "geometry": {"type": "Point", "coordinates": [centre.x, centre.y]}}]},
        style={"color": "#542788"})
    path = save_page(planner_page(cov, areas=areas, gaps=gaps, basemap="blank",
                                  overlays=[night]), tmp_path / "areas.html")
    stats = cov.by_area(areas)
    with browser_page(tmp_path) as (page, _):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        state = page.evaluate(STATE_JS)
        labels = page.evaluate("() => Array.from(document.querySelectorAll('.c15-town-label'))"
                               ".map(e => e.innerText)")
        fills = page.evaluate("() => { const f = {}; c15.layers.towns.eachLayer(l => {"
                              " if (l.getBounds) f[l.getTooltip().getContent().innerText"
                              ".split(':')[0]] = l.options.fillColor; }); return f; }")
        # the district's goal, cross coverage, shades the towns on the same classes, one
        # shading at a time
        page.evaluate("() => c15.layers.towns_cross.addTo(c15.map)")
        crossed = page.evaluate(STATE_JS)
        cross_labels = page.evaluate("() => Array.from(document.querySelectorAll("
                                     "'.c15-town-label')).map(e => e.innerText)")
        page.evaluate("() => c15.layers.towns.addTo(c15.map)")
        page.evaluate("() => c15.layers.towns.eachLayer(l => l.getBounds && l.openPopup())")
        popup = page.inner_text(".leaflet-popup-content")
        page.evaluate("() => { c15.layers.overlay0.addTo(c15.map);"
                      " c15.layers.overlay0.eachLayer(l => l.openPopup()); }")
        overlay_popup = page.evaluate(LAST_POPUP)
    assert "towns" in state["on"] and "bands" not in state["on"]  # towns are the default
    assert "overlay0" not in state["on"] and "夜间覆盖" in state["overlays"]
    for name, share in zip(stats["name"], stats["covered_share"].fillna(0), strict=True):
        assert any(name in lbl and f"{round(share * 100, 1):g} %" in lbl for lbl in labels)
    assert "覆盖率" in popup and ("西区" in popup or "东区" in popup)
    # graded classes, nobody within reach apart from a few
    assert "0 %" in state["legend"] and "0–25%（不含0）" in state["legend"]
    assert "≥ 90%" in state["legend"]
    from circle15.maps.planner_data import ZERO_COLOUR
    assert fills["空镇"] == ZERO_COLOUR and fills["西区"] != ZERO_COLOUR
    assert "towns_cross" in crossed["on"] and "towns" not in crossed["on"]
    assert "交叉覆盖" in crossed["legend"]
    for name, share in zip(stats["name"], stats["cross_share"].fillna(0), strict=True):
        assert any(name in lbl and f"{round(share * 100, 1):g} %" in lbl
                   for lbl in cross_labels)
    assert "人数" in overlay_popup and "12" in overlay_popup


def test_english_pages_use_the_towns_english_names(tmp_path):
    # --lang en left town names in Chinese although the areas file has name_en
    import geopandas as gpd

    from circle15.geo.coverage.areas import read_areas
    from circle15.maps.planner_data import display_shift, towns
    from circle15.usecases import AreaSpec, load_area
    from circle15.usecases.area import cover, read_station_file
    from tests.conftest import shared

    data = shared("district/subsets/pop-10k.csv").parent
    area = load_area(AreaSpec(network=str(data / "city-10k.osm.pbf"),
                              population=str(data / "pop-10k.csv"), drop_far_population=True))
    areas = read_areas(shared("district/towns.geojson"), area.network)
    cov = cover(area, read_station_file(area, data / "stations-10k.csv"))
    source = gpd.read_file(shared("district/towns.geojson")).set_index("name")["name_en"]
    shift = display_shift(False)
    en = [row[0] for row in towns(cov, areas, shift, "en")["rows"]]
    zh = [row[0] for row in towns(cov, areas, shift, "zh")["rows"]]
    assert zh == [str(n) for n in areas.frame["name"]]
    assert en == [source[n] for n in zh] and en != zh
