"""Station and area names are shown as text, never run as script, on both pages.

Names and ids come from users (files, the service's station API). Each payload
below sets ``window.__xss`` if the browser ever treats it as markup or code.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from circle15.geo.coverage.areas import read_areas
from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.inputs.stations import Stations
from circle15.maps.courier import courier_page, save_courier_page
from circle15.maps.planner import Overlay, planner_page, save_page
from tests.browser import browser_page
from tests.helpers import make_population, make_stations, points_near_streets

EVIL_NAME = '"><img src=x onerror=window.__xss=1>'
EVIL_ID = "<img src=x onerror=window.__xss=9>"
EVIL_ADDRESS = "</script><script>window.__xss=3</script>"
EVIL_AMENITY = "<img src=x onerror=window.__xss=5>"
EVIL_HOURS = "<svg onload=window.__xss=6>"
EVIL_AREA = "<img src=x onerror=window.__xss=4>${window.__xss=7}`"
XSS = "() => window.__xss"
# every popup and tooltip of every layer of the planner map (stations inside their
# clusters too), opened one after the other; their texts
OPEN_EVERYTHING = """() => {
  // the newest element: closed ones fade out for a while before they go
  const out = [], read = s => { const c = Array.from(document.querySelectorAll(s)).pop();
                                if (c) out.push(c.innerText); };
  const map = c15.map, layers = [...c15.markers];
  for (const k of Object.keys(c15.layers)) {
    const l = c15.layers[k];
    if (!map.hasLayer(l)) { l.addTo(map); }
    if (l.eachLayer) { l.eachLayer(x => layers.push(x)); }
  }
  for (const l of layers) {
    map.closePopup();
    if (l.getPopup && l.getPopup()) { l.openPopup(); read('.leaflet-popup-content'); }
    if (l.getTooltip && l.getTooltip()) { l.openTooltip(); read('.leaflet-tooltip');
                                          l.closeTooltip(); }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def stations(longgang) -> Stations:
    rng = np.random.default_rng(51)
    st = make_stations(longgang, points_near_streets(longgang, 10, rng))
    frame = st.frame.copy()
    frame["name"] = [EVIL_NAME] + [f"站点{i + 1}" for i in range(1, len(frame))]
    frame.loc[1, ["id", "name"]] = [EVIL_ID, ""]
    frame["address"] = EVIL_ADDRESS
    frame["amenities"] = f"water;{EVIL_AMENITY}"
    frame["opening_hours"] = EVIL_HOURS
    return Stations(gpd.GeoDataFrame(frame, geometry="geometry", crs=longgang.crs), st.snapped)


def test_courier_page_shows_names_as_text(tmp_path, longgang, stations):
    page_html = courier_page(longgang, stations, basemap="blank", k=10, limit_min=90)
    path = save_courier_page(page_html, tmp_path / "courier-xss.html")
    lon, lat = stations.frame.loc[0, ["lon", "lat"]].to_numpy(dtype=float)
    with browser_page(tmp_path) as (page, requests):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        assert page.evaluate(XSS) is None
        rows = page.evaluate(f"() => c15.show({lat + 0.0002}, {lon})")
        # hover every station (tooltips) and open every list item (routes)
        page.evaluate("""() => document.querySelectorAll('path.c15-station').forEach(p =>
            p.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})))""")
        tips = page.evaluate("() => Array.from(document.querySelectorAll('.c15-tip'))"
                             ".map(e => e.textContent)")
        for item in page.query_selector_all(".c15-item"):
            item.click()
        items = page.evaluate("() => Array.from(document.querySelectorAll('.c15-item'))"
                              ".map(e => [e.dataset.id, e.querySelector('b').textContent,"
                              " e.innerText])")
        page.wait_for_timeout(200)
        xss = page.evaluate(XSS)
        images = page.evaluate("() => document.querySelectorAll('#list img, .c15-tip img')"
                               ".length")
    assert xss is None and images == 0
    assert requests.blocked == []
    ids = [r["id"] for r in rows]
    assert stations.ids[0] in ids and EVIL_ID in ids  # both listed, so both were rendered
    assert [i[0] for i in items] == ids
    assert EVIL_NAME in [i[1] for i in items]  # the name, shown as the text it is
    assert EVIL_ID in [i[1] for i in items]  # a station without a name shows its id
    assert all(EVIL_ADDRESS in i[2] and EVIL_AMENITY in i[2] for i in items)
    assert EVIL_NAME in tips


def test_planner_map_shows_names_as_text(tmp_path, longgang, stations):
    stations = Stations(stations.frame.assign(name=[EVIL_NAME] + [""] * (len(stations) - 1)),
                        stations.snapped)
    rng = np.random.default_rng(52)
    people = make_population(longgang, points_near_streets(longgang, 800, rng, spread_m=40), rng)
    cov = compute_coverage(longgang, stations, people, settings=CoverageSettings.of(10))
    minx, miny, maxx, maxy = shapely.bounds(longgang.hull)
    gpd.GeoDataFrame({"name": [EVIL_AREA]}, geometry=[shapely.box(minx, miny, maxx, maxy)],
                     crs=longgang.crs).to_crs(4326).to_file(tmp_path / "areas.geojson",
                                                            driver="GeoJSON")
    areas = read_areas(tmp_path / "areas.geojson", longgang)
    lon, lat = stations.frame.loc[0, ["lon", "lat"]].to_numpy(dtype=float)
    evil_layer = Overlay(EVIL_AREA, {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {EVIL_HOURS: EVIL_NAME},
         "geometry": {"type": "Point", "coordinates": [lon, lat]}}]})
    html = planner_page(cov, areas=areas, basemap="blank", lang="en", overlays=[evil_layer],
                        station_fields={EVIL_AMENITY: [EVIL_ID] * len(stations)})
    path = save_page(html, tmp_path / "planner-xss.html")
    with browser_page(tmp_path) as (page, requests):
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container")
        at_load = page.evaluate(XSS)
        overlays = page.evaluate(
            "() => document.querySelector('.leaflet-control-layers-overlays').innerText")
        labels = page.evaluate("() => document.querySelector('.c15-town-label').innerText")
        page.fill("#c15-search", EVIL_ID)
        hits = page.inner_text("#c15-results")
        # every popup and tooltip of every layer, opened one after the other
        texts = page.evaluate(OPEN_EVERYTHING)
        page.wait_for_timeout(300)
        after = page.evaluate(XSS)
        images = page.evaluate("() => document.querySelectorAll('.leaflet-pane img:not("
                               ".leaflet-image-layer), .c15-legend img').length")
        page.screenshot(path=str(tmp_path / "planner-xss.png"))
    assert at_load is None and after is None and images == 0
    assert requests.blocked == []
    assert EVIL_AREA in overlays  # a layer named like markup, shown as text
    assert EVIL_AREA in labels  # the area's name written on the map
    assert EVIL_ID in hits  # found by search, listed as text
    assert any(EVIL_NAME in t for t in texts)  # station popup and tooltip
    assert any(EVIL_ID in t for t in texts)
    assert any(EVIL_ADDRESS in t for t in texts)
    assert any(EVIL_AMENITY in t for t in texts)  # an extra station field's label
    assert any(EVIL_AREA in t for t in texts)  # the area's popup
    assert any(EVIL_HOURS in t and EVIL_NAME in t for t in texts)  # an overlay's properties
