"""Benchmark: the planner map of the district, end to end, at 50 and 500 stations.

Run by hand (not in CI):  .venv/bin/python bench/bench_map.py [--stations 50,500]

On ../shared/data/district (Shunyi-shaped, 314k walkable nodes, 100k population
points, 27 towns), for each station file:

- ``circle15 map`` end to end (a fresh process: imports, network from the cache,
  population, coverage, isochrones, gaps, the page written), after one untimed
  warm-up run that fills the network and basemap caches;
- in one process, the steps of the page: isochrones (geo/isochrones), gap hexagons,
  the OSM basemap (cached) and the page itself (``planner_page``);
- the page's size, and its first paint in headless Chromium (Playwright driving
  /usr/bin/chromium, the page's own ``first-contentful-paint`` entry, and the time
  until the page's script has drawn every layer).

The folium page this replaces is gone from the code, so its figures are the ones
recorded before the change (issue 13, 2 cores), printed as such, with the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DISTRICT = ROOT.parent / "shared" / "data" / "district"
#: the folium planner map before this change, recorded on this machine (issue 13)
RECORDED = {50: {"map_s": 20.0, "mb": 13.0, "paint_s": 7.0},
            500: {"map_s": 38.0, "mb": 19.3, "paint_s": 7.0}}
TARGET = {"map_s": 8.0, "mb": 3.0, "paint_s": 2.0}


def _inputs(n: int) -> list[str]:
    return ["--network", str(DISTRICT / "shunyi-synth.osm.pbf"),
            "--stations", str(DISTRICT / f"stations-{n}.csv"),
            "--population", str(DISTRICT / "population-points.csv"),
            "--areas", str(DISTRICT / "towns.geojson")]


def map_end_to_end(n: int, out: Path) -> float:
    cmd = [str(ROOT / ".venv" / "bin" / "circle15"), "map", *_inputs(n), "--basemap", "blank",
           "--out", str(out), "-q"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def page_steps(n: int) -> dict[str, float]:
    from circle15.geo.coverage.gaps import find_gaps
    from circle15.geo.coverage.isochrones import isochrones
    from circle15.maps.basemap import load_basemap
    from circle15.maps.planner import MAP_GAP_HEX_M, planner_page
    from circle15.usecases.area import AreaSpec, cover, load_area, read_station_file

    area = load_area(AreaSpec(network=str(DISTRICT / "shunyi-synth.osm.pbf"),
                              population=str(DISTRICT / "population-points.csv"),
                              areas=str(DISTRICT / "towns.geojson")))
    cov = cover(area, read_station_file(area, DISTRICT / f"stations-{n}.csv"))
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    iso = isochrones(cov)
    out["isochrones"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gaps = find_gaps(cov, hex_m=MAP_GAP_HEX_M)
    out["gap hexagons"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    streets = load_basemap(cov.network.source)
    out["OSM basemap (cached)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    planner_page(cov, areas=area.areas, gaps=gaps, iso=iso, streets=streets, basemap="blank")
    out["page (planner_page, gap areas merged there)"] = time.perf_counter() - t0
    return out


PAINT_JS = """() => {
  const p = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
  return [p ? p.startTime : null, window.__drawn || null];
}"""


def first_paint(path: Path) -> tuple[float, float]:
    """(first-contentful-paint, every layer drawn), seconds after navigation started."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
            ("file:", "data:")) else r.abort())
        page.add_init_script("window.addEventListener('load', () => requestAnimationFrame("
                             "() => { window.__drawn = performance.now(); }));")
        page.goto(path.as_uri())
        page.wait_for_function("() => window.__drawn")
        # the paint entry is queued by the browser, at times just after the frame above
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function("() => performance.getEntriesByType('paint').some("
                                   "e => e.name === 'first-contentful-paint')", timeout=5000)
        fcp, drawn = page.evaluate(PAINT_JS)
        browser.close()
    return (fcp or float("nan")) / 1e3, drawn / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", default="50,500")
    args = parser.parse_args()
    sizes = [int(s) for s in args.stations.split(",")]
    if not (DISTRICT / "shunyi-synth.osm.pbf").is_file():
        raise SystemExit(f"missing {DISTRICT}: the benchmark needs ../shared/data/district")
    with tempfile.TemporaryDirectory() as tmp:
        map_end_to_end(min(sizes), Path(tmp) / "warm.html")  # fills the caches
        for n in sizes:
            path = Path(tmp) / f"planner-{n}.html"
            t_map = map_end_to_end(n, path)
            mb = path.stat().st_size / 1e6
            fcp, drawn = first_paint(path)
            steps = page_steps(n)
            old = RECORDED[n]
            print(f"\ndistrict, {n} stations: circle15 map end to end, page, first paint")
            print(f"  {'':<34}{'now':>10}{'recorded before':>18}{'before / now':>14}"
                  f"{'target':>9}")
            for label, now, before, target in (
                    ("circle15 map, s", t_map, old["map_s"], TARGET["map_s"]),
                    ("page size, MB", mb, old["mb"], TARGET["mb"]),
                    ("first contentful paint, s", fcp, old["paint_s"], TARGET["paint_s"]),
                    ("every layer drawn, s", drawn, old["paint_s"], TARGET["paint_s"])):
                print(f"  {label:<34}{now:>10.2f}{before:>18.1f}{before / now:>13.1f}x"
                      f"{target:>9.1f}")
            print("  steps of the page, in one process (s): " + ", ".join(
                f"{k} {v:.2f}" for k, v in steps.items()))
    print("\n'recorded before': the folium page, measured for issue 13 on this machine "
          "(not re-run: that code is gone).")


if __name__ == "__main__":
    main()
