"""Readers, writers and expensive requests together, against a real service: no 5xx, no
dropped request, and the expensive ones bounded (429 with Retry-After beyond the pool).

Starts ``circle15 serve`` on a district window (the 10k-node subset of the district
city, its people and stations) with a planner token, then for ``--seconds`` runs
at once: readers (``/nearest`` at random points, ``/coverage/summary``, ``/stations``),
a writer adding and removing stations, and siting/what-if requests from two clients
(one of them over its per-minute rate). Prints the statuses per kind, the latency
percentiles of the reads, and the service's peak memory.

    .venv/bin/python bench/bench_mixed_load.py --seconds 30
    .venv/bin/python bench/bench_mixed_load.py --seconds 90 --workers 2

With ``--workers 2`` every write also replaces the workers (a new crew forked from the
new coverage, the old one retiring), so the readers' keep-alive connections live
through dozens of replacements; the service's log is kept to count them.
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
D = ROOT.parent / "shared" / "data" / "district" / "subsets"
TOKEN = "mixed-load-token-0123456789"


def _pss_mb(pid: int) -> float:
    """The service's memory: the proportional set size of all its processes (a page the
    forked workers share is counted once, split between them)."""
    out = subprocess.run(["ps", "-o", "pid=", "--sid", str(os.getsid(pid))],
                         capture_output=True, text=True, check=False).stdout
    total = 0
    for p in out.split():
        try:
            rows = Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(r.split()[1]) for r in rows if r.startswith("Pss:"))
    return total / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="c15-mixed-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CIRCLE15_NETWORK": str(D / "city-10k.osm.pbf"),
           "CIRCLE15_POPULATION": str(D / "pop-10k.csv"),
           "CIRCLE15_STATIONS_SEED": str(D / "stations-10k.csv"),
           "CIRCLE15_DATA_DIR": str(data), "CIRCLE15_PLANNER_TOKEN": TOKEN}
    log = data / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "circle15", "serve", "--port", str(port),
                             "--workers", str(args.workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    pop = pd.read_csv(D / "pop-10k.csv")
    rng = np.random.default_rng(3)
    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    latency: dict[str, list[float]] = collections.defaultdict(list)
    dropped = collections.Counter()
    first: dict[tuple[str, int], str] = {}
    stop = time.monotonic() + args.seconds
    peak = [0.0]
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def run(kind: str, call) -> None:  # type: ignore[no-untyped-def]
        with httpx.Client(base_url=base, timeout=120) as c:
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    r = call(c)
                except httpx.HTTPError:
                    dropped[kind] += 1
                    continue
                latency[kind].append(time.perf_counter() - t)
                statuses[kind][r.status_code] += 1
                if r.status_code >= 400 and (kind, r.status_code) not in first:
                    first[(kind, r.status_code)] = r.text[:200]

    def reader(c: httpx.Client) -> httpx.Response:
        i = int(rng.integers(len(pop)))
        if i % 10 == 0:
            return c.get("/coverage/summary")
        return c.get(f"/nearest?lon={pop.lon[i]:.6f}&lat={pop.lat[i]:.6f}&k=3")

    counter = [0]

    def writer(c: httpx.Client) -> httpx.Response:
        counter[0] += 1
        i = int(rng.integers(len(pop)))
        sid = f"W{(counter[0] + 1) // 2}"
        if counter[0] % 2:
            return c.post("/stations", headers=auth, json={
                "id": sid, "name": "load", "lon": float(pop.lon[i]), "lat": float(pop.lat[i])})
        time.sleep(0.5)
        return c.delete(f"/stations/{sid}", headers=auth)

    def siting(c: httpx.Client) -> httpx.Response:
        # cross coverage: on this well-served window every person is already within
        # reach of a station, so "newly covered" has nothing to gain (a 422)
        return c.post("/siting", json={"k": 3, "method": "greedy", "node_spacing_m": 400,
                                       "objective": "cross"})

    def whatif(c: httpx.Client) -> httpx.Response:
        return c.post("/whatif", json={"remove": []})

    def watch() -> None:
        while time.monotonic() < stop:
            peak[0] = max(peak[0], _pss_mb(proc.pid))
            time.sleep(0.5)

    threads = [threading.Thread(target=run, args=("read", reader)) for _ in range(3)]
    threads += [threading.Thread(target=run, args=("write", writer)),
                threading.Thread(target=run, args=("siting", siting)),
                threading.Thread(target=run, args=("siting", siting)),
                threading.Thread(target=run, args=("whatif", whatif)),
                threading.Thread(target=watch)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.killpg(os.getpgid(proc.pid), 15)
    proc.wait(timeout=30)
    fives = sum(n for c in statuses.values() for code, n in c.items() if code >= 500)
    for kind in ("read", "write", "siting", "whatif"):
        ms = np.array(latency[kind]) * 1000
        pct = (f"p50 {np.percentile(ms, 50):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms"
               if ms.size else "")
        print(f"{kind:>7}: {dict(sorted(statuses[kind].items()))} {pct}; dropped "
              f"{dropped[kind]}")
    for (kind, code), text in sorted(first.items()):
        print(f"  first {code} to {kind}: {text}")
    print(f"5xx: {fives}; dropped: {sum(dropped.values())}; service peak PSS {peak[0]:.0f} MB")
    if args.workers > 1:
        replaced = log.read_text().count("workers replaced to share it")
        print(f"workers replaced {replaced} times ({args.workers} workers each time)")


if __name__ == "__main__":
    main()
