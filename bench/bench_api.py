"""Benchmark: the service at district scale (issue 13, item 5).

Run by hand (not in CI):  .venv/bin/python bench/bench_api.py [--stations 500]
                                                              [--separate-workers]

On ``../shared/data/district`` (314k walkable nodes, 100,000 population
points, 27 towns) with 500 stations, stored in a throwaway PostgreSQL
database (``scripts/pg.sh start``; SQLite when PostgreSQL is not running), the
service is started as ``circle15 serve --workers 2`` and measured from outside:

- start-up: seconds until ``/health`` answers;
- the first ``GET /maps/planner`` (target <= 3 s): at once after start-up, and
  once the background drawing is done; next to what a request drawing the
  page itself (the old way) would have waited: the drawing's own seconds;
- after a station change: how soon ``/maps/planner`` answers (the old page,
  told as such) and how long until the new page is served;
- ``/nearest`` under wrk (Debian's; ``-t2 -c8 -d10s --latency``, 500 courier
  positions drawn from the population points; targets >= 1,500 requests/s,
  p99 <= 30 ms), the quick way next to the same question sent the documented
  (FastAPI-validated) way with ``&open_now=false``, same answers;
- memory (target <= 1 GB): RSS and PSS summed over the server's processes. The
  workers are forked from one loaded area and share its pages, so RSS counts
  those pages once per process; PSS (each shared page split between the
  processes that share it) is what the service takes from the machine. With
  ``--separate-workers`` the same figures for uvicorn's own workers (each
  loads the area), for the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DISTRICT = ROOT.parent / "shared" / "data" / "district"
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def database() -> Iterator[tuple[str | None, str]]:
    """A throwaway PostgreSQL database when the local server runs, else SQLite."""
    from tests.pg import postgres_database

    db = postgres_database()
    try:
        url = db.__enter__()
    except Exception as exc:  # the benchmark runs on SQLite then
        print(f"  (PostgreSQL not available: {str(exc)[:120]}; on SQLite)")
        yield None, "SQLite"
        return
    try:
        yield url, "PostgreSQL"
    finally:
        db.__exit__(None, None, None)


class Service:
    """``circle15 serve`` in its own process group, measured from outside."""

    def __init__(self, env: dict[str, str], workers: int, separate: bool) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "circle15", "serve", "--port", str(self.port),
                "--workers", str(workers)] + (["--separate-workers"] if separate else [])
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_up(self, timeout_s: float = 900) -> float:
        while time.perf_counter() - self.t0 < timeout_s:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health", timeout=5).status_code == 200:
                    return time.perf_counter() - self.t0
            if self.proc.poll() is not None:
                raise SystemExit("the service exited while starting")
            time.sleep(0.5)
        raise SystemExit("the service did not start")

    def pages(self) -> dict[str, dict[str, object]]:
        pages: dict[str, dict[str, object]] = httpx.get(f"{self.base}/health",
                                                         timeout=60).json()["pages"]
        return pages

    def wait_page(self, key: str, revision: int, timeout_s: float = 900) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout_s:
            page = self.pages().get(key, {})
            rev = page.get("revision")
            if isinstance(rev, int) and rev >= revision and not page.get("drawing"):
                return time.perf_counter() - t0
            if page.get("failed"):
                print(f"    drawing {key} failed: {page['failed']}")
            time.sleep(1.0)
        raise SystemExit(f"{key} was not drawn within {timeout_s:.0f} s")

    def get(self, path: str) -> tuple[float, httpx.Response]:
        t0 = time.perf_counter()
        r = httpx.get(f"{self.base}{path}", timeout=600)
        return time.perf_counter() - t0, r

    def pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        kids = [int(p) for p in out]
        more = [int(p) for k in kids for p in subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(k)], capture_output=True, text=True).stdout.split()]
        return [self.proc.pid, *kids, *more]

    def memory_mb(self) -> tuple[float, float, int]:
        """(sum of RSS, sum of PSS, processes), MB."""
        rss = pss = 0
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        return rss / 1024, pss / 1024, len(pids)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=60)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wrk(svc: Service, lua: Path) -> str:
    """wrk's figures, and the service's CPU per request (which, unlike requests/s, does
    not depend on what else the machine is running)."""
    pids = svc.pids()
    cpu0 = cpu_seconds(pids)
    out = subprocess.run(["wrk", "-t2", "-c8", "-d10s", "--latency", "-s", str(lua), svc.base],
                         capture_output=True, text=True, timeout=120).stdout
    cpu = cpu_seconds(pids) - cpu0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    done = re.search(r"(\d+) requests in", out)
    per = cpu / int(done.group(1)) * 1e3 if done and int(done.group(1)) else float("nan")
    return (f"{float(rps.group(1)) if rps else float('nan'):,.0f} requests/s, "
            f"p50 {p50.group(1) if p50 else '?'}, p99 {p99.group(1) if p99 else '?'}, "
            f"non-2xx {errors.group(1) if errors else 0}; service CPU {per:.2f} ms a request "
            f"(2 free cores: at most {2000 / per:,.0f} requests/s)")


def wrk_script(path: Path, points: np.ndarray, extra: str) -> Path:
    pts = ",".join(f"{{{lon:.6f},{lat:.6f}}}" for lon, lat in points)
    path.write_text(
        f"local pts = {{{pts}}}\n"
        "request = function()\n"
        "  local p = pts[math.random(#pts)]\n"
        "  return wrk.format('GET', string.format('/nearest?lon=%.6f&lat=%.6f&k=3"
        f"{extra}', p[1], p[2]))\nend\n")
    return path


def measure(env: dict[str, str], tmp: Path, points: np.ndarray, *, separate: bool,
            spare: tuple[float, float]) -> None:
    mode = "uvicorn's own workers, each loading the area" if separate else \
        "2 workers forked from one loaded area"
    print(f"\n  circle15 serve --workers 2 ({mode}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    svc = Service(env, 2, separate)
    try:
        up = svc.wait_up()
        took, r = svc.get("/maps/planner")
        print(f"    start-up: /health answers after {up:.1f} s; GET /maps/planner at once: "
              f"{took:.2f} s, {r.status_code} ({r.headers.get('x-page-state')})")
        svc.wait_page("planner/zh/osm", 0)
        svc.wait_page("courier/zh/osm", 0)
        pages = svc.pages()
        took, r = svc.get("/maps/planner")
        draw = float(pages["planner/zh/osm"]["draw_s"] or 0.0)  # type: ignore[arg-type]
        print(f"    first GET /maps/planner once drawn: {took:.2f} s (target <= 3 s), "
              f"{len(r.content) / 1e6:.1f} MB; the drawing took {draw:.1f} s, which a request "
              f"drawing the page itself (the old way) would have waited: "
              f"{draw / max(took, 1e-3):,.0f}x longer")
        rss, pss, n = svc.memory_mb()
        print(f"    memory, {n} processes, pages drawn: RSS summed {rss:,.0f} MB, PSS summed "
              f"{pss:,.0f} MB (target <= 1,024 MB)")
        if shutil.which("wrk") is None:
            print("    wrk is not installed (make system installs it): /nearest skipped")
        else:
            quick = wrk(svc, wrk_script(tmp / "quick.lua", points, ""))
            full = wrk(svc, wrk_script(tmp / "full.lua", points, "&open_now=false"))
            print(f"    /nearest, wrk -t2 -c8 -d10s (targets >= 1,500 requests/s, p99 <= 30 ms)"
                  f":\n      quick way:      {quick}\n      documented way: {full}")
            rss, pss, n = svc.memory_mb()
            print(f"    memory after wrk: RSS summed {rss:,.0f} MB, PSS summed {pss:,.0f} MB")
        rev = int(pages["planner/zh/osm"]["revision"] or 0)  # type: ignore[call-overload]
        t0 = time.perf_counter()
        r = httpx.post(f"{svc.base}/stations", timeout=600,
                       headers={"Authorization": f"Bearer {TOKEN}"},
                       json={"id": f"BENCH-{int(separate)}", "name": "bench", "lon": spare[0],
                             "lat": spare[1]})
        wrote = time.perf_counter() - t0
        took, page = svc.get("/maps/planner")
        print(f"    a station added ({r.status_code}, {wrote:.2f} s): GET /maps/planner "
              f"{took:.2f} s, {page.headers.get('x-page-state')}, "
              f"{page.headers.get('x-page-age')} s old")
        took, _ = svc.get(f"/nearest?lon={spare[0]}&lat={spare[1]}&k=1")
        print(f"    first /nearest after the change: {took:.2f} s (answered from the index "
              "there is while the shared one is recomputed)")
        redraw = svc.wait_page("planner/zh/osm", rev + 1)
        print(f"    the new planner page served {redraw:.1f} s later")
        rss, pss, n = svc.memory_mb()
        print(f"    memory after the change: RSS summed {rss:,.0f} MB, PSS summed "
              f"{pss:,.0f} MB")
    finally:
        svc.stop()


def in_process(env: dict[str, str], points: np.ndarray) -> None:
    """Where a /nearest request's time goes, in one process: the search and route
    (``NearestIndex.answer``), and the quick way around it (parsing, JSON)."""
    from circle15.api.routers.courier import quick_nearest
    from circle15.api.settings import Settings
    from circle15.api.state import load_state

    keys = {k.removeprefix("CIRCLE15_").lower(): v for k, v in env.items()
            if k.startswith("CIRCLE15_") and k != "CIRCLE15_CACHE_DIR"}
    state = load_state(Settings(**keys))
    index = state.nearest()
    queries = [f"lon={lon:.6f}&lat={lat:.6f}&k=3" for lon, lat in points]
    for q in queries[:50]:
        quick_nearest(state, q)
    t0 = time.perf_counter()
    for lon, lat in points:
        with contextlib.suppress(Exception):
            index.answer(float(lon), float(lat), k=3)
    search = (time.perf_counter() - t0) / len(points)
    t0 = time.perf_counter()
    for q in queries:
        quick_nearest(state, q)
    quick = (time.perf_counter() - t0) / len(points)
    print(f"  in process, per /nearest question (k = 3, 500 positions): the search and route "
          f"{search * 1e3:.2f} ms, with the quick way's parsing and JSON {quick * 1e3:.2f} ms")
    state.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, choices=(50, 500), default=500)
    parser.add_argument("--separate-workers", action="store_true",
                        help="also measure uvicorn's own workers (each loads the area)")
    args = parser.parse_args()
    for name in ("shunyi-synth.osm.pbf", "population-points.csv", "towns.geojson"):
        if not (DISTRICT / name).is_file():
            raise SystemExit(f"missing {DISTRICT / name}: the benchmark needs ../shared/data")
    people = pd.read_csv(DISTRICT / "population-points.csv")
    rng = np.random.default_rng(13)
    points = people[["lon", "lat"]].to_numpy()[rng.choice(len(people), 500, replace=False)]
    stations = pd.read_csv(DISTRICT / f"stations-{args.stations}.csv")
    lon0, lat0 = stations[["lon", "lat"]].to_numpy()[0]
    spare = (float(lon0) + 0.0002, float(lat0) + 0.0001)  # ~20 m from a placed station
    print(f"District service: {DISTRICT}, {args.stations} stations, 100,000 population "
          "points, 27 towns")
    with tempfile.TemporaryDirectory() as tmp_s, database() as (url, kind):
        tmp = Path(tmp_s)
        print(f"  stations stored in {kind}")
        env = {**os.environ, "CIRCLE15_NETWORK": str(DISTRICT / "shunyi-synth.osm.pbf"),
               "CIRCLE15_POPULATION": str(DISTRICT / "population-points.csv"),
               "CIRCLE15_AREAS": str(DISTRICT / "towns.geojson"),
               "CIRCLE15_STATIONS_SEED": str(DISTRICT / f"stations-{args.stations}.csv"),
               "CIRCLE15_DATA_DIR": str(tmp / "data"), "CIRCLE15_PLANNER_TOKEN": TOKEN}
        if url:
            env["CIRCLE15_DATABASE_URL"] = url
        in_process(env, points)
        measure(env, tmp, points, separate=False, spare=spare)
        if args.separate_workers:
            measure({**env, "CIRCLE15_DATA_DIR": str(tmp / "data2")}, tmp, points,
                    separate=True, spare=spare)


if __name__ == "__main__":
    main()
