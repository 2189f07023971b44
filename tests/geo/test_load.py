"""Station load on a real street network: nearest-station loads add up to the covered
people of each layer, reach counts add up to the cross-counted people, and --max-load
flags exactly the stations above it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.coverage.load import format_load, station_load, station_load_records
from circle15.geo.errors import SettingsError
from circle15.geo.population.sources import Estimate
from circle15.geo.population.workers import estimate_workers, read_worker_places
from tests.conftest import shared
from tests.helpers import make_population, make_stations, points_near_streets


@pytest.fixture(scope="module")
def layers(longgang):
    rng = np.random.default_rng(41)
    stations = make_stations(longgang, points_near_streets(longgang, 9, rng, spread_m=5))
    residents = make_population(longgang, points_near_streets(longgang, 800, rng,
                                                              spread_m=40), rng)
    est, _ = estimate_workers(read_worker_places(shared("osm/shenzhen-longgang.osm")),
                              longgang, total=3000.0)
    workers = est.place(longgang)
    settings = CoverageSettings.of(15)
    return {name: compute_coverage(longgang, stations, pop, settings=settings)
            for name, pop in (("residents", residents), ("workers", workers))}


def test_nearest_loads_sum_to_the_covered_total(layers):
    table = station_load(layers)
    for name, cov in layers.items():
        covered = cov.summary()["covered"].iloc[-1]
        assert table[f"{name}_nearest"].sum() == pytest.approx(covered)
        assert table[f"{name}_nearest_share"].sum() == pytest.approx(
            covered / cov.population.total)
        # reached counts a person once per station within the limit
        counted = (cov.population.count * cov.unit_count[-1]).sum()
        assert table[f"{name}_reached"].sum() == pytest.approx(counted)
        assert (table[f"{name}_reached"] >= table[f"{name}_nearest"] - 1e-9).all()
        # the catchment at any distance holds everyone a station can reach at all
        reachable = cov.population.count[np.isfinite(cov.unit_time_min)].sum()
        assert table[f"{name}_assigned"].sum() == pytest.approx(reachable)
        assert (table[f"{name}_assigned"] >= table[f"{name}_nearest"] - 1e-9).all()
    np.testing.assert_allclose(table["load"],
                               table["residents_nearest"] + table["workers_nearest"])
    total = sum(c.population.total for c in layers.values())
    np.testing.assert_allclose(table["load_share"], table["load"] / total)
    assert sorted(table["load_rank"]) == list(range(1, len(table) + 1))
    assert table.loc[table["load_rank"] == 1, "load"].iloc[0] == table["load"].max()


def test_a_station_carries_whom_it_serves_first(layers):
    """One station's nearest load is the people whose nearest station it is (read from
    the coverage's per-unit answer), independently of the bincount."""
    cov = layers["residents"]
    units = cov.units_frame()
    table = station_load({"residents": cov})
    for sid in table["id"]:
        mine = units[(units["nearest_station"] == sid) & units["covered"]]
        assert table.loc[table["id"] == sid, "residents_nearest"].iloc[0] == pytest.approx(
            mine["population"].sum())


def test_max_load_flags_exactly_the_stations_above_it(layers):
    loads = station_load(layers)["load"].to_numpy()
    limit = float(np.median(loads))
    table = station_load(layers, max_load=limit)
    assert table["overloaded"].tolist() == (loads > limit).tolist()
    assert 0 < table["overloaded"].sum() < len(table)
    text = format_load(table, max_load=limit)
    assert f"{int(table['overloaded'].sum())} of {len(table)} stations carry more than" in text
    assert "OVER" in text
    assert not station_load(layers)["overloaded"].any()
    with pytest.raises(SettingsError, match="max_load must be"):
        station_load(layers, max_load=-1)


def test_records_for_the_map_are_plain_json(layers):
    table = station_load(layers, max_load=100.0)
    records = station_load_records(table)
    assert len(records) == len(table)
    back = json.loads(json.dumps(records))
    first = back[0]
    assert {"id", "lon", "lat", "residents_nearest", "workers_nearest", "workers_reached",
            "load", "load_share", "overloaded"} <= set(first)
    assert isinstance(first["overloaded"], bool)
    assert sum(r["load"] for r in back) == pytest.approx(table["load"].sum(), abs=0.1 * len(back))


def test_a_mix_alone_carries_its_own_load(layers, longgang):
    """With one weighted layer only, the load is that layer's nearest count."""
    cov = layers["workers"]
    pop = cov.population
    est = Estimate(pop.frame["lon"].to_numpy(), pop.frame["lat"].to_numpy(),
                   pop.count * 2.0, pop.frame["unit"].tolist(), "x", "doubled")
    doubled = compute_coverage(longgang, cov.stations, est.place(longgang),
                               settings=cov.settings)
    table = station_load({"mix": doubled})
    np.testing.assert_allclose(table["load"], table["mix_nearest"])
    np.testing.assert_allclose(table["mix_nearest"],
                               2.0 * station_load({"workers": cov})["workers_nearest"])
