"""A placed population layer is read back from the cache exactly as placed, and only
for the same inputs: another file content or another setting places it afresh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from circle15.geo.coverage.count import compute_coverage
from circle15.geo.population.cache import cached_population
from circle15.usecases.area import AreaSpec, _place_population
from tests.conftest import shared
from tests.helpers import make_stations, points_near_streets


def _spec(tmp_path, rng, n=400) -> AreaSpec:
    return AreaSpec(network=str(shared("osm/shenzhen-longgang.osm")),
                    population=str(tmp_path / "pop.csv"), drop_far_population=True)


def test_cached_layer_is_the_placed_layer_and_keys_follow_the_inputs(longgang, tmp_path):
    rng = np.random.default_rng(3)
    xy = points_near_streets(longgang, 400, rng, spread_m=60)
    pd.DataFrame({"lon": xy[:, 0], "lat": xy[:, 1],
                  "population": rng.integers(1, 90, len(xy))}).to_csv(tmp_path / "pop.csv",
                                                                      index=False)
    spec = _spec(tmp_path, rng)
    calls = []

    def load(s: AreaSpec):
        def place():
            calls.append(s)
            return _place_population(s, longgang)
        inputs = {"population": s.population, "max_snap": s.population_max_snap_m}
        files = [tmp_path / "pop.csv"]
        return cached_population(longgang, inputs, files, place, folder=tmp_path / "cache")

    first, again = load(spec), load(spec)
    assert len(calls) == 1  # the second came from the cache
    pd.testing.assert_frame_equal(pd.DataFrame(first.frame), pd.DataFrame(again.frame))
    for f in dataclasses.fields(first.snapped):
        a, b = getattr(first.snapped, f.name), getattr(again.snapped, f.name)
        if f.name == "joins":
            assert (a is None) == (b is None)
            if a is not None:
                for g in dataclasses.fields(a):
                    np.testing.assert_array_equal(getattr(a, g.name), getattr(b, g.name))
                # the joins' ends come from the cache too, equal to computed ones
                for x, y in zip(a.ends(), b.ends(), strict=True):
                    np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_array_equal(a, b)
    assert (first.source, first.rule, first.dropped_units) == (again.source, again.rule,
                                                              again.dropped_units)
    # the answer a planner sees is the same from either
    stations = make_stations(longgang, points_near_streets(longgang, 4, rng))
    a = compute_coverage(longgang, stations, first).bands()[-1]
    b = compute_coverage(longgang, stations, again).bands()[-1]
    assert a == b
    # another limit, or the same file with other numbers: placed afresh
    load(dataclasses.replace(spec, population_max_snap_m=100.0))
    assert len(calls) == 2
    table = pd.read_csv(tmp_path / "pop.csv")
    table.loc[0, "population"] += 1
    table.to_csv(tmp_path / "pop.csv", index=False)
    changed = load(spec)
    assert len(calls) == 3 and changed.total == first.total + 1
