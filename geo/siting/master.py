"""The LP relaxation over a growing set of columns, kept warm in one HiGHS model.

Columns are x (sites), then per row a y; rows are the budget ``sum x <= k``
then one link ``need_r y_r - sum_j a_rj x_j <= 0`` per row of the reduced
model that some added column reaches. Adding columns keeps the basis, so
primal simplex resumes from the last optimum instead of starting over.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from circle15.geo.siting.milp import quiet_highs
from circle15.geo.siting.reduce import Reduced


class Master:
    """Restricted master LP of the reduced model for budget ``k``."""

    def __init__(self, red: Reduced, k: int, *, iterations: int, seed: int = 0) -> None:
        """``iterations``: simplex iterations for all solves together (a work limit
        that makes the outcome independent of machine load)."""
        self.red = red
        self.h: Any = quiet_highs()
        for key, value in {"threads": 1, "random_seed": seed, "presolve": "off",
                           "simplex_strategy": 4}.items():
            self.h.setOptionValue(key, value)
        self.h.addRows(1, np.array([-np.inf]), np.array([float(k)]), 0,
                       np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))
        #: model row of each reduced row (0 = not in the model yet)
        self.row_of = np.zeros(red.n_rows, dtype=np.int64)
        self.n_model_rows = 1
        self.cols: list[int] = []
        #: HiGHS column of each added site, in order of ``cols``
        self.x_col: list[int] = []
        self.n_model_cols = 0
        #: simplex iterations left for every later solve together
        self.iterations_left = iterations

    def add(self, cols: NDArray[np.int64]) -> None:
        """Add sites (columns of the reduced model) and the rows they reach."""
        red, h = self.red, self.h
        have = set(self.cols)
        cols = np.asarray([j for j in cols.tolist() if j not in have], dtype=np.int64)
        if cols.size == 0:
            return
        sub = red.cols[:, cols]
        rows = np.unique(sub.indices)
        new = rows[self.row_of[rows] == 0]
        if new.size:
            m = new.size
            h.addRows(m, np.full(m, -np.inf), np.zeros(m), 0, np.zeros(m, dtype=np.int32),
                      np.zeros(0, dtype=np.int32), np.zeros(0))
            self.row_of[new] = self.n_model_rows + np.arange(m)
            self.n_model_rows += m
            starts = np.arange(m, dtype=np.int32)
            h.addCols(m, -red.weight[new], np.zeros(m), np.ones(m), m, starts,
                      self.row_of[new].astype(np.int32), red.need[new].astype(float))
            self.n_model_cols += m
        n = cols.size
        indptr = sub.indptr
        starts = (indptr[:-1] + np.arange(n)).astype(np.int32)
        index = np.empty(sub.nnz + n, dtype=np.int32)
        value = np.empty(sub.nnz + n)
        for i in range(n):
            lo, hi = indptr[i], indptr[i + 1]
            at = starts[i]
            index[at] = 0
            value[at] = 1.0
            index[at + 1:at + 1 + hi - lo] = self.row_of[sub.indices[lo:hi]]
            value[at + 1:at + 1 + hi - lo] = -1.0
        h.addCols(n, np.zeros(n), np.zeros(n), np.ones(n), index.size, starts, index, value)
        self.x_col.extend(range(self.n_model_cols, self.n_model_cols + n))
        self.n_model_cols += n
        self.cols.extend(cols.tolist())

    def solve(self, time_limit_s: float) -> tuple[NDArray[np.float64], float,
                                                  NDArray[np.float64], bool] | None:
        """Multipliers for every reduced row (rows not in the model: weight/need),
        the budget's price, x per column of the reduced model, and whether the LP
        was solved to optimality (if not, the multipliers still give a valid,
        weaker bound); None if HiGHS gave no duals."""
        import highspy

        h, red = self.h, self.red
        # HiGHS counts its time limit from the object's first run, not this one
        h.setOptionValue("time_limit", float(h.getRunTime() + max(0.5, time_limit_s)))
        if self.iterations_left <= 0:
            return None
        h.setOptionValue("simplex_iteration_limit", int(self.iterations_left))
        h.run()
        self.iterations_left -= max(0, int(h.getInfo().simplex_iteration_count))
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        sol = h.getSolution()
        if not sol.dual_valid or not sol.value_valid:
            return None
        dual = np.asarray(sol.row_dual)
        lam = red.weight / red.need
        inside = np.flatnonzero(self.row_of)
        lam = lam.copy()
        lam[inside] = -dual[self.row_of[inside]]
        x = np.zeros(red.n_cols)
        x[np.asarray(self.cols, dtype=np.int64)] = np.asarray(sol.col_value)[self.x_col]
        return lam, float(-dual[0]), x, optimal
