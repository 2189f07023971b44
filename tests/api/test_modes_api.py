"""The service in a travel mode: CIRCLE15_MODE and /nearest?mode=."""

from __future__ import annotations

import numpy as np
import pytest

from circle15.geo.courier.nearest import NearestIndex
from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def ebike_client(area, tmp_path_factory, cache_dir):
    mp = pytest.MonkeyPatch()
    mp.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    with make_client(area, tmp_path_factory.mktemp("ebike"), None, mode="ebike") as c:
        yield c
    mp.undo()


def test_an_ebike_service_answers_riding_times(ebike_client, area):
    state = ebike_client.app.state.circle15
    cov = state.coverage()
    assert cov.network.mode == "ebike" and cov.network.directed
    assert cov.settings.speed_kmh == 15.0
    index = NearestIndex.build(cov)
    for lon, lat in area["spare"][:4].tolist():
        r = ebike_client.get(f"/nearest?lon={lon}&lat={lat}&k=3&mode=ebike")
        assert r.status_code == 200, r.text
        body = r.json()
        plain = ebike_client.get(f"/nearest?lon={lon}&lat={lat}&k=3").json()
        assert body["stations"] == plain["stations"]
        want = index.query(lon, lat, k=3)
        assert [s["id"] for s in body["stations"]] == [w.id for w in want]
        np.testing.assert_allclose([s["distance_m"] for s in body["stations"]],
                                   [w.distance_m for w in want], atol=0.2)
        # times at 15 km/h
        for s in body["stations"]:
            assert s["walk_min"] == pytest.approx(s["distance_m"] / 250.0, abs=0.01)


def test_a_mode_the_service_does_not_compute_is_refused_clearly(ebike_client, area):
    lon, lat = area["spare"][0].tolist()
    r = ebike_client.get(f"/nearest?lon={lon}&lat={lat}&mode=walk")
    assert r.status_code == 422
    assert "CIRCLE15_MODE=ebike" in r.json()["detail"]
    r = ebike_client.get(f"/nearest?lon={lon}&lat={lat}&mode=car")
    assert r.status_code == 422 and "mode" in r.text
