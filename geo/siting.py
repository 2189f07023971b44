"""Where should the next stations go? Coverage models with existing stations fixed.

Every model works on the same data: for each candidate site, the population
units it reaches within the walking limit (from bounded network searches,
stored sparse), and for each unit how many existing stations already reach it.

Models (``w_i`` people in unit ``i``, ``x_j`` = 1 if site ``j`` is opened,
``N_i`` the candidates reaching ``i``, ``c_i`` existing stations reaching ``i``):

- **coverage** (maximal covering, MCLP): maximise ``sum w_i y_i`` over units
  with ``c_i = 0`` subject to ``y_i <= sum_{j in N_i} x_j``, ``sum x_j <= k``,
  ``0 <= y_i <= 1``.
- **cross** (backup / cross coverage, 交叉覆盖): maximise the people newly
  reached by two or more stations, ``sum w_i z_i`` with binary ``z_i`` and
  ``2 z_i <= c_i + sum_{j in N_i} x_j`` over units with ``c_i <= 1``; with
  ``first_weight`` > 0 newly covered people also count, at that weight.
- **target** (partial set cover): the fewest sites such that at least a
  ``target`` share of the coverable population (people some existing station
  or candidate can reach) is covered.

Each is solved exactly by HiGHS (highspy) under a time limit, started from
the greedy solution so that it never returns less than greedy (at the limit it
returns the best solution found with its gap), or greedily. Units that no
candidate can help are dropped and units with the same set of candidates are
merged before solving, which leaves the optimum unchanged and shrinks the
model.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.candidates import Candidates
from circle15.geo.coverage import CROSS_COVERAGE, Coverage
from circle15.geo.errors import Circle15Error, SettingsError
from circle15.geo.reach import Reach, reach_within

log = logging.getLogger(__name__)

Objective = Literal["coverage", "cross", "target"]
Method = Literal["exact", "greedy"]
OBJECTIVES = ("coverage", "cross", "target")


class SitingError(Circle15Error, ValueError):
    """A siting request that cannot be answered as asked (says what can)."""


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Candidates, who each reaches, and the coverage existing stations give."""

    coverage: Coverage
    candidates: Candidates
    reach: Reach
    #: existing stations reaching each unit within the limit
    base_count: NDArray[np.int64]
    #: units × candidates, True where the candidate reaches the unit
    matrix: sp.csr_matrix
    weight: NDArray[np.float64]

    @property
    def n_candidates(self) -> int:
        return len(self.candidates)

    @property
    def total(self) -> float:
        return float(self.weight.sum())

    def counts_with(self, chosen: NDArray[np.int64]) -> NDArray[np.int64]:
        """Stations reaching each unit once the ``chosen`` candidates are opened."""
        extra = np.asarray(self.matrix[:, chosen].sum(axis=1)).ravel().astype(np.int64)
        return self.base_count + extra

    def coverable(self) -> float:
        """People whom some existing station or candidate can reach."""
        reachable = (self.base_count >= 1) | (np.diff(self.matrix.indptr) > 0)
        return float(self.weight[reachable].sum())


def build_problem(cov: Coverage, candidates: Candidates, *, progress: bool = False
                  ) -> SitingProblem:
    """Search from every candidate (bounded by the coverage limit) and set up the models."""
    if len(candidates) == 0:
        raise SitingError("there are no candidate sites")
    reach, _ = reach_within(cov.network, candidates.snapped, cov.population.snapped,
                            limit_m=cov.settings.limit_m, progress=progress)
    n_units = len(cov.population)
    matrix = sp.csr_matrix(
        (np.ones(reach.source.size, dtype=np.float64), (reach.target, reach.source)),
        shape=(n_units, len(candidates)),
    )
    return SitingProblem(cov, candidates, reach, cov.unit_count[-1].astype(np.int64), matrix,
                         cov.population.count.astype(float))


# ---------------------------------------------------------------------------
# the result


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Chosen sites, in order of their marginal gain, and what they achieve.

    ``marginal_gain[r]`` is what site ``chosen[r]`` adds to the objective once
    the sites ranked before it are open (people; for ``cross`` people newly
    cross-covered plus ``first_weight`` × people newly covered). ``bound`` is
    the solver's proven bound on the optimum and ``gap`` its relative distance
    from the objective (0 = proven optimal); both are None for greedy.
    """

    objective: str
    method: str
    chosen: NDArray[np.int64]
    marginal_gain: NDArray[np.float64]
    objective_value: float
    bound: float | None
    gap: float | None
    solve_time_s: float
    status: str
    population: float
    covered_before: float
    covered_after: float
    cross_before: float
    cross_after: float
    candidates: Candidates
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def k(self) -> int:
        return int(self.chosen.size)

    def sites_frame(self) -> gpd.GeoDataFrame:
        """The chosen sites with rank, marginal gain and cumulative gain."""
        frame = self.candidates.frame.iloc[self.chosen].reset_index(drop=True)
        frame.insert(0, "rank", np.arange(1, self.k + 1))
        frame["marginal_gain"] = np.round(self.marginal_gain, 1)
        frame["cumulative_gain"] = np.round(np.cumsum(self.marginal_gain), 1)
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=self.candidates.frame.crs)

    def summary(self) -> dict[str, object]:
        return {
            "objective": self.objective, "method": self.method, "sites": self.k,
            "objective_value": round(self.objective_value, 1),
            "bound": None if self.bound is None else round(self.bound, 1),
            "gap": self.gap, "solve_time_s": round(self.solve_time_s, 3),
            "status": self.status, "population": self.population,
            "covered_before": self.covered_before, "covered_after": self.covered_after,
            "cross_before": self.cross_before, "cross_after": self.cross_after,
            "notes": " ".join(self.notes),
        }


# ---------------------------------------------------------------------------
# objective pieces shared by the greedy and the ranking of exact solutions


def _unit_value(counts: NDArray[np.int64], objective: str, first_weight: float
                ) -> NDArray[np.float64]:
    """What one more station reaching a unit adds, per person, given its count."""
    if objective == "cross":
        return np.where(counts == CROSS_COVERAGE - 1, 1.0,
                        np.where(counts == 0, first_weight, 0.0))
    return (counts == 0).astype(float)


def _gains(problem: SitingProblem, counts: NDArray[np.int64], objective: str,
           first_weight: float) -> NDArray[np.float64]:
    value = problem.weight * _unit_value(counts, objective, first_weight)
    return np.asarray(problem.matrix.T @ value).ravel()


def _objective_of(problem: SitingProblem, counts: NDArray[np.int64], objective: str,
                  first_weight: float) -> float:
    """Objective value of a final count vector relative to the existing stations."""
    w, c0 = problem.weight, problem.base_count
    new_cov = float(w[(counts >= 1) & (c0 == 0)].sum())
    if objective == "cross":
        new_cross = float(w[(counts >= CROSS_COVERAGE) & (c0 < CROSS_COVERAGE)].sum())
        return new_cross + first_weight * new_cov
    return new_cov


def _rank(problem: SitingProblem, chosen: NDArray[np.int64], objective: str,
          first_weight: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Order chosen sites greedily by marginal gain; return order and gains."""
    counts = problem.base_count.copy()
    left = list(chosen.tolist())
    order, gains = [], []
    while left:
        g = _gains(problem, counts, objective, first_weight)[left]
        i = int(np.argmax(g))
        j = left.pop(i)
        order.append(j)
        gains.append(float(g[i]))
        counts = counts + _column(problem, j)
    return np.asarray(order, dtype=np.int64), np.asarray(gains)


def _greedy(problem: SitingProblem, k: int, objective: str, first_weight: float,
            stop_when: float | None = None) -> NDArray[np.int64]:
    """Pick the site with the largest marginal gain, k times (or until a target)."""
    counts = problem.base_count.copy()
    chosen: list[int] = []
    open_mask = np.zeros(problem.n_candidates, dtype=bool)
    covered = float(problem.weight[counts >= 1].sum())
    while len(chosen) < k:
        if stop_when is not None and covered >= stop_when - 1e-9:
            break
        g = _gains(problem, counts, objective, first_weight)
        g[open_mask] = -1.0
        j = int(np.argmax(g))
        if g[j] <= 0:
            break
        chosen.append(j)
        open_mask[j] = True
        counts = counts + _column(problem, j)
        covered = float(problem.weight[counts >= 1].sum())
    return np.asarray(chosen, dtype=np.int64)


def _column(problem: SitingProblem, j: int) -> NDArray[np.int64]:
    return problem.matrix[:, j].toarray().ravel().astype(np.int64)


def _swap_improve(problem: SitingProblem, chosen: NDArray[np.int64], objective: str,
                  first_weight: float, *, max_rounds: int = 100) -> NDArray[np.int64]:
    """Local search by single swaps (vertex substitution): replace an open site by
    a closed one while that raises the objective. Each try is one sparse
    matrix-vector product for all closed sites at once."""
    chosen = chosen.copy()
    if chosen.size == 0:
        return chosen
    counts = problem.counts_with(chosen)
    current = _objective_of(problem, counts, objective, first_weight)
    for _ in range(max_rounds):
        best_delta, best_swap = 1e-9, None
        for pos, i in enumerate(chosen.tolist()):
            without = counts - _column(problem, i)
            base = _objective_of(problem, without, objective, first_weight)
            gains = _gains(problem, without, objective, first_weight)
            gains[chosen] = -np.inf
            j = int(np.argmax(gains))
            delta = base + gains[j] - current
            if delta > best_delta:
                best_delta, best_swap = delta, (pos, j)
        if best_swap is None:
            break
        pos, j = best_swap
        counts = counts - _column(problem, int(chosen[pos])) + _column(problem, j)
        chosen[pos] = j
        current = _objective_of(problem, counts, objective, first_weight)
    return chosen


def _greedy_best(problem: SitingProblem, k: int, objective: str, first_weight: float
                 ) -> NDArray[np.int64]:
    """Greedy, and for cross coverage the best of a few greedy runs.

    Every greedy set is then improved by single swaps. Cross coverage is not
    submodular: a site that reaches people nobody reaches yet gains nothing
    alone but sets up the next one. Runs that credit that first step at 0.25
    or 0.5 of a person find much better sets; each run is scored on the true
    objective.
    """
    if objective != "cross":
        return _swap_improve(problem, _greedy(problem, k, objective, first_weight), objective,
                             first_weight)
    best, best_val = np.empty(0, dtype=np.int64), -1.0
    for credit in sorted({first_weight, max(first_weight, 0.25), max(first_weight, 0.5)}):
        chosen = _swap_improve(problem, _greedy(problem, k, "cross", credit), "cross",
                               first_weight)
        val = _objective_of(problem, problem.counts_with(chosen), "cross", first_weight)
        if val > best_val + 1e-9:
            best, best_val = chosen, val
    return best


# ---------------------------------------------------------------------------
# exact models


def _merge_rows(rows: sp.csr_matrix, weight: NDArray[np.float64], extra: NDArray[np.int64]
                ) -> tuple[sp.csr_matrix, NDArray[np.float64], NDArray[np.int64]]:
    """Merge units with identical candidate sets (and equal ``extra``), summing weights."""
    if rows.shape[0] == 0:
        return rows, weight, extra
    rng = np.random.default_rng(0)
    h1 = rows @ rng.random(rows.shape[1])
    h2 = rows @ rng.random(rows.shape[1])
    keys = pd.DataFrame({"a": h1, "b": h2, "c": extra})
    group = keys.groupby(["a", "b", "c"], sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(group.size)).groupby(group).first().to_numpy()
    w = np.bincount(group, weights=weight)
    return rows[first], np.asarray(w, dtype=float), extra[first]


def _quiet_highs() -> Any:
    """A HiGHS instance with its output off. HiGHS prints a banner from C++ when
    it is created, before any option can be set, so stdout is closed meanwhile."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return h


def _solve_milp(
    c: NDArray[np.float64],
    integral: NDArray[np.bool_],
    A: sp.csr_matrix,
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    *,
    time_limit_s: float,
    start: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64] | None, str, float | None, float | None]:
    """Minimise ``c @ x`` with 0 <= x <= 1 and row bounds, by HiGHS (highspy).

    ``start`` is a feasible solution handed to the solver first (the greedy
    one), so the answer is never worse than it, even at the time limit.
    Returns x (None if no solution), status, relative gap and dual bound.
    """
    import highspy

    n = c.size
    h = _quiet_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = c
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in integral.tolist()]
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    status = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time limit reached",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
    }.get(model_status, h.modelStatusToString(model_status))
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return None, status, None, None
    x = np.asarray(h.getSolution().col_value)
    gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else None
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    return x, status, gap, bound


@dataclass(frozen=True)
class _Block:
    """Units sharing one constraint form: ``coef * y_i - sum_{j in N_i} x_j <= rhs_i``."""

    rows: sp.csr_matrix
    weight: NDArray[np.float64]
    rhs: NDArray[np.float64]
    coef: float
    integral: bool


def _block(problem: SitingProblem, units: NDArray[np.int64], *, weight_scale: float = 1.0,
           coef: float = 1.0, integral: bool = False, rhs_from_base: bool = False) -> _Block:
    A, c0 = problem.matrix, problem.base_count
    extra = c0[units] if rhs_from_base else np.zeros(units.size, dtype=np.int64)
    rows, w, extra = _merge_rows(A[units], problem.weight[units], extra)
    return _Block(rows, w * weight_scale, extra.astype(float), coef, integral)


def _exact_k(problem: SitingProblem, k: int, objective: str, first_weight: float,
             time_limit_s: float) -> tuple[NDArray[np.int64] | None, str, float | None,
                                           float | None]:
    """Exact maximal-covering or cross-coverage model for ``k`` sites."""
    c0 = problem.base_count
    deg = np.diff(problem.matrix.indptr)
    if objective == "coverage":
        blocks = [_block(problem, np.flatnonzero((c0 == 0) & (deg > 0)))]
    else:
        blocks = [
            # reached once already: one new site suffices, z <= sum x (continuous z is exact)
            _block(problem, np.flatnonzero((c0 == CROSS_COVERAGE - 1) & (deg >= 1))),
            # reached by none: two new sites needed, 2 z <= sum x with binary z
            _block(problem, np.flatnonzero((c0 == 0) & (deg >= CROSS_COVERAGE)),
                   coef=2.0, integral=True),
        ]
        if first_weight > 0:
            blocks.append(_block(problem, np.flatnonzero((c0 == 0) & (deg > 0)),
                                 weight_scale=first_weight))
    blocks = [b for b in blocks if b.rows.shape[0]]
    if not blocks:
        return np.empty(0, dtype=np.int64), "optimal", 0.0, 0.0
    n_x = problem.n_candidates
    n_y = sum(b.rows.shape[0] for b in blocks)
    n = n_x + n_y
    c = np.concatenate([np.zeros(n_x)] + [-b.weight for b in blocks])
    integral = np.concatenate([np.ones(n_x, dtype=bool)]
                              + [np.full(b.rows.shape[0], b.integral) for b in blocks])
    parts = [sp.csr_matrix(np.concatenate([np.ones(n_x), np.zeros(n_y)])[None, :])]
    upper = [np.array([float(k)])]
    offset = n_x
    # the greedy solution, completed with the y it implies, starts the search
    x0 = np.zeros(n_x)
    x0[_greedy_best(problem, k, objective, first_weight)] = 1.0
    y0 = []
    for b in blocks:
        m = b.rows.shape[0]
        y_part = sp.csr_matrix((np.full(m, b.coef), (np.arange(m), offset + np.arange(m))),
                               shape=(m, n))
        parts.append(y_part + sp.hstack([-b.rows, sp.csr_matrix((m, n_y))], format="csr"))
        upper.append(b.rhs)
        reach = b.rows @ x0
        y0.append(np.minimum(1.0, np.floor(reach / b.coef) if b.integral else reach / b.coef))
        offset += m
    A = sp.vstack(parts, format="csr")
    row_upper = np.concatenate(upper)
    x, status, gap, bound = _solve_milp(
        c, integral, A, np.full(row_upper.size, -np.inf), row_upper,
        time_limit_s=time_limit_s, start=np.concatenate([x0, *y0]))
    if x is None:
        return None, status, gap, None
    chosen = np.flatnonzero(x[:n_x] > 0.5).astype(np.int64)
    return chosen, status, gap, None if bound is None else -bound


def _exact_target(problem: SitingProblem, need: float, time_limit_s: float
                  ) -> tuple[NDArray[np.int64] | None, str, float | None, float | None]:
    """Fewest sites covering at least ``need`` more people (partial set cover)."""
    A, w, c0 = problem.matrix, problem.weight, problem.base_count
    rows = np.flatnonzero((c0 == 0) & (np.diff(A.indptr) > 0))
    sub, wt, _ = _merge_rows(A[rows], w[rows], c0[rows])
    n_x, n_y = problem.n_candidates, sub.shape[0]
    c = np.concatenate([np.ones(n_x), np.zeros(n_y)])
    integral = np.concatenate([np.ones(n_x, dtype=bool), np.zeros(n_y, dtype=bool)])
    link = sp.hstack([-sub, sp.identity(n_y, format="csr")], format="csr")
    demand = sp.csr_matrix(np.concatenate([np.zeros(n_x), wt])[None, :])
    A = sp.vstack([link, demand], format="csr")
    lower = np.concatenate([np.full(n_y, -np.inf), [need]])
    upper = np.concatenate([np.zeros(n_y), [np.inf]])
    x0 = np.zeros(n_x)
    covered_now = float(w[c0 >= 1].sum())
    x0[_greedy(problem, n_x, "coverage", 0.0, stop_when=covered_now + need)] = 1.0
    start = np.concatenate([x0, np.minimum(1.0, sub @ x0)])
    x, status, gap, bound = _solve_milp(c, integral, A, lower, upper,
                                        time_limit_s=time_limit_s, start=start)
    if x is None:
        return None, status, gap, None
    return np.flatnonzero(x[:n_x] > 0.5).astype(np.int64), status, gap, bound


# ---------------------------------------------------------------------------
# the public entry points


def _finish(problem: SitingProblem, chosen: NDArray[np.int64], *, objective: str, method: str,
            first_weight: float, t0: float, status: str, gap: float | None,
            bound: float | None, notes: list[str]) -> SitingResult:
    rank_objective = "coverage" if objective == "target" else objective
    order, gains = _rank(problem, chosen, rank_objective, first_weight)
    after = problem.counts_with(order)
    w, c0 = problem.weight, problem.base_count
    value = (float(order.size) if objective == "target"
             else _objective_of(problem, after, objective, first_weight))
    return SitingResult(
        objective=objective, method=method, chosen=order, marginal_gain=gains,
        objective_value=value, bound=bound, gap=gap,
        solve_time_s=time.perf_counter() - t0, status=status, population=problem.total,
        covered_before=float(w[c0 >= 1].sum()), covered_after=float(w[after >= 1].sum()),
        cross_before=float(w[c0 >= CROSS_COVERAGE].sum()),
        cross_after=float(w[after >= CROSS_COVERAGE].sum()),
        candidates=problem.candidates, notes=tuple(notes),
    )


def solve(
    problem: SitingProblem,
    *,
    k: int,
    objective: Literal["coverage", "cross"] = "coverage",
    method: Method = "exact",
    first_weight: float = 0.0,
    time_limit_s: float = 60.0,
) -> SitingResult:
    """Choose ``k`` new sites maximising newly covered or cross-covered people.

    ``exact`` returns the proven optimum, or at the time limit the best
    solution found with its gap; if the solver found none in time, the greedy
    solution is returned and the status says so.
    """
    if objective not in ("coverage", "cross"):
        raise SettingsError(f"objective must be 'coverage' or 'cross', not {objective!r}")
    if method not in ("exact", "greedy"):
        raise SettingsError(f"method must be 'exact' or 'greedy', not {method!r}")
    if not isinstance(k, int | np.integer) or k < 1:
        raise SettingsError(f"k must be a whole number of at least 1, not {k!r}")
    if k > problem.n_candidates:
        raise SettingsError(f"k = {k} is more than the {problem.n_candidates} candidate sites")
    if not 0 <= first_weight <= 1:
        raise SettingsError(f"first_weight must be between 0 and 1, not {first_weight}")
    if problem.matrix.nnz == 0:
        raise SitingError("no candidate site is within walking reach of anyone")
    deg = np.diff(problem.matrix.indptr)
    helps = (problem.base_count == 0) if objective == "coverage" else (
        problem.base_count < CROSS_COVERAGE)
    if not (helps & (deg > 0) & (problem.weight > 0)).any():
        who = "not yet covered" if objective == "coverage" else "not yet cross-covered"
        raise SitingError(f"no candidate site is within walking reach of anyone {who}; "
                          "add candidates nearer the gaps (see the gaps layer)")
    t0 = time.perf_counter()
    notes: list[str] = []
    if method == "greedy":
        chosen = _greedy_best(problem, k, objective, first_weight)
        status, gap, bound = "greedy", None, None
    else:
        found, status, gap, bound = _exact_k(problem, k, objective, first_weight, time_limit_s)
        if found is None:
            notes.append(f"the solver found no solution ({status}); greedy result returned")
            chosen, method = _greedy_best(problem, k, objective, first_weight), "greedy"
        else:
            chosen = found
    if chosen.size < k:
        notes.append(f"only {chosen.size} of the {k} sites add anything; more sites would not "
                     "raise the objective")
    return _finish(problem, chosen, objective=objective, method=method,
                   first_weight=first_weight, t0=t0, status=status, gap=gap, bound=bound,
                   notes=notes)


def solve_target(
    problem: SitingProblem,
    *,
    target: float,
    method: Method = "exact",
    time_limit_s: float = 60.0,
) -> SitingResult:
    """The fewest new sites so that ``target`` of the coverable population is covered.

    The coverable population is everyone some existing station or candidate
    can reach; a target above 1 of it is refused with what is coverable.
    """
    coverable = problem.coverable()
    total = problem.total
    if not target > 0:
        raise SettingsError(f"target must be a share above 0, not {target}")
    if target > 1:
        msg = (f"a target of {target:.0%} is above what is coverable: the existing stations and "
               f"all candidate sites together reach {coverable:,.0f} of {total:,.0f} people "
               f"({coverable / total:.1%}); the target is a share of those, so at most 1.0")
        raise SitingError(msg)
    covered_now = float(problem.weight[problem.base_count >= 1].sum())
    goal = target * coverable
    t0 = time.perf_counter()
    notes = [f"coverable population {coverable:,.0f} of {total:,.0f} "
             f"({coverable / total:.1%}); target {target:.0%} of it = {goal:,.0f} people"]
    if covered_now >= goal - 1e-9:
        notes.append("existing stations already meet the target")
        return _finish(problem, np.empty(0, dtype=np.int64), objective="target", method=method,
                       first_weight=0.0, t0=t0, status="optimal", gap=0.0, bound=0.0,
                       notes=notes)
    if method == "greedy":
        chosen = _greedy(problem, problem.n_candidates, "coverage", 0.0, stop_when=goal)
        status, gap, bound = "greedy", None, None
    else:
        found, status, gap, bound = _exact_target(problem, goal - covered_now, time_limit_s)
        if found is None:
            notes.append(f"the solver found no solution ({status}); greedy result returned")
            chosen = _greedy(problem, problem.n_candidates, "coverage", 0.0, stop_when=goal)
            method = "greedy"
        else:
            chosen = found
    return _finish(problem, chosen, objective="target", method=method, first_weight=0.0,
                   t0=t0, status=status, gap=gap, bound=bound, notes=notes)


def coverage_curve(
    problem: SitingProblem,
    *,
    k_max: int,
    objective: Literal["coverage", "cross"] = "coverage",
    method: Method = "greedy",
    first_weight: float = 0.0,
    time_limit_s: float = 30.0,
) -> pd.DataFrame:
    """Covered and cross-covered people for k = 0 .. k_max new sites.

    Greedy gives one nested sequence (each k adds one site to k - 1); exact
    solves every k on its own, each under ``time_limit_s``.
    """
    if k_max < 1:
        raise SettingsError(f"k_max must be at least 1, not {k_max}")
    k_max = min(k_max, problem.n_candidates)
    w = problem.weight
    rows: list[dict[str, float | None]] = [
        {"k": 0, "covered": float(w[problem.base_count >= 1].sum()),
         "cross_covered": float(w[problem.base_count >= CROSS_COVERAGE].sum())}]
    if method == "greedy":
        order = _greedy_best(problem, k_max, objective, first_weight)
        counts = problem.base_count.copy()
        for i, j in enumerate(order.tolist(), start=1):
            counts = counts + _column(problem, j)
            rows.append({"k": i, "covered": float(w[counts >= 1].sum()),
                         "cross_covered": float(w[counts >= CROSS_COVERAGE].sum())})
    else:
        for k in range(1, k_max + 1):
            res = solve(problem, k=k, objective=objective, method="exact",
                        first_weight=first_weight, time_limit_s=time_limit_s)
            rows.append({"k": k, "covered": res.covered_after, "cross_covered": res.cross_after,
                         "gap": res.gap})
    curve = pd.DataFrame(rows)
    curve["covered_share"] = curve["covered"] / problem.total
    curve["cross_share"] = curve["cross_covered"] / problem.total
    return curve
