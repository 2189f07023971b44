"""The workbench page in headless Chromium, against the real service: sign in, make a
scenario, click a street to add a station, click one to remove it, suggest and take a
site; the totals the page shows are the API's, and equal circle15 coverage's for the
scenario's stations."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from circle15.api.app import create_app
from circle15.cli import main
from tests.api.conftest import make_settings
from tests.api.server import serving
from tests.browser import browser_page
from tests.conftest import shared

TOKEN = "plan-page-token-0123456789"


def _totals(page) -> tuple[float, int]:
    box = page.eval_on_selector("#totals", "e => [e.dataset.covered, e.dataset.stations]")
    return float(box[0]), int(box[1])


def _wait_for_stations(page, n: int) -> None:
    try:
        page.wait_for_function(
            f"() => document.querySelector('#totals').dataset.stations == '{n}'",
            timeout=30_000)
    except Exception:
        said = page.eval_on_selector("#message", "e => e.textContent")
        shown = page.eval_on_selector("#totals", "e => e.dataset.stations")
        pytest.fail(f"the page shows {shown} stations, not {n}; it says {said!r}")


def _halves(longgang, path) -> None:
    """Two towns, the west and the east half of the area."""
    import geopandas as gpd
    import shapely

    minx, miny, maxx, maxy = shapely.buffer(longgang.hull, 10).bounds
    mid = (minx + maxx) / 2
    gpd.GeoDataFrame({"name": ["西街道", "东街道"]},
                     geometry=[shapely.box(minx, miny, mid, maxy),
                               shapely.box(mid, miny, maxx, maxy)],
                     crs=longgang.crs).to_crs(4326).to_file(path, driver="GeoJSON")


def _station(page, sid: str, removed: bool = False) -> str:
    """A JS expression: the map's marker of station ``sid`` (a removed one: grey)."""
    return ("(() => { let hit; c15plan.map.eachLayer(l => { if (l._c15id === '" + sid +
            "' && !!l._c15removed === " + ("true" if removed else "false") +
            ") hit = l; }); return hit; })()")


def test_the_workbench_adds_removes_and_suggests(area, tmp_path, cache_dir, monkeypatch,
                                                  longgang):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    from pydantic import SecretStr

    _halves(longgang, tmp_path / "towns.geojson")
    settings = make_settings(area, tmp_path, None).model_copy(
        update={"planner_token": SecretStr(TOKEN), "areas": str(tmp_path / "towns.geojson")})
    app = create_app(settings)
    with serving(app) as base, browser_page(tmp_path, allow=("file:", "data:", base)) as (
            page, requests):
        page.on("dialog", lambda d: d.accept("新驿站A") if d.type == "prompt" else d.accept())
        page.goto(f"{base}/plan?basemap=blank")
        page.wait_for_selector(".leaflet-container")
        page.fill("#token", TOKEN)
        page.click("#signin")
        page.fill("#newname", "试点方案")
        page.click("#new")
        _wait_for_stations(page, 6)
        covered0, _ = _totals(page)
        # click a street point: a station is added there, the totals come back
        lon, lat = area["spare"][0]
        page.evaluate(f"() => c15plan.map.fire('click', {{latlng: L.latLng({lat}, {lon})}})")
        _wait_for_stations(page, 7)
        covered1, _ = _totals(page)
        assert covered1 >= covered0
        # click a station: it is removed
        page.evaluate("() => { let hit; c15plan.map.eachLayer(l => { if (l._c15id === 'LG-2')"
                      " hit = l; }); hit.fire('click'); }")
        _wait_for_stations(page, 6)
        # the removed one is drawn grey; a click restores it
        page.evaluate(f"() => {_station(page, 'LG-2', removed=True)}.fire('click')")
        _wait_for_stations(page, 7)
        page.evaluate(f"() => {_station(page, 'LG-2')}.fire('click')")
        _wait_for_stations(page, 6)
        # the edit's own change is said, its 15-minute area drawn; towns shaded by change
        assert "-" in page.inner_text("#news") or "−" in page.inner_text("#news")
        shaded = page.evaluate("() => { let n = 0; c15plan.map.eachLayer(l => { if (l.feature"
                               " && l.feature.properties.name && l.options.fillOpacity > 0)"
                               " n++; }); return n; }")
        assert shaded >= 1
        # drag a station: it moves there (joined to the street again)
        to_lon, to_lat = area["spare"][3]
        page.evaluate(f"() => {{ const m = {_station(page, 'LG-5')}; "
                      f"m.setLatLng(L.latLng({to_lat}, {to_lon})); m.fire('dragend'); }}")
        page.wait_for_function("() => [...document.querySelectorAll('#edits li')].length == 5",
                               timeout=30_000)
        at = page.evaluate(f"() => {{ const p = {_station(page, 'LG-5')}.getLatLng(); "
                           "return [p.lng, p.lat]; }")
        assert at == pytest.approx([to_lon, to_lat], abs=5e-4)  # within ~50 m of the drop
        # suggest 5, take the first
        page.click("#suggest")
        page.wait_for_selector(".c15-site", timeout=60_000)
        page.click(".c15-site >> nth=0")
        _wait_for_stations(page, 7)
        covered, shown = _totals(page)
        assert page.get_attribute("#links a.report >> nth=0", "href").endswith(
            "/report.pdf?lang=zh")
        sid = page.evaluate("() => c15plan.state.id")
        import httpx

        listed = httpx.get(f"{base}/scenarios/{sid}/stations").content
        edits = httpx.get(f"{base}/scenarios/{sid}").json()["edits"]
        # compare with a second scenario: the API's table and a small map each
        page.fill("#newname", "对照")
        page.click("#new")
        page.wait_for_function("() => document.querySelectorAll('#scenario option').length == 2")
        _wait_for_stations(page, 6)
        page.click("#compare")
        page.click("#cmp-go")
        try:
            page.wait_for_selector("#cmp-maps .minimap >> nth=1", timeout=30_000)
        except Exception:
            pytest.fail("no small maps; the comparison says "
                        f"{page.inner_text('#cmp-msg')!r}")
        page.wait_for_selector("#cmp-table tr.town", timeout=30_000)
        header = page.inner_text("#cmp-table tr >> nth=0")
        assert "试点方案" in header and "对照" in header
        page.screenshot(path=str(tmp_path / "plan-compare.png"))
        page.click("#cmp-close")
        page.screenshot(path=str(tmp_path / "plan-desktop.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "plan-phone.png"))
    assert requests.blocked == []
    assert [e["op"] for e in edits] == ["add", "remove", "add", "remove", "move", "add"]
    stations = pd.read_csv(io.BytesIO(listed))
    assert len(stations) == shown == 7 and "LG-2" not in set(stations["id"])
    stations.to_csv(tmp_path / "s.csv", index=False)
    assert main(["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--population", str(area["folder"] / "pop.csv"), "--stations",
                 str(tmp_path / "s.csv"), "--drop-far-population", "--out",
                 str(tmp_path / "cli"), "-q"]) == 0
    cli = pd.read_csv(tmp_path / "cli" / "summary.csv")
    assert covered == pytest.approx(cli["covered"].iloc[-1], abs=0.5)
