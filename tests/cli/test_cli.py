"""The command line: coverage files, the printed table, the demo, and no partial output."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from circle15.cli import main
from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.inputs.demo import demo_osm_path
from circle15.geo.inputs.stations import read_stations
from circle15.geo.population.points import read_population
from tests.conftest import shared
from tests.helpers import points_near_streets


@pytest.fixture
def inputs(tmp_path, longgang):
    rng = np.random.default_rng(11)
    st = points_near_streets(longgang, 8, rng, spread_m=5)
    pd.DataFrame({"id": [f"S{i}" for i in range(8)], "name": [f"站{i}" for i in range(8)],
                  "lon": st[:, 0], "lat": st[:, 1]}).to_csv(tmp_path / "st.csv", index=False)
    pp = points_near_streets(longgang, 600, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1],
                  "pop": rng.integers(1, 100, 600)}).to_csv(tmp_path / "pop.csv", index=False)
    return tmp_path


def test_coverage_command_writes_results(inputs, longgang, capsys, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    out = inputs / "out"
    code = main(["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--stations", str(inputs / "st.csv"), "--population", str(inputs / "pop.csv"),
                 "--minutes", "10", "--out", str(out), "-q"])
    assert code == 0
    summary = pd.read_csv(out / "summary.csv")
    # the files hold what the library computes for the same inputs
    st = read_stations(inputs / "st.csv", longgang)
    pop = read_population(inputs / "pop.csv", longgang)
    cov = compute_coverage(longgang, st, pop, settings=CoverageSettings.of(10))
    expected = cov.summary()
    assert summary["minutes"].tolist() == [5.0, 10.0]
    np.testing.assert_allclose(summary["covered"], expected["covered"])
    np.testing.assert_allclose(summary["cross_covered"], expected["cross_covered"])
    units = gpd.read_file(out / "coverage.gpkg", layer="population")
    assert len(units) == 600 and units.crs.to_epsg() == 4326
    assert units["covered"].sum() == (cov.unit_count[-1] >= 1).sum()
    stations = gpd.read_file(out / "coverage.gpkg", layer="stations")
    assert stations["population_nearest"].sum() == pytest.approx(expected["covered"].iloc[-1])
    printed = capsys.readouterr().out
    assert "within 10 min" in printed and f"{expected['covered'].iloc[-1]:,.0f}" in printed


def test_bad_input_exits_2_and_writes_nothing(inputs, capsys, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    frame = pd.read_csv(inputs / "pop.csv")
    frame.loc[7, "pop"] = -5
    frame.to_csv(inputs / "pop.csv", index=False)
    out = inputs / "out"
    code = main(["coverage", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--stations", str(inputs / "st.csv"), "--population", str(inputs / "pop.csv"),
                 "--out", str(out), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "pop.csv: row 8" in err and "negative" in err
    assert not out.exists() or not any(out.iterdir())


def test_demo_runs_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["demo", "--out", str(tmp_path / "demo"), "-q"]) == 0
    summary = pd.read_csv(tmp_path / "demo" / "summary.csv")
    assert summary["population"].iloc[-1] == pytest.approx(60_000)
    # the demo shows something to improve: people beyond 5 minutes, and short of cross coverage
    assert 0 < summary["covered"].iloc[0] < 60_000
    assert 0 < summary["cross_covered"].iloc[-1] < summary["covered"].iloc[-1]
    areas = pd.read_csv(tmp_path / "demo" / "areas.csv")
    assert areas["population"].sum() == pytest.approx(60_000)
    stations = pd.read_csv(tmp_path / "demo" / "inputs" / "example-stations.csv")
    assert stations["address"].str.contains("not a real station").all()
    out = capsys.readouterr().out
    # -q: the result table only (the per-area table and the counting rule are in the files)
    assert out.startswith("Coverage by") and "Example district" not in out
    assert "do not join edges of these kinds" not in out and "Station load" not in out
    assert "do not join edges of these kinds" in summary["counting_rule"].iloc[0]
    # people are estimated from buildings: no unused synthetic population file is left
    assert not (tmp_path / "demo" / "inputs" / "synthetic-population.csv").exists()
    # nobody joins the network in a tunnel or underground (read from the extract itself)
    people = gpd.read_file(tmp_path / "demo" / "coverage.gpkg", layer="population")
    assert set(people["snap_way"]).isdisjoint(_underground_ways(demo_osm_path()))


def _underground_ways(path) -> set[int]:
    """Ids of the extract's tunnels and below-ground ways, read directly with pyosmium."""
    import osmium

    ways = set()
    for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
        tags = dict(way.tags)
        layer = tags.get("layer", "0").split(";")[0]
        try:
            below = float(layer) < 0
        except ValueError:
            below = False
        tunnel = tags.get("tunnel", "no") not in ("no", "building_passage")
        if "highway" in tags and (tunnel or (below and tags.get("tunnel") != "building_passage")):
            ways.add(way.id)
    assert len(ways) > 10  # the Helsinki extract has underground service tunnels
    return ways


def test_gaps_and_site_commands(tmp_path, liechtenstein, capsys, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    rng = np.random.default_rng(12)
    st = points_near_streets(liechtenstein, 15, rng, spread_m=5)
    pd.DataFrame({"id": [f"S{i}" for i in range(15)], "name": "x",
                  "lon": st[:, 0], "lat": st[:, 1]}).to_csv(tmp_path / "st.csv", index=False)
    pp = points_near_streets(liechtenstein, 3000, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1],
                  "population": rng.integers(1, 50, 3000)}).to_csv(tmp_path / "pop.csv",
                                                                    index=False)
    common = ["--network", str(shared("osm/liechtenstein.osm.pbf")),
              "--stations", str(tmp_path / "st.csv"), "--population", str(tmp_path / "pop.csv"),
              "-q"]
    assert main(["gaps", *common, "--out", str(tmp_path / "gaps"), "--top", "3"]) == 0
    gaps = pd.read_csv(tmp_path / "gaps" / "gaps.csv")
    assert gaps["rank"].iloc[0] == 1 and (np.diff(gaps["population"]) <= 0).all()
    assert gpd.read_file(tmp_path / "gaps" / "gaps.gpkg", layer="gaps").shape[0] == len(gaps)
    printed = capsys.readouterr().out
    assert "gap areas" in printed and "nearest_station" in printed

    assert main(["site", *common, "--out", str(tmp_path / "site"), "--k", "4",
                 "--candidates", "shops", "--candidates", "nodes", "--node-spacing-m", "500",
                 "--exclude-ids", "node-0"]) == 0
    sites = pd.read_csv(tmp_path / "site" / "sites.csv")
    results = pd.read_csv(tmp_path / "site" / "sites-summary.csv")
    curve = pd.read_csv(tmp_path / "site" / "curve.csv")
    assert sites["rank"].tolist() == [1, 2, 3, 4]
    assert results["method"].tolist() == ["exact", "greedy"]
    exact, greedy = results["objective_value"]
    assert greedy <= exact + 1e-6
    assert sites["marginal_gain"].sum() == pytest.approx(exact, abs=1.0)
    assert curve["k"].iloc[-1] == 4 and (np.diff(curve["covered"]) >= 0).all()
    assert gpd.read_file(tmp_path / "site" / "sites.gpkg", layer="sites").crs.to_epsg() == 4326
    out = capsys.readouterr().out
    assert "exact: 4 sites" in out and "greedy: 4 sites" in out

    # k beyond the candidates: a clear message, exit 2, nothing written
    code = main(["site", *common, "--out", str(tmp_path / "bad"), "--k", "100000",
                 "--candidates", "nodes", "--node-spacing-m", "2000"])
    assert code == 2
    assert "more than the" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


def test_serve_says_a_bad_setting_in_one_line(monkeypatch, capsys):
    # an empty token used to start a service whose writes nobody could make, silently
    monkeypatch.setenv("CIRCLE15_PLANNER_TOKEN", " ")
    with pytest.raises(SystemExit) as exit_:
        main(["serve"])
    assert str(exit_.value) == ("circle15 serve: CIRCLE15_PLANNER_TOKEN: set but empty: unset "
                                "it to disable writes, or set a long random token")
    monkeypatch.setenv("CIRCLE15_PLANNER_TOKEN", "x" * 20)
    monkeypatch.setenv("CIRCLE15_MINUTES", "fifteen")
    with pytest.raises(SystemExit, match="CIRCLE15_MINUTES: Input should be a valid number"):
        main(["serve"])


def test_users_add_prints_the_token_last_and_stores_only_its_hash(tmp_path, capsys):
    from circle15.api.guards.users import find

    users = tmp_path / "users.json"
    assert main(["users", "add", "li.ming", "--role", "planner", "--file", str(users)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(token) >= 40 and token not in users.read_text()
    user = find(users, token)
    assert user is not None and (user.name, user.role) == ("li.ming", "planner")
    assert find(users, token + "x") is None
    assert main(["users", "add", "li.ming", "--role", "admin", "--file", str(users)]) == 2
