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


def test_the_workbench_adds_removes_and_suggests(area, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    from pydantic import SecretStr

    settings = make_settings(area, tmp_path, None).model_copy(
        update={"planner_token": SecretStr(TOKEN)})
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
        # suggest 5, take the first
        page.click("#suggest")
        page.wait_for_selector(".c15-site", timeout=60_000)
        page.click(".c15-site >> nth=0")
        _wait_for_stations(page, 7)
        covered, shown = _totals(page)
        page.screenshot(path=str(tmp_path / "plan-desktop.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "plan-phone.png"))
        sid = page.evaluate("() => c15plan.state.id")
        import httpx

        listed = httpx.get(f"{base}/scenarios/{sid}/stations").content
        edits = httpx.get(f"{base}/scenarios/{sid}").json()["edits"]
    assert requests.blocked == []
    assert [e["op"] for e in edits] == ["add", "remove", "add"]
    stations = pd.read_csv(io.BytesIO(listed))
    assert len(stations) == shown == 7 and "LG-2" not in set(stations["id"])
    stations.to_csv(tmp_path / "s.csv", index=False)
    assert main(["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--population", str(area["folder"] / "pop.csv"), "--stations",
                 str(tmp_path / "s.csv"), "--drop-far-population", "--out",
                 str(tmp_path / "cli"), "-q"]) == 0
    cli = pd.read_csv(tmp_path / "cli" / "summary.csv")
    assert covered == pytest.approx(cli["covered"].iloc[-1], abs=0.5)
