"""Siting: exact models equal brute force and spopt; promises hold on re-run."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.errors import SettingsError
from circle15.geo.inputs.stations import Stations
from circle15.geo.siting import SitingError, build_problem, coverage_curve, solve, solve_target
from circle15.geo.siting.candidates import (
    Candidates,
    candidates_from_nodes,
    candidates_from_osm_shops,
)
from tests.conftest import shared
from tests.helpers import make_population, make_stations, points_near_streets

SETTINGS = CoverageSettings.of(10)  # 667 m: leaves gaps for new sites to fill


def _scenario(net, n_stations, n_people, seed):
    rng = np.random.default_rng(seed)
    stations = make_stations(net, points_near_streets(net, n_stations, rng))
    people = make_population(net, points_near_streets(net, n_people, rng, spread_m=40), rng)
    return compute_coverage(net, stations, people, settings=SETTINGS)


def _as_candidates(net, ll, kind="list") -> Candidates:
    st = make_stations(net, ll)
    frame = st.frame[["id", "name", "lon", "lat", "geometry"]].copy()
    frame["id"] = [f"C{i + 1}" for i in range(len(frame))]
    frame["kind"] = kind
    return Candidates(gpd.GeoDataFrame(frame, geometry="geometry", crs=net.crs), st.snapped)


@pytest.fixture(scope="module")
def small(longgang):
    cov = _scenario(longgang, 3, 400, seed=1)
    cands = _as_candidates(longgang, points_near_streets(longgang, 12,
                                                         np.random.default_rng(9)))
    return build_problem(cov, cands)


def _brute(problem, k, objective, first_weight=0.0):
    w, c0 = problem.weight, problem.base_count
    best = -1.0
    for combo in itertools.combinations(range(problem.n_candidates), k):
        c = problem.counts_with(np.asarray(combo))
        new_cov = w[(c >= 1) & (c0 == 0)].sum()
        val = new_cov if objective == "coverage" else (
            w[(c >= 2) & (c0 < 2)].sum() + first_weight * new_cov)
        best = max(best, float(val))
    return best


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize(("objective", "fw"), [("coverage", 0.0), ("cross", 0.0),
                                               ("cross", 0.5)])
def test_exact_equals_brute_force(small, k, objective, fw):
    res = solve(small, k=k, objective=objective, method="exact", first_weight=fw)
    assert res.status == "optimal"
    assert res.objective_value == pytest.approx(_brute(small, k, objective, fw))
    greedy = solve(small, k=k, objective=objective, method="greedy", first_weight=fw)
    assert greedy.objective_value <= res.objective_value + 1e-6
    # the ranked marginal gains add up to the objective
    assert res.marginal_gain.sum() == pytest.approx(res.objective_value)
    if objective == "coverage":  # coverage is submodular: gains shrink down the ranking
        assert (np.diff(res.marginal_gain) <= 1e-9).all()


def test_target_is_the_fewest_sites(small):
    coverable = small.coverable()
    w, c0 = small.weight, small.base_count
    now = w[c0 >= 1].sum()
    target = (now + 0.8 * (coverable - now)) / coverable
    res = solve_target(small, target=target)
    assert res.covered_after >= target * coverable - 1e-6
    # no smaller set reaches it
    for k in range(res.k):
        for combo in itertools.combinations(range(small.n_candidates), k):
            c = small.counts_with(np.asarray(combo, dtype=np.int64))
            assert w[c >= 1].sum() < target * coverable - 1e-6
    greedy = solve_target(small, target=target, method="greedy")
    assert greedy.k >= res.k and greedy.covered_after >= target * coverable - 1e-6


def test_chosen_sites_cover_what_was_promised(longgang):
    cov = _scenario(longgang, 5, 3000, seed=4)
    cands = candidates_from_nodes(longgang, spacing_m=400)
    problem = build_problem(cov, cands)
    for objective in ("coverage", "cross"):
        res = solve(problem, k=6, objective=objective)
        assert res.status == "optimal"
        chosen = cands.select(np.isin(np.arange(len(cands)), res.chosen))
        added = pd.concat([cov.stations.frame, chosen.frame.assign(status="existing")],
                          ignore_index=True)
        from circle15.geo.snapping.snap import Snapped

        both = Stations(gpd.GeoDataFrame(added, geometry="geometry", crs=longgang.crs),
                        Snapped.concat([cov.stations.snapped, chosen.snapped]))
        rerun = compute_coverage(longgang, both, cov.population, settings=SETTINGS)
        s = rerun.summary().iloc[-1]
        assert s["covered"] == pytest.approx(res.covered_after)
        assert s["cross_covered"] == pytest.approx(res.cross_after)


def test_exact_mclp_matches_spopt(liechtenstein):
    import pulp
    from spopt.locate import MCLP

    cov = _scenario(liechtenstein, 30, 2000, seed=6)
    cands = candidates_from_nodes(liechtenstein, spacing_m=800)
    problem = build_problem(cov, cands)
    res = solve(problem, k=5, objective="coverage")
    # spopt on the same coverage matrix: people not yet covered × candidates
    open_units = np.flatnonzero(problem.base_count == 0)
    dist = np.full((open_units.size, len(cands)), 1e9)
    sub = problem.matrix[open_units].tocoo()
    dist[sub.row, sub.col] = 1.0
    model = MCLP.from_cost_matrix(dist, problem.weight[open_units], service_radius=2.0,
                                  p_facilities=5)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_obj = pulp.value(model.problem.objective)
    assert res.objective_value == pytest.approx(spopt_obj)
    greedy = solve(problem, k=5, objective="coverage", method="greedy")
    assert greedy.objective_value <= res.objective_value + 1e-6


def test_curve_is_monotone_and_starts_from_today(small):
    curve = coverage_curve(small, k_max=5)
    assert curve["k"].tolist() == [0, 1, 2, 3, 4, 5]
    assert (np.diff(curve["covered"]) >= -1e-9).all()
    assert curve["covered"].iloc[0] == pytest.approx(small.weight[small.base_count >= 1].sum())
    exact = coverage_curve(small, k_max=3, method="exact")
    assert (exact["covered"].to_numpy() >= curve["covered"].to_numpy()[:4] - 1e-6).all()


def test_osm_shops_become_candidates(liechtenstein):
    from circle15.geo.siting.candidates import read_osm_shops

    path = shared("osm/liechtenstein.osm.pbf")
    shops = read_osm_shops(path)
    cands = candidates_from_osm_shops(liechtenstein, path, max_snap_m=30)
    # street-front: within 30 m of a walkable street, and only those
    assert 0 < len(cands) <= len(shops)
    assert (cands.frame["off_network_m"] <= 30).all()
    assert cands.frame["kind"].eq("shop").all()
    assert cands.frame["name"].str.contains(r"shop=|amenity=").all()


def test_bad_requests(small):
    with pytest.raises(SettingsError, match="k = 13 is more than the 12 candidate"):
        solve(small, k=13)
    with pytest.raises(SettingsError, match="at least 1"):
        solve(small, k=0)
    with pytest.raises(SitingError, match=r"above what is coverable: .* reach"):
        solve_target(small, target=1.2)
    with pytest.raises(SettingsError, match="objective"):
        solve(small, k=2, objective="nearest")  # type: ignore[arg-type]


def test_timed_out_solve_returns_best_found_with_gap(liechtenstein):
    cov = _scenario(liechtenstein, 10, 6000, seed=8)
    problem = build_problem(cov, candidates_from_nodes(liechtenstein, spacing_m=150))
    res = solve(problem, k=15, objective="cross", time_limit_s=0.5)
    greedy = solve(problem, k=15, objective="cross", method="greedy")
    # the exact solver starts from greedy: at the limit it is never worse, and
    # it still proves a bound on the optimum (a Lagrangian one at least)
    assert res.status in ("optimal", "gap-limited", "limit")
    assert res.objective_value >= greedy.objective_value - 1e-6
    assert res.k >= 1
    assert res.bound is not None and res.bound >= res.objective_value - 1e-6
    assert res.gap == pytest.approx((res.bound - res.objective_value) / res.objective_value)
