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

from circle15.geo.siting.greedy import greedy
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


@dataclass(frozen=True)
class MilpOutcome:
    """What HiGHS returned: x (None if no solution), status, relative gap, dual
    bound (of the minimisation), nodes explored and, for LPs, the row duals."""

    x: NDArray[np.float64] | None
    status: str
    gap: float | None
    bound: float | None
    nodes: int = 0
    row_dual: NDArray[np.float64] | None = None


def solve_milp(
    c: NDArray[np.float64],
    integral: NDArray[np.bool_],
    A: sp.csr_matrix,
    row_lower: NDArray[np.float64],
    row_upper: NDArray[np.float64],
    *,
    time_limit_s: float,
    start: NDArray[np.float64] | None = None,
    options: dict[str, object] | None = None,
    want_duals: bool = False,
) -> MilpOutcome:
    """Minimise ``c @ x`` with 0 <= x <= 1 and row bounds, by HiGHS (highspy).

    One thread and a fixed random seed, so that a run depends on its work
    limits (``options``, e.g. ``mip_max_nodes``), not on machine load; the time
    limit is a safety net. ``start`` is a feasible solution handed to the
    solver first, so the answer is never worse than it.
    """
    import highspy

    n = c.size
    h = quiet_highs()
    settings: dict[str, object] = {"time_limit": float(time_limit_s), "mip_rel_gap": 0.0,
                                   "threads": 1, "random_seed": 0}
    settings.update(options or {})
    for key, value in settings.items():
        h.setOptionValue(key, value)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = c
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = row_lower, row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    if integral.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i
                           else highspy.HighsVarType.kContinuous for i in integral.tolist()]
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
        highspy.HighsModelStatus.kSolutionLimit: "node limit reached",
        highspy.HighsModelStatus.kIterationLimit: "iteration limit reached",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
    }.get(model_status, h.modelStatusToString(model_status))
    nodes = max(0, int(info.mip_node_count))
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return MilpOutcome(None, status, None, None, nodes)
    solution = h.getSolution()
    x = np.asarray(solution.col_value)
    if not integral.any():
        duals = (np.asarray(solution.row_dual) if want_duals and solution.dual_valid
                 and model_status == highspy.HighsModelStatus.kOptimal else None)
        return MilpOutcome(x, status, None, float(info.objective_function_value), 0, duals)
    gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else None
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    return MilpOutcome(x, status, gap, bound, nodes)


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
    out = solve_milp(c, integral, A, lower, upper, time_limit_s=time_limit_s, start=start)
    if out.x is None:
        return None, out.status, out.gap, None
    return np.flatnonzero(out.x[:n_x] > 0.5).astype(np.int64), out.status, out.gap, out.bound


