"""Map pages are drawn in the background: a request never waits for a whole drawing.

On the real Longgang area. A page builder is wrapped to hold a drawing back
(a gate) or to make it fail, standing in for a district map that takes tens of
seconds to draw or breaks; the pages themselves are the real ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from circle15.api.app import create_app
from circle15.api.state import AppState, load_state
from tests.api.conftest import AUTH, make_client, make_settings
from tests.api.server import serving

PAGE = "/maps/courier?basemap=blank&lang=en"


@pytest.fixture
def quick(area, tmp_path, monkeypatch, cache_dir) -> Iterator[TestClient]:
    """A service whose map requests do not wait for a drawing at all."""
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("CIRCLE15_PAGE_WAIT_S", "0")
    with make_client(area, tmp_path, None) as c:
        yield c


def _until(get: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool],
           what: str, timeout_s: float = 90.0) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = get()
        if done(r):
            return r
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {timeout_s:.0f} s (last: {r.status_code} "
                f"{r.headers.get('x-page-state')})")


def _current(r: httpx.Response) -> bool:
    return r.status_code == 200 and r.headers.get("x-page-state") == "current"


def _add(client: Any, area: dict[str, Any], i: int, name: str, url: str = "") -> None:
    lon, lat = area["spare"][i]
    r = client.post(f"{url}/stations", json={"id": f"BG-{i}", "name": name, "lon": lon,
                                             "lat": lat}, headers=AUTH)
    assert r.status_code == 201, r.text


def _gated(state: AppState, kind: str) -> threading.Event:
    """Hold every drawing of ``kind`` until the returned gate opens."""
    gate = threading.Event()
    real = state.page_builders[kind]

    def held(*args: Any) -> str:
        assert gate.wait(120), "the test never opened the gate"
        return real(*args)

    state.page_builders[kind] = held
    return gate


def test_after_a_change_the_page_eventually_shows_it(quick, area):
    first = _until(lambda: quick.get(PAGE), _current, "the first drawing")
    assert "东门新站" not in first.text
    _add(quick, area, 14, "东门新站")
    after = _until(lambda: quick.get(PAGE), _current, "the drawing after the change")
    assert "东门新站" in after.text
    assert int(after.headers["x-page-revision"]) > int(first.headers["x-page-revision"])
    assert "c15-page-notice" not in after.text


@pytest.mark.parametrize("kind", ["planner", "courier"])
def test_while_drawing_the_last_page_is_served_at_once(quick, area, kind):
    url = f"/maps/{kind}?basemap=blank&lang=en"
    state: AppState = quick.app.state.circle15
    old = _until(lambda: quick.get(url), _current, "the first drawing")
    gate = _gated(state, kind)
    _add(quick, area, 15, "正在画的站")
    t0 = time.perf_counter()
    r = quick.get(url)
    took = time.perf_counter() - t0
    # the old page, told as old, while the new one is drawn
    assert r.status_code == 200 and r.headers["x-page-state"] == "drawing"
    assert r.headers["x-page-revision"] == old.headers["x-page-revision"]
    assert int(r.headers["x-page-age"]) >= 0 and "last-modified" in r.headers
    assert "a newer one is being drawn" in r.text and "正在画的站" not in r.text
    assert r.text.replace(_notice(r.text), "") == old.text
    assert took < 2.0, f"the request waited {took:.1f} s for the drawing"
    assert quick.get("/health").json()["pages"][f"{kind}/en/blank"]["drawing"] is True
    gate.set()
    new = _until(lambda: quick.get(url), _current, "the drawing after the gate opened")
    assert "c15-page-notice" not in new.text
    if kind == "courier":  # the courier page lists the stations by name
        assert "正在画的站" in new.text


def _notice(html: str) -> str:
    start = html.index('<div id="c15-page-notice"')
    return html[start:html.index("</div>", start) + len("</div>")]


def test_a_failed_drawing_keeps_the_last_good_page(quick, area, caplog):
    state: AppState = quick.app.state.circle15
    old = _until(lambda: quick.get(PAGE), _current, "the first drawing")

    def broken(*args: Any) -> str:
        msg = "the tile renderer ran out of paint"
        raise RuntimeError(msg)

    real = state.page_builders["courier"]
    state.page_builders["courier"] = broken
    _add(quick, area, 16, "画不出的站")
    r = _until(lambda: quick.get(PAGE), lambda r: r.headers.get("x-page-state") == "failed",
               "the failure")
    assert r.status_code == 200 and "画不出的站" not in r.text
    assert r.text.replace(_notice(r.text), "") == old.text
    assert "drawing the newer one failed" in r.text and "ran out of paint" in r.text
    assert "ran out of paint" in quick.get("/health").json()["pages"]["courier/en/blank"][
        "failed"]
    assert any("drawing courier/en/blank failed" in m for m in caplog.messages)
    # mended: the next change draws again
    state.page_builders["courier"] = real
    _add(quick, area, 17, "修好后的站")
    new = _until(lambda: quick.get(PAGE), _current, "the drawing after the mend")
    assert "画不出的站" in new.text and "修好后的站" in new.text


def test_before_the_first_drawing_a_request_gets_a_page_that_reloads(area, tmp_path,
                                                                      monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("CIRCLE15_PAGE_WAIT_S", "0.5")
    state = load_state(make_settings(area, tmp_path, None))
    # every drawing held from the start (real HTTP: the event loop stays free meanwhile)
    gates = [_gated(state, "planner"), _gated(state, "courier")]
    with serving(create_app(state.settings, state=state)) as base:
        t0 = time.perf_counter()
        r = httpx.get(f"{base}/maps/planner?lang=en", timeout=30)
        took = time.perf_counter() - t0
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert '<meta http-equiv="refresh"' in r.text and "being drawn" in r.text
        assert took < 3.0, f"the first request took {took:.1f} s"
        assert httpx.get(f"{base}/health", timeout=30).status_code == 200
        for gate in gates:
            gate.set()
        _until(lambda: httpx.get(f"{base}/maps/planner?lang=en", timeout=30), _current,
               "the first planner page")
    state.store.close()


def test_workers_draw_each_page_once(area, tmp_path, monkeypatch, cache_dir):
    # two services on one database and data folder stand for two worker processes
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("CIRCLE15_PAGE_WAIT_S", "0")
    with make_client(area, tmp_path, None) as one:
        drawn = _until(lambda: one.get(PAGE), _current, "the first worker's drawing")
        with make_client(area, tmp_path, None) as two:
            state: AppState = two.app.state.circle15

            def refuse(*args: Any) -> str:
                msg = "the second worker drew a page the first had drawn"
                raise AssertionError(msg)

            state.page_builders["courier"] = refuse
            r = two.get(PAGE)
            assert _current(r) and r.text == drawn.text
            assert r.headers["x-page-revision"] == drawn.headers["x-page-revision"]


def test_a_change_redraws_the_defaults_and_few_recent_variants(quick, area):
    # any reader could make every change cost up to ten drawings, one per variant asked
    # for ever: now the defaults and the two variants asked for most recently
    state: AppState = quick.app.state.circle15
    drawn: list[tuple[str, str, str]] = []
    for kind in ("planner", "courier"):
        real = state.page_builders[kind]

        def counting(st: Any, cov: Any, lang: str, basemap: str, *, _k: str = kind,
                     _real: Callable[..., str] = real) -> str:
            drawn.append((_k, lang, basemap))
            return _real(st, cov, lang, basemap)

        state.page_builders[kind] = counting
    for lang in ("zh", "en"):
        for basemap in ("osm", "amap", "blank"):
            assert quick.get(f"/maps/planner?lang={lang}&basemap={basemap}").status_code in (
                200, 503)
        for basemap in ("osm", "blank"):
            quick.get(f"/maps/courier?lang={lang}&basemap={basemap}")
    deadline = time.monotonic() + 120
    while state.pages.status() and time.monotonic() < deadline and any(
            s.get("drawing") for s in state.pages.status().values()):  # type: ignore[union-attr]
        time.sleep(0.2)
    drawn.clear()
    lon, lat = area["spare"][9]
    assert quick.post("/stations", json={"id": "VAR-1", "name": "v", "lon": lon, "lat": lat},
                      headers=AUTH).status_code == 201
    deadline = time.monotonic() + 120
    while len(drawn) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # nothing more comes
    assert 2 <= len(set(drawn)) <= 4, drawn
    assert ("planner", "zh", "osm") in drawn and ("courier", "zh", "osm") in drawn
    # a variant not redrawn is drawn when next asked for, and shows the change
    r = quick.get("/maps/planner?lang=en&basemap=amap")
    assert r.status_code == 200
