"""circle15 batch: many areas on a Dask LocalCluster give exactly what one run gives.

- the 27 towns of the district city, each cut to the town plus the halo, against
  one whole-district run: per person, the same walking time (within the limit)
  and the same station counts, and the same totals;
- four real extracts as four areas of one batch, against four single runs;
- a worker killed in the middle of a batch: its area is retried and the batch
  completes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from circle15.cli import main
from circle15.geo.crs import wgs84_to_gcj02
from circle15.usecases import AreaSpec, cover, load_area
from circle15.usecases.area import read_station_file
from circle15.usecases.batch import area_tasks, manifest_tasks, run_batch
from circle15.usecases.batch_files import merged_tables
from tests.conftest import shared
from tests.helpers import points_near_streets

DISTRICT = "district/shunyi-synth.osm.pbf"


@pytest.fixture(scope="module")
def district_spec() -> AreaSpec:
    return AreaSpec(network=str(shared(DISTRICT)),
                    population=str(shared("district/population-points.csv")),
                    drop_far_population=True)


@pytest.fixture
def cluster_env(monkeypatch, cache_dir):
    # the workers are processes: they read the network cache from the same folder
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))


def test_district_towns_match_one_whole_run(district_spec, cluster_env, tmp_path):
    stations = str(shared("district/stations-50.csv"))
    area = load_area(district_spec)
    whole = cover(area, read_station_file(area, stations, crs="wgs84", check_crs=False))
    mpm = whole.settings.metres_per_minute
    ref = pd.DataFrame({"unit": whole.population.frame["unit"].to_numpy(),
                        "walk_min": whole.nearest.target_dist_m / mpm})
    for j, b in enumerate(whole.settings.bands_min):
        ref[f"stations_{b:g}min"] = whole.unit_count[j]
    towns = gpd.read_file(shared("district/towns.geojson"))
    assert len(towns) == 27
    tasks, outside = area_tasks(towns, name_column="name", spec=district_spec,
                                stations=stations)
    batch = run_batch(tasks, workers=2)
    assert batch.failed == {} and len(batch.results) == 27
    units = pd.concat([r.units for r in batch.results])
    # people are counted once, in one town
    assert units["unit"].is_unique
    both = ref.merge(units, on="unit", suffixes=("_whole", ""))
    assert len(both) == len(units)
    inside = np.isfinite(both["walk_min_whole"])
    np.testing.assert_allclose(both.loc[inside, "walk_min"], both.loc[inside, "walk_min_whole"],
                               rtol=0, atol=1e-6)
    assert both.loc[~inside, "walk_min"].isna().all()  # beyond the limit in both
    for b in whole.settings.bands_min:
        col = f"stations_{b:g}min"
        np.testing.assert_array_equal(both[col], both[f"{col}_whole"])
    # the totals: the towns' sum plus the people in no town is the whole district
    _, totals, _ = merged_tables(batch)
    whole_sum = whole.summary()
    in_towns = whole.population.frame["unit"].isin(set(units["unit"])).to_numpy()
    counted = whole.population.count[in_towns].sum()
    assert totals["population"].iloc[-1] == pytest.approx(counted)
    assert outside >= 0
    for j, b in enumerate(whole.settings.bands_min):
        covered = whole.population.count[in_towns & (whole.unit_count[j] >= 1)].sum()
        assert totals.loc[totals["minutes"] == b, "covered"].iloc[0] == pytest.approx(covered)
    assert whole_sum["population"].iloc[-1] >= totals["population"].iloc[-1]


def _extract_inputs(net, folder: Path, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    from circle15.geo.snapping.placement import place_points

    pts = points_near_streets(net, 60, rng, spread_m=5)
    placed = place_points(net, pts[:, 0], pts[:, 1], max_snap_m=200.0, strict=True)
    refused = {p.row - 1 for p in placed.problems if p.row is not None}
    ok = np.array([p for i, p in enumerate(pts) if i not in refused])[:12]
    st = folder / "stations.csv"
    pd.DataFrame({"id": [f"S{i}" for i in range(len(ok))], "name": "s", "lon": ok[:, 0],
                  "lat": ok[:, 1]}).to_csv(st, index=False)
    pp = points_near_streets(net, 1500, rng, spread_m=60)
    pop = folder / "population.csv"
    pd.DataFrame({"unit": [f"P{i}" for i in range(len(pp))], "lon": pp[:, 0],
                  "lat": pp[:, 1], "population": rng.integers(1, 50, len(pp))}).to_csv(
        pop, index=False)
    return st, pop


def test_real_extracts_as_areas_match_single_runs(request, cluster_env, tmp_path):
    rows = []
    for i, (name, fixture, path) in enumerate([
            ("longgang", "longgang", "osm/shenzhen-longgang.osm"),
            ("liechtenstein", "liechtenstein", "osm/liechtenstein.osm.pbf"),
            ("andorra", "andorra", "osm/andorra.osm.pbf"),
            ("porto-alegre", None, "osm/porto-alegre.osm.pbf")]):
        folder = tmp_path / name
        folder.mkdir()
        net = request.getfixturevalue(fixture) if fixture else load_area(
            AreaSpec(network=str(shared(path)), buildings_total=1000)).network
        st, pop = _extract_inputs(net, folder, seed=i)
        rows.append({"name": name, "network": str(shared(path)), "stations": str(st),
                     "population": str(pop)})
    manifest = tmp_path / "areas.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    base = AreaSpec(drop_far_population=True)
    batch = run_batch(manifest_tasks(manifest, spec=base), workers=2)
    assert batch.failed == {} and [r.name for r in batch.results] == [r["name"] for r in rows]
    for row, res in zip(rows, batch.results, strict=True):
        area = load_area(AreaSpec(network=row["network"], population=row["population"],
                                  drop_far_population=True))
        single = cover(area, read_station_file(area, row["stations"], check_crs=False))
        t = single.nearest.target_dist_m / single.settings.metres_per_minute
        np.testing.assert_array_equal(res.units["unit"], single.population.frame["unit"])
        np.testing.assert_allclose(res.units["walk_min"].fillna(np.inf), t, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(res.units["stations_15min"], single.unit_count[-1])
        pd.testing.assert_frame_equal(res.summary.drop(columns="area").reset_index(drop=True),
                                      single.summary().reset_index(drop=True))


def test_a_killed_worker_is_retried_and_the_batch_completes(district_spec, cluster_env,
                                                            tmp_path):
    towns = gpd.read_file(shared("district/towns.geojson"))
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    tasks, _ = area_tasks(towns, name_column="name", spec=district_spec,
                          stations=str(shared("district/stations-50.csv")),
                          attempts_dir=str(attempts))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, local_directory=str(tmp_path)) as cluster:
        # the workers' pids, asked before the batch: a second client calling into the
        # scheduler while the batch's client waits on results can trip distributed's
        # shared event loop, which is not what this test is about
        with Client(cluster) as spy:
            pids = sorted(spy.run(os.getpid).values())
        killed: list[int] = []
        lock = threading.Lock()

        def kill_one_worker(line: str) -> None:
            with lock:
                if killed:
                    return
                # after the first of 27 areas, both workers are busy with their next one
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        batch = run_batch(tasks, scheduler=cluster.scheduler_address,
                          progress=kill_one_worker)
    assert killed, "no worker was killed"
    assert batch.failed == {} and len(batch.results) == 27
    assert max(batch.attempts.values()) >= 2  # the area on the killed worker ran again


def test_batch_command_writes_partitioned_results(cluster_env, tmp_path, capsys):
    towns = gpd.read_file(shared("district/towns.geojson"))
    few = towns.iloc[:3]
    few.to_file(tmp_path / "three.geojson", driver="GeoJSON")
    code = main(["batch", "--areas", str(tmp_path / "three.geojson"),
                 "--network", str(shared(DISTRICT)),
                 "--stations", str(shared("district/stations-50.csv")),
                 "--population", str(shared("district/population-points.csv")),
                 "--drop-far-population", "--dask-workers", "1", "--out", str(tmp_path / "out"),
                 "-q", "--gaps", "--sites", "2"])
    assert code == 0
    # gaps and sites per area, when asked: each area's gaps hold its uncovered people
    per_area = pd.read_csv(tmp_path / "out" / "areas.csv").set_index("area")
    gaps = pd.read_csv(tmp_path / "out" / "gaps.csv")
    assert set(gaps["area"]) == set(few["name"])
    np.testing.assert_allclose(gaps.groupby("area")["population"].sum().sort_index(),
                               per_area["uncovered"].sort_index(), atol=0.5)
    sites = pd.read_csv(tmp_path / "out" / "sites.csv")
    assert set(sites["area"]) == set(few["name"])
    assert (sites.groupby("area").size() <= 2).all() and (sites["marginal_gain"] > 0).all()
    parts = sorted(p.name for p in (tmp_path / "out" / "units").iterdir())
    assert len(parts) == 3 and all(p.startswith("area=") for p in parts)
    units = gpd.read_parquet(next((tmp_path / "out" / "units").iterdir()) / "part-0.parquet")
    assert units.crs.to_epsg() == 4326 and "walk_min" in units
    areas = pd.read_csv(tmp_path / "out" / "areas.csv")
    assert (tmp_path / "out" / "areas.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert set(areas["area"]) == set(few["name"])
    assert (tmp_path / "out" / "batch.xlsx").stat().st_size > 0
    html = (tmp_path / "out" / "region-map.html").read_text()
    name = few["name"].iloc[0]
    assert (name in html or json.dumps(name)[1:-1] in html) and "<script src=\"http" not in html
    assert "within 15 min" in capsys.readouterr().out
    # the same batch for Amap: every unit and station moved exactly as one by one
    code = main(["batch", "--areas", str(tmp_path / "three.geojson"),
                 "--network", str(shared(DISTRICT)),
                 "--stations", str(shared("district/stations-50.csv")),
                 "--population", str(shared("district/population-points.csv")),
                 "--drop-far-population", "--dask-workers", "1", "--out-crs", "gcj02",
                 "--out", str(tmp_path / "gcj"), "-q"])
    assert code == 0
    part = sorted((tmp_path / "out" / "units").iterdir())[0]
    wgs = gpd.read_parquet(part / "part-0.parquet")
    gcj = gpd.read_parquet(tmp_path / "gcj" / "units" / part.name / "part-0.parquet")
    lon, lat = wgs84_to_gcj02(wgs["lon"].to_numpy(), wgs["lat"].to_numpy())
    assert np.allclose(gcj["lon"], lon, atol=1e-9) and np.allclose(gcj["lat"], lat, atol=1e-9)
    assert np.allclose(gcj.geometry.x, lon, atol=1e-9) and (gcj["coord_crs"] == "gcj02").all()
    assert gcj.crs.to_epsg() != 4326  # the file does not pass GCJ-02 off as WGS84
    st_w = pd.read_csv(tmp_path / "out" / "stations.csv")
    st_g = pd.read_csv(tmp_path / "gcj" / "stations.csv")
    lon, lat = wgs84_to_gcj02(st_w["lon"].to_numpy(), st_w["lat"].to_numpy())
    assert np.allclose(st_g["lon"], lon, atol=1e-6) and (st_g["coord_crs"] == "gcj02").all()


def test_batch_of_every_town_adds_up_to_the_district_from_a_geotiff(cluster_env, tmp_path,
                                                                     capsys):
    # the batch loads its people as coverage does (here a GeoTIFF, which the batch could
    # not read before) and takes the same moment: its towns add up to coverage's towns
    tif = str(shared("district/population-100m.tif"))
    common = ["--network", str(shared(DISTRICT)), "--stations",
              str(shared("district/stations-50.csv")), "--population", tif,
              "--drop-far-population", "--at", "Tu 02:00", "-q"]
    assert main(["coverage", *common, "--areas", str(shared("district/towns.geojson")),
                 "--out", str(tmp_path / "whole")]) == 0
    assert main(["batch", *common, "--areas", str(shared("district/towns.geojson")),
                 "--dask-workers", "2", "--out", str(tmp_path / "batch")]) == 0
    whole = pd.read_csv(tmp_path / "whole" / "areas.csv").set_index("name")
    towns = pd.read_csv(tmp_path / "batch" / "areas.csv").set_index("area")
    assert len(towns) == 27 and set(towns.index) == set(whole.index)
    for col in ("population", "covered", "cross_covered"):
        assert np.allclose(towns[col].sort_index(), whole[col].sort_index(), rtol=1e-9,
                           atol=0.5), col
    summary = pd.read_csv(tmp_path / "whole" / "summary.csv")
    assert summary["at"].iloc[0].endswith("02:00:00+08:00")  # the moment was taken
    assert towns["covered"].sum() == pytest.approx(summary["covered"].iloc[-1], abs=1.0)


def test_the_batch_cluster_serves_nothing_over_http():
    # the scheduler's HTTP server (Dask starts one, dashboard or not) answered /info and
    # /eventstream on 127.0.0.1:8787; now it has no routes, on loopback, on a free port
    import httpx

    from circle15.usecases.batch import local_cluster

    cluster = local_cluster(1)
    try:
        server = cluster.scheduler.http_server
        assert server.address == "127.0.0.1"
        for path in ("/info", "/eventstream", "/json/identity.json", "/health", "/metrics",
                     "/status"):
            assert httpx.get(f"http://127.0.0.1:{server.port}{path}").status_code == 404, path
    finally:
        cluster.close()
