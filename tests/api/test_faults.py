"""kill -9 in the middle of an import: the store holds all of it or none of it.

The service runs as its own process (``python -m circle15 serve``), on SQLite
and on PostgreSQL; an import of a few thousand stations is sent and the
process is killed at a random moment; the database is then opened directly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from circle15.api.store import StationStore
from circle15.geo.snapping.placement import place_points
from tests.api.conftest import AUTH, TOKEN
from tests.conftest import shared
from tests.helpers import points_near_streets
from tests.pg import postgres_database

N_IMPORT = 3000


def _stations_csv(net, path: Path) -> Path:
    rng = np.random.default_rng(9)
    pts = points_near_streets(net, 2 * N_IMPORT, rng, spread_m=5)
    placed = place_points(net, pts[:, 0], pts[:, 1], max_snap_m=200.0, strict=True)
    refused = {p.row - 1 for p in placed.problems if p.row is not None}
    ok = np.array([p for i, p in enumerate(pts) if i not in refused])[:N_IMPORT]
    assert len(ok) == N_IMPORT
    pd.DataFrame({"id": [f"K{i}" for i in range(N_IMPORT)], "name": "bulk",
                  "lon": ok[:, 0], "lat": ok[:, 1]}).to_csv(path, index=False)
    return path


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "circle15", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail("the service exited while starting")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the service did not start within 60 s")


def _kill_during_imports(url: str, tmp_path: Path, longgang, cache_dir: Path,
                         tries: int) -> list[int]:
    csv = _stations_csv(longgang, tmp_path / "many.csv").read_bytes()
    env = {**os.environ, "CIRCLE15_NETWORK": str(shared("osm/shenzhen-longgang.osm")),
           "CIRCLE15_BUILDINGS_TOTAL": "10000", "CIRCLE15_DATABASE_URL": url,
           "CIRCLE15_DATA_DIR": str(tmp_path), "CIRCLE15_PLANNER_TOKEN": TOKEN,
           "CIRCLE15_CACHE_DIR": str(cache_dir)}
    rng = np.random.default_rng(3)
    seen = []
    before = StationStore(url).count()
    for _ in range(tries):
        proc, base = _start(env)
        sent = subprocess.Popen([sys.executable, "-c", (
            "import httpx,sys; httpx.post(sys.argv[1], headers={'Authorization': sys.argv[2]},"
            " files={'file': ('many.csv', sys.stdin.buffer.read(), 'text/csv')}, timeout=60)"),
            f"{base}/stations/import", AUTH["Authorization"]], stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        assert sent.stdin is not None
        sent.stdin.write(csv)
        sent.stdin.close()
        time.sleep(float(rng.uniform(0.05, 2.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        sent.wait(timeout=60)
        store = StationStore(url)
        count = store.count()
        store.close()
        assert count - before in (0, N_IMPORT), f"{count - before} of {N_IMPORT} rows stored"
        seen.append(count - before)
        if count - before:  # start again from none
            store = StationStore(url)
            for i in range(N_IMPORT):
                store.delete(f"K{i}")
            store.close()
    return seen


def test_kill9_during_import_is_all_or_nothing_sqlite(tmp_path, longgang, cache_dir):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    seen = _kill_during_imports(url, tmp_path, longgang, cache_dir, tries=4)
    assert len(seen) == 4


def test_kill9_during_import_is_all_or_nothing_postgres(tmp_path, longgang, cache_dir):
    with postgres_database() as url:
        seen = _kill_during_imports(url, tmp_path, longgang, cache_dir, tries=2)
    assert len(seen) == 2


@pytest.mark.parametrize("tamper", ["delete-wal", "delete-shm", "delete-both", "replace-wal"])
def test_tampering_with_the_log_then_kill9_loses_no_acknowledged_write(tamper, tmp_path,
                                                                       longgang, cache_dir):
    # deleting -wal and -shm used to leave writes answering 201 while they went into a
    # file nobody would read again: after kill -9 the database held 0 of 53 rows
    url = f"sqlite:///{tmp_path / 'circle15.db'}"
    env = {**os.environ, "CIRCLE15_NETWORK": str(shared("osm/shenzhen-longgang.osm")),
           "CIRCLE15_BUILDINGS_TOTAL": "10000", "CIRCLE15_DATABASE_URL": url,
           "CIRCLE15_DATA_DIR": str(tmp_path), "CIRCLE15_PLANNER_TOKEN": TOKEN,
           "CIRCLE15_CACHE_DIR": str(cache_dir)}
    rng = np.random.default_rng(5)
    pts = points_near_streets(longgang, 400, rng, spread_m=3)
    placed = place_points(longgang, pts[:, 0], pts[:, 1], max_snap_m=200.0, strict=True)
    refused = {p.row - 1 for p in placed.problems if p.row is not None}
    ok = [p for i, p in enumerate(pts) if i not in refused]
    proc, base = _start(env)
    acknowledged: list[str] = []

    def post(i: int) -> int:
        r = httpx.post(f"{base}/stations", headers=AUTH, timeout=30, json={
            "id": f"T{i}", "name": "t", "lon": float(ok[i][0]), "lat": float(ok[i][1])})
        if r.status_code == 201:
            acknowledged.append(f"T{i}")
        return r.status_code

    try:
        codes = [post(i) for i in range(20)]
        assert codes == [201] * 20
        db = tmp_path / "circle15.db"
        for suffix in (["-wal"] if tamper in ("delete-wal", "replace-wal") else
                       ["-shm"] if tamper == "delete-shm" else ["-wal", "-shm"]):
            side = Path(f"{db}{suffix}")
            if side.exists():
                side.unlink()
            if tamper == "replace-wal":
                side.write_bytes(b"")
        after = [post(i) for i in range(20, 40)]
        # refused, plainly, not acknowledged into nowhere
        assert set(after) <= {201, 503}
        assert 503 in after
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["status"] == "degraded" and "file was" in health["storage"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    store = StationStore(url)
    try:
        stored = {r["id"] for r in store.all()}
    finally:
        store.close()
    lost = [i for i in acknowledged if i not in stored]
    assert lost == [], f"{len(lost)} acknowledged writes lost after {tamper} and kill -9"
