"""Several planners at once on ``circle15 serve --workers 2``: no edit lost, each conflict a
412, no 5xx, and every read after an edit (through either worker) sees it.

Four planners each edit a scenario of their own and two more share one, all at once:
each edit (an added station beside a register station, then its removal) is sent
under the version last read; a 412 makes the planner read the scenario again and
send the same edit under the new version. At the end every acknowledged edit must
be in its scenario's list exactly once, in the order acknowledged, and nothing
else. Prints the edits, the conflicts, the statuses and the latency percentiles.

    .venv/bin/python bench/bench_planners.py --edits 40

``tests/api/test_served_workers.py`` runs it briefly on the Longgang extract.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
D = ROOT.parent / "shared" / "data" / "district" / "subsets"


@dataclass
class Outcome:
    """What the planners saw."""

    acked: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # sid -> edits
    conflicts: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    stale_reads: int = 0
    errors: list[str] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    stored: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def lost(self) -> dict[str, Any]:
        """Per scenario, where the stored edits differ from the acknowledged ones."""
        return {sid: {"acked": acked, "stored": self.stored.get(sid)}
                for sid, acked in self.acked.items() if self.stored.get(sid) != acked}


def planners(base: str, tokens: list[str], positions: list[tuple[float, float]],
             edits: int) -> Outcome:
    """``len(tokens)`` planners (at least 3): all but the last two edit a scenario of
    their own, the last two share one; ``edits`` edits each."""
    out = Outcome()
    own = [_create(base, t, f"planner {i}") for i, t in enumerate(tokens[:-2])]
    shared = _create(base, tokens[-2], "shared")
    jobs = [*[(t, sid) for t, sid in zip(tokens[:-2], own, strict=True)],
            (tokens[-2], shared), (tokens[-1], shared)]
    for sid in {*own, shared}:
        out.acked[sid] = []
    lock = threading.Lock()

    def work(n: int, token: str, sid: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        rng = np.random.default_rng(n)
        with httpx.Client(base_url=base, timeout=120) as c:
            tag = c.get(f"/scenarios/{sid}", headers=auth).headers["ETag"]
            for e in range(edits):
                sid_new = f"P{n}-{e // 2}"
                if e % 2 == 0:
                    lon, lat = positions[int(rng.integers(len(positions)))]
                    body: dict[str, Any] = {"op": "add", "station": {
                        "id": sid_new, "name": f"规划{n}", "lon": lon + 2e-5, "lat": lat}}
                else:
                    body = {"op": "remove", "station_id": sid_new}
                while True:
                    t0 = time.perf_counter()
                    try:
                        r = c.post(f"/scenarios/{sid}/edits", json=body,
                                   headers={**auth, "If-Match": tag})
                    except httpx.HTTPError as exc:
                        with lock:
                            out.errors.append(f"{sid} {body['op']}: {exc!r}")
                        return
                    with lock:
                        out.statuses[r.status_code] += 1
                        out.latency_s.append(time.perf_counter() - t0)
                    if r.status_code == 412:  # another planner's edit came first: read again
                        with lock:
                            out.conflicts += 1
                        tag = c.get(f"/scenarios/{sid}", headers=auth).headers["ETag"]
                        continue
                    if r.status_code != 200:
                        with lock:
                            out.errors.append(f"{sid} {body['op']}: {r.status_code} "
                                              f"{r.text[:200]}")
                        return
                    tag = r.headers["ETag"]
                    with lock:
                        out.acked[sid].append((body["op"], sid_new))
                    # read after write, on a fresh connection (either worker)
                    seen = httpx.get(f"{base}/scenarios/{sid}", headers=auth, timeout=60)
                    if int(seen.json()["version"]) < int(tag.strip('"W/')):
                        with lock:
                            out.stale_reads += 1
                    break

    threads = [threading.Thread(target=work, args=(n, t, sid))
               for n, (t, sid) in enumerate(jobs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for sid in out.acked:
        got = httpx.get(f"{base}/scenarios/{sid}", headers={
            "Authorization": f"Bearer {tokens[0]}"}, timeout=60).json()["edits"]
        out.stored[sid] = [(e["op"], e.get("station_id") or e["station"]["id"]) for e in got]
    return out


def _create(base: str, token: str, name: str) -> str:
    r = httpx.post(f"{base}/scenarios", json={"name": name, "from": "register"},
                   headers={"Authorization": f"Bearer {token}"}, timeout=120)
    r.raise_for_status()
    return str(r.json()["id"])


def serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """``circle15 serve --workers N`` on a free port, once /health answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "circle15", "serve", "--port", str(port),
                             "--workers", str(workers)], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise RuntimeError(f"the service exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the service did not answer within 10 minutes")


def users(folder: Path, n: int) -> tuple[Path, list[str]]:
    from circle15.api.guards.users import add_user

    path = folder / "users.json"
    return path, [add_user(path, f"planner{i}", "planner") for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=40, help="edits per planner")
    args = parser.parse_args()
    import pandas as pd

    data = Path(tempfile.mkdtemp(prefix="c15-planners-"))
    path, tokens = users(data, 6)
    proc, base = serve({"CIRCLE15_NETWORK": str(D / "city-10k.osm.pbf"),
                        "CIRCLE15_POPULATION": str(D / "pop-10k.csv"),
                        "CIRCLE15_STATIONS_SEED": str(D / "stations-10k.csv"),
                        "CIRCLE15_DATA_DIR": str(data), "CIRCLE15_USERS": str(path)}, 2)
    try:
        st = pd.read_csv(D / "stations-10k.csv")
        t0 = time.perf_counter()
        out = planners(base, tokens, list(zip(st["lon"], st["lat"], strict=True)), args.edits)
        wall = time.perf_counter() - t0
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=60)
    ms = np.array(out.latency_s) * 1000
    total = sum(len(v) for v in out.acked.values())
    print(f"6 planners (4 alone, 2 on one scenario), {args.edits} edits each, 2 workers: "
          f"{total} edits acknowledged in {wall:.1f} s; {out.conflicts} conflicts (412); "
          f"statuses {dict(sorted(out.statuses.items()))}; edit p50 "
          f"{np.percentile(ms, 50):.0f} ms, p95 {np.percentile(ms, 95):.0f} ms")
    print(f"lost edits: {out.lost() or 'none'}; stale reads after a write: "
          f"{out.stale_reads}; errors: {out.errors or 'none'}")


if __name__ == "__main__":
    main()
