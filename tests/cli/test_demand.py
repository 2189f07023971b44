"""The command line with --demand: workers estimated or read, a mix, the layers side by
side, station load in stations.csv, and siting for workers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circle15.cli import main
from circle15.geo.crs import wgs84_to_gcj02
from tests.conftest import shared
from tests.helpers import points_near_streets

LONGGANG = "osm/shenzhen-longgang.osm"


@pytest.fixture
def inputs(tmp_path, longgang, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    rng = np.random.default_rng(11)
    st = points_near_streets(longgang, 8, rng, spread_m=5)
    pd.DataFrame({"id": [f"S{i}" for i in range(8)], "name": [f"站{i}" for i in range(8)],
                  "lon": st[:, 0], "lat": st[:, 1]}).to_csv(tmp_path / "st.csv", index=False)
    pp = points_near_streets(longgang, 500, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1],
                  "pop": rng.integers(1, 100, 500)}).to_csv(tmp_path / "pop.csv", index=False)
    return tmp_path


def _common(inputs) -> list[str]:
    return ["--network", str(shared(LONGGANG)), "--stations", str(inputs / "st.csv"),
            "--population", str(inputs / "pop.csv")]  # not -q: what a planner reads


def test_coverage_for_estimated_workers(inputs, capsys):
    out = inputs / "out"
    assert main(["coverage", *_common(inputs), "--demand", "workers", "--workers-total",
                 "4000", "--worker-weights", "mall=10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # the source and the weights are printed with the result
    assert "workers estimated from the OSM places of" in printed and "mall 1×10" in printed
    assert "worker weights: parcel_locker=0.5" in printed and "mall=10" in printed
    summary = pd.read_csv(out / "summary.csv")
    assert summary["population"].iloc[-1] == pytest.approx(4000)
    assert (summary["demand"] == "workers").all()
    assert summary["workers_source"].str.contains("--workers-total").all()
    assert summary["worker_weights"].str.contains("mall=10").all()
    # residents and workers side by side, each its own coverage
    both = pd.read_csv(out / "demand.csv")
    assert both["workers"].iloc[-1] == pytest.approx(4000)
    assert both["residents"].iloc[-1] == pytest.approx(pd.read_csv(inputs / "pop.csv")["pop"]
                                                       .sum())
    np.testing.assert_allclose(both["workers_covered"], summary["covered"], atol=0.1)
    classes = pd.read_csv(out / "workers-sources.csv")
    assert classes["workers"].sum() == pytest.approx(4000, abs=1)
    # station load: each layer's nearest loads add up to its covered people
    stations = pd.read_csv(out / "stations.csv")
    assert len(stations) == 8
    for layer in ("residents", "workers"):
        assert stations[f"{layer}_nearest"].sum() == pytest.approx(
            both[f"{layer}_covered"].iloc[-1], abs=0.1 * len(stations))
    assert not stations["overloaded"].any()


def test_mix_with_a_gcj02_worker_table_per_area_and_max_load(inputs, longgang, capsys):
    rng = np.random.default_rng(16)
    ll = points_near_streets(longgang, 60, rng, spread_m=10)
    g_lon, g_lat = wgs84_to_gcj02(ll[:, 0], ll[:, 1])
    pd.DataFrame({"lng": g_lon, "lat": g_lat, "riders": rng.integers(1, 40, 60)}).to_csv(
        inputs / "riders.csv", index=False)
    west, south, east, north = longgang.bounds_lonlat or (114.18, 22.67, 114.24, 22.71)
    mid = (west + east) / 2
    gpd.GeoDataFrame({"name": ["西区", "东区"]},
                     geometry=[shapely.box(west - 0.01, south - 0.01, mid, north + 0.01),
                               shapely.box(mid, south - 0.01, east + 0.01, north + 0.01)],
                     crs=4326).to_file(inputs / "areas.geojson")
    out = inputs / "mix"
    assert main(["coverage", *_common(inputs), "--demand", "mix", "--mix",
                 "residents=1,workers=3", "--workers", str(inputs / "riders.csv"),
                 "--workers-crs", "gcj02", "--areas", str(inputs / "areas.geojson"),
                 "--max-load", "3000", "--out-crs", "gcj02", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "workers from" in printed and "riders.csv" in printed
    both = pd.read_csv(out / "demand.csv")
    res, wk = both["residents_covered_share"], both["workers_covered_share"]
    # the mix's covered share is the weighted mean of the layers' (weights 1:3)
    np.testing.assert_allclose(both["mix_covered_share"], 0.25 * res + 0.75 * wk, atol=2e-4)
    assert both["mix"].iloc[-1] == pytest.approx(both["residents"].iloc[-1], abs=0.1)
    per_area = pd.read_csv(out / "areas-demand.csv")
    assert per_area["name"].tolist() == ["西区", "东区"]
    assert per_area["workers"].sum() == pytest.approx(both["workers"].iloc[-1], abs=0.2)
    assert {"residents_covered", "workers_covered", "mix_covered"} <= set(per_area.columns)
    stations = pd.read_csv(out / "stations.csv")
    assert stations["overloaded"].tolist() == (stations["load"] > 3000).tolist()
    # --out-crs reaches the station table: GCJ-02 positions of the stations given in WGS84
    given = pd.read_csv(inputs / "st.csv")
    g_lon, g_lat = wgs84_to_gcj02(given["lon"].to_numpy(), given["lat"].to_numpy())
    np.testing.assert_allclose(stations["lon"], g_lon, atol=1e-6)
    np.testing.assert_allclose(stations["lat"], g_lat, atol=1e-6)
    np.testing.assert_allclose(stations["load"], stations["residents_nearest"]
                               + stations["workers_nearest"], atol=0.2)


def test_site_and_gaps_for_workers(inputs, capsys):
    common = [*_common(inputs), "--demand", "workers", "--workers-total", "2000"]
    assert main(["site", *common, "--k", "2", "--candidates", "nodes", "--node-spacing-m",
                 "300", "--method", "greedy", "--out", str(inputs / "site")]) == 0
    summary = pd.read_csv(inputs / "site" / "sites-summary.csv")
    assert (summary["demand"] == "workers").all()
    # what the sites do for residents and workers, side by side
    layers = pd.read_csv(inputs / "site" / "sites-demand.csv").set_index("layer")
    assert list(layers.index) == ["residents", "workers"]
    greedy = summary.set_index("method").loc["greedy"]
    assert layers.loc["workers", "covered_after"] == pytest.approx(greedy["covered_after"],
                                                                   abs=0.1)
    assert layers.loc["workers", "covered_before"] == pytest.approx(greedy["covered_before"],
                                                                    abs=0.1)
    assert (layers["covered_after"] >= layers["covered_before"]).all()
    printed = capsys.readouterr().out
    assert "of 2,000" in printed and "workers estimated from the OSM places" in printed
    assert main(["gaps", *common, "--out", str(inputs / "gaps")]) == 0
    gaps = pd.read_csv(inputs / "gaps" / "gaps.csv")
    assert gaps["population"].sum() <= 2000 + 1e-6


def test_bad_worker_table_exits_2_and_writes_nothing(inputs, capsys):
    pd.DataFrame({"lon": [114.21], "lat": [22.69], "orders": [3]}).to_csv(
        inputs / "bad.csv", index=False)
    out = inputs / "bad-out"
    code = main(["coverage", *_common(inputs), "--demand", "workers", "--workers",
                 str(inputs / "bad.csv"), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "no workers count column" in err
    assert not out.exists() or not any(out.iterdir())
    code = main(["coverage", *_common(inputs), "--demand", "mix", "--mix", "residents=0",
                 "--out", str(out)])
    assert code == 2 and "--mix weights must not all be 0" in capsys.readouterr().err


def test_planner_map_shows_each_stations_load(inputs, capsys):
    from circle15.geo.coverage.load import station_load
    from circle15.usecases import AreaSpec, cover, load_area
    from circle15.usecases.area import read_station_file
    from circle15.usecases.demand import DemandSpec, cover_layers, load_demand

    page = inputs / "map.html"
    assert main(["map", *_common(inputs), "--demand", "workers", "--workers-total", "3000",
                 "--max-load", "1500", "--basemap", "blank", "--out", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "户外劳动者 · 以本站为最近" in html and "负荷（人）" in html
    # the same loads computed through the library: as many stations flagged as carry more
    area = load_area(AreaSpec(network=str(shared(LONGGANG)),
                              population=str(inputs / "pop.csv")))
    demand = load_demand(area, DemandSpec(demand="workers", workers_total=3000.0))
    area = demand.area_for(area)
    cov = cover(area, read_station_file(area, inputs / "st.csv"))
    load = station_load(cover_layers(area, cov, demand), max_load=1500.0)
    assert 0 < load["overloaded"].sum() < len(load)
    assert html.count("⚠ 是") == load["overloaded"].sum()
    for value in load["load"]:
        assert f'"{value:,.0f} (' in html
