"""The docs pages work offline and the OpenAPI document describes the error answers as
they are; every answer carries the security headers; CORS origins are read as written;
and the served pages still work under their Content-Security-Policy in a real Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from circle15.api.app import create_app
from circle15.api.docs import EXTRA_STATUSES
from circle15.api.errors import ErrorBody
from circle15.api.settings import Settings
from tests.api.server import serving
from tests.browser import browser_page
from tests.conftest import shared
from tests.helpers import points_near_streets


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service with no area behind it: enough for the docs and the headers."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("docs"))
    state = SimpleNamespace(settings=settings)
    with TestClient(create_app(settings, state=state)) as c:  # type: ignore[arg-type]
        yield c


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_outside(bare, page):
    r = bare.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="([^"]*)"', r.text)
    assert refs and not [u for u in refs if "//" in u], refs
    assert not re.search(r"https?://|cdn\.|fonts\.googleapis", r.text), r.text
    for ref in refs:
        asset = bare.get(ref)
        assert asset.status_code == 200, ref
        if ref.endswith(".js"):
            assert asset.headers["content-type"].startswith("text/javascript")
            assert len(asset.content) > 100_000  # the real bundle, not a stub
    # the inline script Swagger UI needs is allowed by its hash, no other inline script
    policy = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_every_answer_says_nosniff(bare):
    for r in (bare.get("/openapi.json"), bare.get("/no/such/path"),
              bare.get("/docs/assets/redoc.standalone.js"), bare.get("/docs")):
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_even_a_server_error_says_nosniff(tmp_path):
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, state=SimpleNamespace(settings=settings))  # type: ignore[arg-type]

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/broken")
    assert r.status_code == 500 and r.headers["x-content-type-options"] == "nosniff"


def test_unknown_docs_asset_is_a_404(bare):
    r = bare.get("/docs/assets/secrets.txt")
    assert r.status_code == 404 and "secrets.txt" in r.json()["detail"]


def test_the_document_describes_the_error_answers(bare):
    spec = bare.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    ops = spec["paths"]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    post = ops["/stations"]["post"]["responses"]
    for status in ("400", "401", "409", "413", "422", "503"):
        assert post[status]["content"]["application/json"]["schema"] == error, status
    assert "WWW-Authenticate" in post["401"]["headers"]
    assert "404" in ops["/stations/{station_id}"]["delete"]["responses"]
    assert "401" not in ops["/stations"]["get"]["responses"]  # reading is open
    for method, path in EXTRA_STATUSES:  # the table names operations that exist
        assert method in ops[path], (method, path)
    assert set(ops["/coverage/summary"]["get"]["responses"]["200"]["content"]) == {
        "application/json", "text/csv"}


def _problem(client: TestClient, method: str, path: str, **kwargs: object) -> str:
    r = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert r.status_code in (400, 422), r.text
    ErrorBody.model_validate(r.json())  # the body the document describes
    return str(r.json()["detail"])


def test_messages_say_what_is_wrong_in_plain_words(bare):
    json_type = {"content-type": "application/json"}
    assert _problem(bare, "POST", "/whatif", content=b'{"add": [],\n "remove": }',
                    headers=json_type) == (
        "the request body is not valid JSON (line 2, column 12: Expecting value)")
    # NaN is neither above nor below a bound: it is called what it is
    assert _problem(bare, "GET", "/isochrones?minutes=NaN") == (
        "minutes: must be a finite number, not 'NaN'")
    assert _problem(bare, "GET", "/nearest?lon=nan&lat=22.7") == (
        "lon: must be a finite number, not 'nan'")
    assert _problem(bare, "POST", "/siting", content=b'{"node_spacing_m": NaN}',
                    headers=json_type) == "node_spacing_m: must be a finite number, not nan"
    assert _problem(bare, "POST", "/siting", json={"k": 5, "colour": "red"}) == (
        "colour: is not a field this request takes")
    assert _problem(bare, "POST", "/whatif") == "the request needs a JSON body"
    assert "not UTF-8" in _problem(bare, "POST", "/whatif", content=b'{"remove": ["\xff"]}',
                                   headers=json_type)


@pytest.mark.parametrize("body", [{"first_weight": False}, {"k": "5"}, {"target": "0.9"}])
def test_bodies_take_only_the_types_the_document_gives(bare, body):
    # schemathesis found `"first_weight": false` accepted as 0.0, a number by the document
    field = next(iter(body))
    assert _problem(bare, "POST", "/siting", json=body).startswith(f"{field}: ")


def test_cors_origins_comma_separated_or_json(monkeypatch, tmp_path):
    monkeypatch.setenv("CIRCLE15_CORS_ORIGINS", "https://a.example, http://b.example:8080/")
    assert Settings().cors_origins == ["https://a.example", "http://b.example:8080"]
    monkeypatch.setenv("CIRCLE15_CORS_ORIGINS", '["https://a.example"]')
    assert Settings().cors_origins == ["https://a.example"]
    monkeypatch.setenv("CIRCLE15_CORS_ORIGINS", "https://a.example")
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, state=SimpleNamespace(settings=settings))  # type: ignore[arg-type]
    with TestClient(app) as c:
        r = c.options("/stations", headers={"Origin": "https://a.example",
                                            "Access-Control-Request-Method": "POST"})
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    # an origin with a path never matches what a browser sends: refused at start-up
    monkeypatch.setenv("CIRCLE15_CORS_ORIGINS", "https://a.example/app")
    with pytest.raises(ValidationError, match="no path"):
        Settings()


# every violation of the page's policy, as the page itself sees it
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_served_pages_work_under_their_policy(tmp_path, longgang, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    rng = np.random.default_rng(71)
    pp = points_near_streets(longgang, 800, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "population": 10}).to_csv(
        tmp_path / "pop.csv", index=False)
    st = points_near_streets(longgang, 6, rng, spread_m=5)
    pd.DataFrame({"id": [f"S{i}" for i in range(6)], "name": "s", "lon": st[:, 0],
                  "lat": st[:, 1]}).to_csv(tmp_path / "seed.csv", index=False)
    app = create_app(Settings(network=str(shared("osm/shenzhen-longgang.osm")),
                              population=str(tmp_path / "pop.csv"),
                              stations_seed=str(tmp_path / "seed.csv"), data_dir=tmp_path))
    errors: list[str] = []
    with serving(app) as base, browser_page(tmp_path, allow=("data:", base)) as (page,
                                                                                requests):
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(WATCH_CSP)
        # OSM tiles: the policy must let the browser ask for them (the test's offline
        # router then refuses them, which is not a policy violation)
        answer = page.goto(f"{base}/maps/courier?basemap=osm&lang=en")
        assert answer is not None
        headers = answer.headers
        tap = np.median(st, axis=0) + np.array([0.0003, 0.0])
        page.evaluate(f"() => c15.show({tap[1]}, {tap[0]})")
        page.wait_for_selector(".c15-item")
        items = page.locator(".c15-item").count()
        courier_csp = page.evaluate("() => window.__csp")
        page.goto(f"{base}/docs")
        page.wait_for_selector(".opblock-summary-path")
        page.goto(f"{base}/redoc")
        page.wait_for_selector("h1")
        docs_csp = page.evaluate("() => window.__csp")
    policy = headers["content-security-policy"]
    assert "https://tile.openstreetmap.org" in policy and "webrd01.is.autonavi.com" in policy
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert courier_csp == []
    # ReDoc's footer asks cdn.redoc.ly for a logo: refused, as it should be (ReDoc then
    # drops the image); nothing else on the doc pages is
    assert [v for v in docs_csp if "cdn.redoc.ly" not in v] == []
    assert not [e for e in errors if "Content Security Policy" in e
                and "cdn.redoc.ly" not in e], errors
    assert items >= 1
    assert any("tile.openstreetmap.org" in u for u in requests.blocked)
    assert not [u for u in requests.blocked if "openstreetmap" not in u], requests.blocked
