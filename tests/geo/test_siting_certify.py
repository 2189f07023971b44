"""Certified siting: the reduced model keeps the optimum, the bounds hold, runs repeat.

Small synthetic instances (random coverage matrices with duplicated and nested
candidates planted in them) are solved by brute force over every candidate,
unreduced, and compared with the reduced model and the certified solver.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from circle15.geo.coverage.count import CoverageSettings, compute_coverage
from circle15.geo.siting import SitingProblem, build_problem, solve
from circle15.geo.siting.candidates import candidates_from_nodes
from circle15.geo.siting.certify import Limits, certify
from circle15.geo.siting.lagrange import column_bounds, lagrangian_bound
from circle15.geo.siting.problem import objective_of
from circle15.geo.siting.reduce import reduce
from tests.helpers import make_population, make_stations, points_near_streets


class _Sites:
    """Stands in for the candidate table: the models only count candidates."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def _instance(seed: int, n_units: int = 60, n_cand: int = 10) -> SitingProblem:
    rng = np.random.default_rng(seed)
    dense = rng.random((n_units, n_cand)) < 0.25
    dense[:, 1] = dense[:, 0]                       # an identical pair
    dense[:, 3] = dense[:, 2] & (rng.random(n_units) < 0.5)   # 3 nested in 2
    dense[:, 5] = dense[:, 4] | dense[:, 3]           # 3 and 4 nested in 5
    base = rng.choice([0, 0, 0, 1, 1, 2], size=n_units)
    weight = rng.integers(0, 40, n_units).astype(float)
    matrix = sp.csr_matrix(dense.astype(float))
    return SitingProblem(None, _Sites(n_cand), base.astype(np.int64),  # type: ignore[arg-type]
                         matrix, weight)


def _brute(problem: SitingProblem, k: int, objective: str, fw: float) -> float:
    best = 0.0
    for combo in itertools.combinations(range(problem.n_candidates), k):
        counts = problem.counts_with(np.asarray(combo, dtype=np.int64))
        best = max(best, objective_of(problem, counts, objective, fw))
    return best


def _brute_reduced(red, k: int) -> float:
    best = 0.0
    for combo in itertools.combinations(range(red.n_cols), min(k, red.n_cols)):
        best = max(best, red.value(np.asarray(combo, dtype=np.int64)))
    return best


CASES = [("coverage", 0.0), ("cross", 0.0), ("cross", 0.3)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("objective", "fw"), CASES)
def test_reduction_keeps_the_optimum(seed, objective, fw):
    problem = _instance(seed)
    red = reduce(problem, objective, fw)
    assert red.n_cols < problem.n_candidates       # the planted duplicates/nesting go
    assert red.n_rows <= problem.matrix.shape[0]
    for k in (1, 2, 3, 4):
        truth = _brute(problem, k, objective, fw)
        assert _brute_reduced(red, k) == pytest.approx(truth)
        # a reduced selection is worth exactly its original objective
        chosen = np.arange(min(k, red.n_cols))
        counts = problem.counts_with(red.columns[chosen])
        assert red.value(chosen) == pytest.approx(objective_of(problem, counts, objective, fw))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("objective", "fw"), CASES)
def test_bounds_hold_for_any_multipliers(seed, objective, fw):
    problem = _instance(seed, n_units=40, n_cand=8)
    red = reduce(problem, objective, fw)
    rng = np.random.default_rng(seed)
    k = 3
    for _ in range(5):
        lam = rng.random(red.n_rows) * red.weight
        total, _ = lagrangian_bound(red, lam, k)
        per_col = column_bounds(red, lam, k)
        for combo in itertools.combinations(range(red.n_cols), min(k, red.n_cols)):
            chosen = np.asarray(combo, dtype=np.int64)
            value = red.value(chosen)
            assert value <= total + 1e-6
            assert (value <= per_col[chosen] + 1e-6).all()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("objective", "fw"), CASES)
def test_certified_answer_is_optimal_on_small_instances(seed, objective, fw):
    problem = _instance(seed, n_units=80, n_cand=12)
    for k in (2, 3):
        res = solve(problem, k=k, objective=objective, first_weight=fw)
        truth = _brute(problem, k, objective, fw)
        assert res.objective_value == pytest.approx(truth)
        assert res.bound is not None and res.bound >= truth - 1e-6
        assert res.status == "optimal" and res.gap == pytest.approx(0.0, abs=1e-9)


def test_bound_survives_tight_work_limits():
    """With no branch and bound at all the answer is still valid and bounded."""
    problem = _instance(11, n_units=120, n_cand=14)
    red = reduce(problem, "cross", 0.0)
    start = np.arange(min(3, red.n_cols), dtype=np.int64)
    got = certify(red, 3, start, Limits(lp_iterations=1, mip_columns=0))
    truth = _brute(problem, 3, "cross", 0.0)
    assert got.value <= truth + 1e-6 <= got.bound + 2e-6
    assert got.gap == pytest.approx((got.bound - got.value) / got.value)
    assert got.status in ("optimal", "gap-limited", "limit")


@pytest.fixture(scope="module")
def town(liechtenstein):
    rng = np.random.default_rng(21)
    stations = make_stations(liechtenstein, points_near_streets(liechtenstein, 12, rng))
    people = make_population(
        liechtenstein, points_near_streets(liechtenstein, 4000, rng, spread_m=40), rng)
    cov = compute_coverage(liechtenstein, stations, people, settings=CoverageSettings.of(10))
    return cov, candidates_from_nodes(liechtenstein, spacing_m=250)


@pytest.mark.parametrize("objective", ["coverage", "cross"])
def test_repeated_runs_give_the_same_answer(town, objective):
    cov, cands = town
    runs = []
    for _ in range(2):
        problem = build_problem(cov, cands)   # fresh: nothing reused between runs
        runs.append(solve(problem, k=8, objective=objective))
    a, b = runs
    assert a.chosen.tolist() == b.chosen.tolist()
    assert a.objective_value == b.objective_value and a.bound == b.bound
    assert a.status == b.status and a.status in ("optimal", "gap-limited", "limit")
    assert a.bound is not None and a.bound >= a.objective_value - 1e-6
    assert a.gap == pytest.approx(max(0.0, a.bound - a.objective_value) / a.objective_value)
    assert "model reduced from" in " ".join(a.notes)
