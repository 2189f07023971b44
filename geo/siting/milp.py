"""Exact siting models solved by HiGHS (highspy), warm-started from greedy."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.coverage import CROSS_COVERAGE
from circle15.geo.siting.greedy import greedy, greedy_best
from circle15.geo.siting.problem import SitingProblem

# ---------------------------------------------------------------------------
# exact models


def merge_rows(rows: sp.csr_matrix, weight: NDArray[np.float64], extra: NDArray[np.int64]
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


def quiet_highs() -> Any:
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


def solve_milp(
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
    h = quiet_highs()
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
class Block:
    """Units sharing one constraint form: ``coef * y_i - sum_{j in N_i} x_j <= rhs_i``."""

    rows: sp.csr_matrix
    weight: NDArray[np.float64]
    rhs: NDArray[np.float64]
    coef: float
    integral: bool


def block(problem: SitingProblem, units: NDArray[np.int64], *, weight_scale: float = 1.0,
           coef: float = 1.0, integral: bool = False, rhs_from_base: bool = False) -> Block:
    A, c0 = problem.matrix, problem.base_count
    extra = c0[units] if rhs_from_base else np.zeros(units.size, dtype=np.int64)
    rows, w, extra = merge_rows(A[units], problem.weight[units], extra)
    return Block(rows, w * weight_scale, extra.astype(float), coef, integral)


def exact_k(problem: SitingProblem, k: int, objective: str, first_weight: float,
             time_limit_s: float) -> tuple[NDArray[np.int64] | None, str, float | None,
                                           float | None]:
    """Exact maximal-covering or cross-coverage model for ``k`` sites."""
    c0 = problem.base_count
    deg = np.diff(problem.matrix.indptr)
    if objective == "coverage":
        blocks = [block(problem, np.flatnonzero((c0 == 0) & (deg > 0)))]
    else:
        blocks = [
            # reached once already: one new site suffices, z <= sum x (continuous z is exact)
            block(problem, np.flatnonzero((c0 == CROSS_COVERAGE - 1) & (deg >= 1))),
            # reached by none: two new sites needed, 2 z <= sum x with binary z
            block(problem, np.flatnonzero((c0 == 0) & (deg >= CROSS_COVERAGE)),
                   coef=2.0, integral=True),
        ]
        if first_weight > 0:
            blocks.append(block(problem, np.flatnonzero((c0 == 0) & (deg > 0)),
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
    x0[greedy_best(problem, k, objective, first_weight)] = 1.0
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
    x, status, gap, bound = solve_milp(
        c, integral, A, np.full(row_upper.size, -np.inf), row_upper,
        time_limit_s=time_limit_s, start=np.concatenate([x0, *y0]))
    if x is None:
        return None, status, gap, None
    chosen = np.flatnonzero(x[:n_x] > 0.5).astype(np.int64)
    return chosen, status, gap, None if bound is None else -bound


def exact_target(problem: SitingProblem, need: float, time_limit_s: float
                  ) -> tuple[NDArray[np.int64] | None, str, float | None, float | None]:
    """Fewest sites covering at least ``need`` more people (partial set cover)."""
    A, w, c0 = problem.matrix, problem.weight, problem.base_count
    rows = np.flatnonzero((c0 == 0) & (np.diff(A.indptr) > 0))
    sub, wt, _ = merge_rows(A[rows], w[rows], c0[rows])
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
    x0[greedy(problem, n_x, "coverage", 0.0, stop_when=covered_now + need)] = 1.0
    start = np.concatenate([x0, np.minimum(1.0, sub @ x0)])
    x, status, gap, bound = solve_milp(c, integral, A, lower, upper,
                                        time_limit_s=time_limit_s, start=start)
    if x is None:
        return None, status, gap, None
    return np.flatnonzero(x[:n_x] > 0.5).astype(np.int64), status, gap, bound


