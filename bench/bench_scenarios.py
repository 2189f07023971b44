"""The planner's workbench on the district: edit latency over HTTP, against a full recompute.

Serves the district city (500 stations, 100,000 people) on loopback, creates a
scenario from the register and makes 20 edits (adds at candidate sites, removals,
moves), each answered with the scenario's coverage, timed end to end over HTTP.
The peer is what an edit would cost without the kept reach: the coverage of the
scenario's whole station list computed afresh (``compute_coverage``), timed in the
same run. Finally the scenario's numbers are checked against that recompute.

    .venv/bin/python bench/bench_scenarios.py
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import uvicorn
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.api.app import create_app  # noqa: E402
from circle15.api.settings import Settings  # noqa: E402
from circle15.usecases.area import cover, stations_of_records  # noqa: E402
from circle15.usecases.scenarios import apply_edits  # noqa: E402

D = ROOT.parent / "shared" / "data" / "district"
TOKEN = "bench-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="c15-bench-scen-"))
    settings = Settings(network=str(D / "shunyi-synth.osm.pbf"),
                        population=str(D / "population-points.csv"),
                        areas=str(D / "towns.geojson"), stations_seed=str(D / "stations-500.csv"),
                        data_dir=data, planner_token=SecretStr(TOKEN))
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    while not server.started:
        time.sleep(0.2)
    print(f"service up in {time.perf_counter() - t0:.1f} s")
    cand = pd.read_csv(D / "candidates-3000.csv")
    register = pd.read_csv(D / "stations-500.csv")
    with httpx.Client(base_url=base, timeout=120, headers=AUTH) as c:
        c.get("/coverage/summary")
        r = c.post("/scenarios", json={"name": "bench", "from": "register"})
        sid, tag = r.json()["id"], r.headers["ETag"]
        rng = np.random.default_rng(5)
        edits = []
        for i in range(20):
            kind = ("add", "remove", "move", "add")[i % 4]
            if kind == "add":
                j = int(rng.integers(len(cand)))
                edits.append({"op": "add", "station": {
                    "id": f"NEW-{i}", "name": f"new {i}", "lon": float(cand.lon[j]),
                    "lat": float(cand.lat[j])}})
            elif kind == "remove":
                edits.append({"op": "remove", "station_id": str(register.id[10 * i])})
            else:
                j = int(rng.integers(len(cand)))
                edits.append({"op": "move", "station_id": str(register.id[10 * i + 3]),
                              "lon": float(cand.lon[j]), "lat": float(cand.lat[j])})
        times, last = [], None
        for e in edits:
            t = time.perf_counter()
            r = c.post(f"/scenarios/{sid}/edits", json=e, headers={"If-Match": tag})
            times.append(time.perf_counter() - t)
            if r.status_code != 200:
                print("edit refused:", r.status_code, r.text[:200])
                continue
            tag, last = r.headers["ETag"], r.json()
        ms = np.array(times) * 1000
        print(f"20 edits over HTTP: p50 {np.percentile(ms, 50):.0f} ms, p95 "
              f"{np.percentile(ms, 95):.0f} ms, max {ms.max():.0f} ms")
        sc = c.get(f"/scenarios/{sid}").json()
    state = app.state.circle15
    records = apply_edits(state.store.all(), sc["edits"])
    t = time.perf_counter()
    full = cover(state.area, stations_of_records(state.area, records, check_crs=False))
    recompute_ms = (time.perf_counter() - t) * 1000
    print(f"full recompute of the scenario's coverage: {recompute_ms:.0f} ms; "
          f"ratio to the edit's p50: {recompute_ms / np.percentile(ms, 50):.1f}x, "
          f"to its p95: {recompute_ms / np.percentile(ms, 95):.1f}x")
    served = pd.DataFrame(last["bands"]) if last else None
    same = served is not None and all(
        np.allclose(served[c_], full.summary()[c_]) for c_ in ("covered", "cross_covered"))
    print(f"the scenario's numbers equal the recompute: {same}")
    server.should_exit = True


if __name__ == "__main__":
    main()
