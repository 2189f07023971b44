"""The courier's quick /nearest and ``circle15 serve --workers 2`` sharing one area.

On the real Longgang area: the quick way answers exactly as the documented
route does, and leaves every other question, and every error, to it; two
forked workers serve one loaded area (their memory pages shared) and see each
other's writes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.api.conftest import AUTH, TOKEN
from tests.conftest import shared
from tests.helpers import points_near_streets


def test_the_quick_way_answers_as_the_documented_route(client, longgang):
    rng = np.random.default_rng(5)
    for lon, lat in points_near_streets(longgang, 6, rng, spread_m=30):
        for crs in ("wgs84", "gcj02"):
            quick = client.get(f"/nearest?lon={lon:.6f}&lat={lat:.6f}&k=2&crs={crs}")
            # a parameter the quick way does not take sends it the documented way
            full = client.get(f"/nearest?lon={lon:.6f}&lat={lat:.6f}&k=2&crs={crs}"
                              "&open_now=false")
            assert quick.status_code == full.status_code == 200
            assert quick.content == full.content
            assert quick.headers["content-type"] == "application/json"
            assert quick.headers["x-content-type-options"] == "nosniff"
    # what the route refuses, the quick way refuses the same way
    for query in ("lon=114.2&lat=95", "lon=114.2", "lon=114.2&lat=22.7&k=0", "lon=1e2&lat=nan",
                  "lon=114.2&lat=22.7&lat=22.8&crs=mars"):
        assert client.get(f"/nearest?{query}").status_code == 422, query
    far = client.get("/nearest?lon=0.5&lat=0.5")
    assert far.status_code == 422 and "problems" in far.json()


def _current_page(url: str, timeout_s: float = 120.0) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = httpx.get(url, timeout=60)
        if r.status_code == 200 and r.headers["x-page-state"] == "current":
            return r
        time.sleep(0.3)
    pytest.fail(f"{url} was not drawn for the current stations within {timeout_s:.0f} s")


def _descendants(pid: int) -> list[int]:
    try:
        kids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:  # ended meanwhile
        return []
    return kids + [d for k in kids for d in _descendants(k)]


def _workers(pid: int) -> list[int]:
    """The server's worker processes (under the crews that keep them)."""
    return [k for k in _descendants(pid) if _is_worker(k)]


def _crews(pid: int) -> list[int]:
    """The processes that keep the workers (the server's children that have workers)."""
    return [k for k in _descendants(pid) if not _is_worker(k) and _descendants(k)]


def _replaced(pid: int, dead: int, count: int = 2, timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = _workers(pid)
        if len(now) == count and dead not in now:
            return now
        time.sleep(0.05)
    pytest.fail(f"the dead worker {dead} was not replaced within {timeout_s:.0f} s: {now}")


def _is_worker(pid: int) -> bool:
    """A worker listens (has the shared socket and an event loop's epoll)."""
    try:
        return any("anon_inode:[eventpoll]" in os.readlink(f"/proc/{pid}/fd/{fd}")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory(pid: int) -> dict[str, int]:
    rows = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {r.split()[0].rstrip(":"): int(r.split()[1]) for r in rows}


def test_two_workers_share_one_loaded_area(area, tmp_path, cache_dir):
    port = _free_port()
    env = {**os.environ, "CIRCLE15_NETWORK": str(shared("osm/shenzhen-longgang.osm")),
           "CIRCLE15_POPULATION": str(area["folder"] / "pop.csv"),
           "CIRCLE15_STATIONS_SEED": str(area["folder"] / "seed.csv"),
           "CIRCLE15_DATA_DIR": str(tmp_path), "CIRCLE15_PLANNER_TOKEN": TOKEN,
           "CIRCLE15_CACHE_DIR": str(cache_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "circle15", "serve", "--port", str(port),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"the service exited: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        else:
            pytest.fail("the service did not start within 120 s")
        # the first worker may answer before the second has its event loop
        deadline = time.monotonic() + 60
        while len(workers := _workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2
        # the area is in memory once: most of each worker's pages are the parent's
        for pid in workers:
            mem = _memory(pid)
            assert mem["Shared_Dirty"] + mem["Shared_Clean"] > 0.6 * mem["Rss"], mem
        # while the workers are replaced after the write below, no request is dropped
        errors: list[str] = []
        asking = threading.Event()

        def keep_asking(keep_alive: bool) -> None:
            # a fresh connection each time, and one keep-alive client that reuses its
            # connections (the replaced worker used to close them under a request)
            with httpx.Client(timeout=60) as reused:
                while not asking.is_set():
                    try:
                        get = reused.get if keep_alive else httpx.get
                        if get(f"{base}/health").status_code != 200:
                            errors.append("not 200")
                    except httpx.HTTPError as exc:
                        errors.append(repr(exc))
                    if not keep_alive:
                        time.sleep(0.02)

        askers = [threading.Thread(target=keep_asking, args=(k,), daemon=True)
                  for k in (False, True, True, True, True)]
        for asker in askers:
            asker.start()
        # a write through one worker is read by every worker (8 reads hit both)
        lon, lat = area["spare"][18]
        assert httpx.post(f"{base}/stations", headers=AUTH, timeout=60, json={
            "id": "TWO-1", "name": "两个进程", "lon": lon, "lat": lat}).status_code == 201
        # /nearest answers from the index there is until the workers sharing the new one
        # take over (seconds): then every answer has the new station
        url = f"{base}/nearest?lon={lon}&lat={lat}&k=1"
        for _ in range(600):
            if httpx.get(url, timeout=60).json()["stations"][0]["id"] == "TWO-1":
                break
            time.sleep(0.1)
        else:
            pytest.fail("/nearest did not show the new station within 60 s")
        time.sleep(1.0)  # the replaced workers finish
        for _ in range(8):
            assert httpx.get(url, timeout=60).json()["stations"][0]["id"] == "TWO-1"
        # the pages are drawn by the process the workers were forked from, into the
        # folder every worker serves them from: the new station shows on every worker
        for _ in range(8):
            page = _current_page(f"{base}/maps/courier?basemap=blank&lang=en")
            assert "两个进程" in page.text
        assert _current_page(f"{base}/maps/planner?basemap=blank&lang=en").status_code == 200
        # after the change the workers are new forks, sharing the new coverage again
        for _ in range(300):
            now = _workers(proc.pid)
            if len(now) == 2 and not set(now) & set(workers):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the workers {workers} were not replaced after the change: {now}")
        for pid in now:
            mem = _memory(pid)
            assert mem["Shared_Dirty"] + mem["Shared_Clean"] > 0.6 * mem["Rss"], mem
        time.sleep(2.0)  # the old workers gone
        asking.set()
        for asker in askers:
            asker.join(timeout=60)
        assert errors == [], errors
        # a worker that dies is replaced from the loaded area at once
        os.kill(now[0], signal.SIGKILL)
        _replaced(proc.pid, now[0])
        assert httpx.get(f"{base}/stations/TWO-1", timeout=60).status_code == 200
        # ... also while the serving process is busy (as when it brings the coverage
        # up to date after a change, seconds at district scale): stopped here outright
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            for _ in range(2):  # every worker killed in turn, then both at once
                victims = _workers(proc.pid)
                os.kill(victims[0], signal.SIGKILL)
                _replaced(proc.pid, victims[0], timeout_s=3.0)
            victims = _workers(proc.pid)
            for victim in victims:
                os.kill(victim, signal.SIGKILL)
            for victim in victims:
                _replaced(proc.pid, victim, timeout_s=3.0)
            assert httpx.get(f"{base}/stations/TWO-1", timeout=10).status_code == 200
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        # the process keeping the workers killed: another crew takes over
        crews = _crews(proc.pid)
        assert len(crews) == 1, crews
        os.kill(crews[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (again := _crews(proc.pid)) and again != crews and len(_workers(again[0])) == 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail("no new crew of 2 workers within 30 s of killing the old one")
        assert httpx.get(f"{base}/stations/TWO-1", timeout=60).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 0


def test_planners_at_once_lose_no_edit(area, tmp_path, cache_dir):
    """Six planners on two workers, four on scenarios of their own and two sharing one:
    every acknowledged edit is stored once, in order; each conflict is a 412 that a
    fresh read resolves; no 5xx; a read after an edit, through either worker, sees it."""
    import pandas as pd

    from bench.bench_planners import planners, serve, users

    path, tokens = users(tmp_path, 6)
    proc, base = serve({"CIRCLE15_NETWORK": str(shared("osm/shenzhen-longgang.osm")),
                        "CIRCLE15_POPULATION": str(area["folder"] / "pop.csv"),
                        "CIRCLE15_STATIONS_SEED": str(area["folder"] / "seed.csv"),
                        "CIRCLE15_DATA_DIR": str(tmp_path / "data"),
                        "CIRCLE15_USERS": str(path), "CIRCLE15_CACHE_DIR": str(cache_dir)}, 2)
    try:
        seed = pd.read_csv(area["folder"] / "seed.csv")
        out = planners(base, tokens, list(zip(seed["lon"], seed["lat"], strict=True)), 6)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert out.errors == []
    assert out.lost() == {}
    assert sum(len(v) for v in out.acked.values()) == 6 * 6
    assert set(out.statuses) <= {200, 412}
    assert out.statuses[412] == out.conflicts
    assert out.stale_reads == 0
