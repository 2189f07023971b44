"""Every expensive request within a budget: caps checked before any work, a bounded pool
with a short queue (429 and Retry-After when full), a per-client rate for siting, and no
server path in any answer."""

from __future__ import annotations

import threading

from circle15.api.errors import message_of
from circle15.geo.errors import InputError
from tests.api.conftest import make_client


def test_a_siting_model_over_its_budget_is_refused_before_any_search(area, tmp_path):
    with make_client(area, tmp_path, None, siting_max_candidates=10) as client:
        r = client.post("/siting", json={"k": 2, "node_spacing_m": 50})
        assert r.status_code == 422
        assert "more than one request may search from (10)" in r.json()["detail"]
    with make_client(area, tmp_path / "pairs", None, siting_max_pairs=1_000) as client:
        r = client.post("/siting", json={"k": 2, "node_spacing_m": 300})
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert "candidate-person pairs" in detail and "(1,000)" in detail
    with make_client(area, tmp_path / "ok", None) as client:  # within the default budget
        ok = client.post("/siting", json={"k": 2, "node_spacing_m": 300})
        assert ok.status_code == 200 and len(ok.json()["sites"]["features"]) == 2


def test_a_full_pool_answers_429_with_retry_after_and_frees_when_done(area, tmp_path):
    with make_client(area, tmp_path, None, expensive_workers=1, expensive_queue=0) as client:
        state = client.app.state.circle15
        inside, release = threading.Event(), threading.Event()

        def hold() -> None:
            with state.expensive.turn("a long siting"):
                inside.set()
                release.wait(30)

        holder = threading.Thread(target=hold)
        holder.start()
        inside.wait(10)
        try:
            for path, body in (("/siting", {"k": 2, "node_spacing_m": 300}),
                               ("/whatif", {"remove": ["LG-1"]})):
                r = client.post(path, json=body)
                assert r.status_code == 429, r.text
                assert int(r.headers["Retry-After"]) >= 1
                assert "busy" in r.json()["detail"]
            assert client.get("/isochrones").status_code == 429
            assert client.get("/coverage/summary").status_code == 200  # reads go on
        finally:
            release.set()
            holder.join()
        assert client.post("/whatif", json={"remove": ["LG-1"]}).status_code == 200


def test_siting_is_rate_limited_per_client(area, tmp_path):
    with make_client(area, tmp_path, None, siting_per_minute=2) as client:
        body = {"k": 1, "node_spacing_m": 1000, "method": "greedy"}
        assert [client.post("/siting", json=body).status_code for _ in range(2)] == [200, 200]
        third = client.post("/siting", json=body)
        assert third.status_code == 429 and 1 <= int(third.headers["Retry-After"]) <= 61
        assert "2 a minute" in third.json()["detail"]


def test_no_server_path_appears_in_an_answer():
    exc = InputError("/srv/circle15/data/district.osm.pbf",
                     "no gathering place in /srv/circle15/data/district.osm.pbf; see "
                     "https://wiki.openstreetmap.org/wiki/Key:opening_hours")
    text = message_of(exc)
    assert "/srv" not in text and "district.osm.pbf" in text
    assert "https://wiki.openstreetmap.org/wiki/Key:opening_hours" in text


def test_the_register_holds_at_most_max_stations(area, tmp_path):
    from tests.api.conftest import AUTH

    with make_client(area, tmp_path, None, max_stations=7) as client:
        spare = area["spare"]
        one = {"id": "NEW-1", "name": "n", "lon": float(spare[0, 0]), "lat": float(spare[0, 1])}
        assert client.post("/stations", json=one, headers=AUTH).status_code == 201
        two = {**one, "id": "NEW-2", "lon": float(spare[1, 0]), "lat": float(spare[1, 1])}
        r = client.post("/stations", json=two, headers=AUTH)
        assert r.status_code == 422 and "more than the 7 this service holds" in r.text
        assert "CIRCLE15_MAX_STATIONS" in r.json()["detail"]
        rows = "\n".join(f"I{i},i,{spare[i, 0]},{spare[i, 1]}" for i in range(2, 5))
        r = client.post("/stations/import", headers=AUTH, files={
            "file": ("s.csv", f"id,name,lon,lat\n{rows}\n".encode(), "text/csv")})
        assert r.status_code == 422 and "3 new station(s) would make 10" in r.text
        assert len(client.get("/stations").json()["features"]) == 7


def test_the_siting_rate_is_one_window_for_every_worker(tmp_path):
    """Workers forked from one service (and their replacements after a change) count one
    window per client: a client cannot get N times the rate from N workers, or a fresh
    allowance each time the workers are replaced."""
    import os

    import pytest

    from circle15.api.errors import BusyError
    from circle15.api.guards.budget import RateLimit

    path = tmp_path / "rates.sqlite"
    first, second = RateLimit(3, path=path), RateLimit(3, path=path)
    first.check("10.0.0.1", "siting")
    first.check("10.0.0.1", "siting")
    second.check("10.0.0.1", "siting")
    with pytest.raises(BusyError) as refused:
        second.check("10.0.0.1", "siting")
    assert 1 <= refused.value.retry_after_s <= 61
    second.check("10.0.0.2", "siting")  # another client has its own window
    # a forked worker (a process of its own, its own connection) sees the same window
    pid = os.fork()
    if pid == 0:
        try:
            first.check("10.0.0.1", "siting")
            os._exit(1)  # not refused: wrong
        except BusyError:
            os._exit(0)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
