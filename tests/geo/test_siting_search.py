"""The LP bound in its dual form and the iterated local search, on small
synthetic siting problems solved by brute force (and the primal LP by HiGHS).

The instances are built so that sites pay in pairs: most people are reached
by no station yet (cross coverage needs two new sites), sites overlap in
clusters, as nearby candidate sites do in a city.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from circle15.geo.siting import SitingProblem
from circle15.geo.siting.certify import model
from circle15.geo.siting.dual import lp_dual
from circle15.geo.siting.greedy import greedy_swap
from circle15.geo.siting.milp import solve_milp
from circle15.geo.siting.reduce import Reduced, reduce
from circle15.geo.siting.search import improve


class Sites:
    """Stands in for the candidate table: the models only count candidates."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def clustered(seed: int, n_units: int = 150, n_cand: int = 16) -> SitingProblem:
    """Units and candidate sites on a line; a site reaches the units within a
    random radius of it, most units have no station yet."""
    rng = np.random.default_rng(seed)
    unit_at = np.sort(rng.random(n_units))
    site_at = np.sort(rng.random(n_cand))
    radius = rng.uniform(0.05, 0.15, n_cand)
    dense = np.abs(unit_at[:, None] - site_at[None, :]) <= radius[None, :]
    base = rng.choice([0, 0, 0, 0, 1, 2], size=n_units).astype(np.int64)
    weight = rng.integers(1, 50, n_units).astype(float)
    return SitingProblem(None, Sites(n_cand), base,  # type: ignore[arg-type]
                         sp.csr_matrix(dense.astype(float)), weight)


def best_of(red: Reduced, k: int) -> float:
    return max(red.value(np.asarray(c, dtype=np.int64))
               for c in itertools.combinations(range(red.n_cols), min(k, red.n_cols)))


def primal_lp(red: Reduced, k: int) -> float:
    rows = red.rows.tocsr()
    c, A, upper = model(rows, red.weight, red.need, k)
    out = solve_milp(c, np.zeros(c.size, dtype=bool), A, np.full(upper.size, -np.inf), upper,
                     time_limit_s=30.0)
    assert out.bound is not None
    return -out.bound


CASES = [("coverage", 0.0), ("cross", 0.0), ("cross", 0.3)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("objective", "fw"), CASES)
def test_dual_form_gives_the_lp_bound(seed, objective, fw):
    red = reduce(clustered(seed), objective, fw)
    for k in (2, 4):
        lp = lp_dual(red, k, iterations=100_000, time_limit_s=30.0)
        assert lp.solved and lp.cuts == 0
        assert lp.bound == pytest.approx(primal_lp(red, k), rel=1e-7)
        assert lp.bound >= best_of(red, k) - 1e-6
        # the sites' LP values are a solution of the primal LP worth the bound
        x = lp.x
        assert x.sum() <= k + 1e-6 and ((x >= 0) & (x <= 1)).all()
        y = np.minimum(1.0, (red.rows @ x) / red.need)
        assert float(red.weight @ y) == pytest.approx(lp.bound, rel=1e-6)
        assert lp.scores.shape == (red.n_cols,)


def test_cuts_tighten_the_bound_and_keep_it_valid():
    """Cuts for rows that need two sites: never above the LP, never below the
    optimum, and strictly tighter on some of these instances."""
    tighter = 0
    for seed in range(6):
        red = reduce(clustered(seed), "cross", 0.0)
        for k in (2, 3):
            plain = lp_dual(red, k, iterations=100_000, time_limit_s=30.0)
            cut = lp_dual(red, k, iterations=100_000, time_limit_s=30.0, cut_rounds=5)
            assert best_of(red, k) - 1e-6 <= cut.bound <= plain.bound + 1e-6
            tighter += cut.bound < plain.bound - 1e-3 and cut.cuts > 0
    assert tighter >= 3


@pytest.mark.parametrize("seed", range(3))
def test_dual_bound_holds_when_the_lp_is_stopped_early(seed):
    red = reduce(clustered(seed), "cross", 0.0)
    truth = best_of(red, 3)
    for iterations in (0, 1, 3):
        for rounds in (0, 2):
            lp = lp_dual(red, 3, iterations=iterations, time_limit_s=30.0, cut_rounds=rounds)
            assert lp.bound >= truth - 1e-6


@pytest.mark.parametrize("seed", range(6))
def test_local_search_improves_and_repeats(seed):
    red = reduce(clustered(seed, n_units=200, n_cand=18), "cross", 0.0)
    k = 4
    poor = np.arange(k, dtype=np.int64)           # the first sites: a poor start
    one, better = improve(red, k, poor, moves=40, seed=0)
    two, _ = improve(red, k, poor, moves=40, seed=0)
    assert one.tolist() == two.tolist()           # same draws, same answer
    assert np.unique(one).size == one.size <= k
    assert red.value(one) >= red.value(poor)
    assert red.value(one) <= best_of(red, k) + 1e-6
    if red.value(one) > red.value(poor):
        assert better >= 1


def test_local_search_reaches_the_optimum_where_swaps_stall():
    """Over a batch of clustered instances the search finds the brute-force
    optimum more often than greedy with swaps (which stalls where a pair of
    sites has to move), and on every instance is at least as good as its start."""
    hits_swap = hits_search = 0
    for seed in range(15):
        red = reduce(clustered(100 + seed, n_units=300, n_cand=22), "cross", 0.0)
        k = 4
        truth = best_of(red, k)
        start = greedy_swap(red, k, cross=True)
        found, _ = improve(red, k, start, moves=60, seed=0)
        assert red.value(found) >= red.value(start)
        hits_swap += red.value(start) >= truth - 1e-6
        hits_search += red.value(found) >= truth - 1e-6
    assert hits_search > hits_swap
    assert hits_search >= 14


def test_local_search_stops_at_a_proven_bound():
    red = reduce(clustered(3), "cross", 0.0)
    start = greedy_swap(red, 3, cross=True)
    same, better = improve(red, 3, start, moves=50, stop_at=red.value(start))
    assert same.tolist() == start.tolist() and better == 0
