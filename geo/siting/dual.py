"""The LP bound of the reduced model, solved in its dual form.

The LP relaxation of the reduced model (``max w.y``, ``need_r y_r <= sum_j
a_rj x_j``, ``sum x <= k``, ``0 <= x, y <= 1``) has a row per demand row (tens
of thousands) and a column per site (a few thousand). Its dual is the
Lagrangian dual of :mod:`.lagrange` written as an LP,

    min  sum_r (w_r - need_r lam_r) + k pi + sum_j mu_j
    s.t. sum_r a_rj lam_r - pi - mu_j <= 0     for every site j
         0 <= lam_r <= w_r / need_r,  pi, mu >= 0,

with one row per site: the simplex basis is a few thousand wide instead of
tens of thousands, which makes it many times faster than the primal (or
column generation on it) at district scale. Whatever HiGHS returns, the bound
reported is ``L(lam)`` recomputed from the multipliers (never the solver's
objective), so it is valid even when the iteration limit stops it early. The
sites' LP values ``x`` are the duals of the site rows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.siting.lagrange import lagrangian_bound, plain_multipliers
from circle15.geo.siting.milp import quiet_highs
from circle15.geo.siting.reduce import Reduced


def lp_dual(red: Reduced, k: int, *, iterations: int, time_limit_s: float, seed: int = 0
            ) -> tuple[float, NDArray[np.float64], NDArray[np.float64], bool]:
    """The Lagrangian bound of the best multipliers HiGHS found within
    ``iterations`` simplex iterations, those multipliers, the sites' LP values
    and whether the LP was solved to optimality."""
    import highspy

    m, n = red.n_rows, red.n_cols
    lam_plain = plain_multipliers(red)
    plain, _ = lagrangian_bound(red, lam_plain, k)
    h = quiet_highs()
    for key, value in {"threads": 1, "random_seed": seed, "time_limit": max(0.5, time_limit_s),
                       "simplex_iteration_limit": int(iterations)}.items():
        h.setOptionValue(key, value)
    # variables: lam (m), pi, mu (n); rows: one per site
    A = sp.hstack([red.cols.T.tocsr(), sp.csr_matrix(-np.ones((n, 1))),
                   -sp.identity(n, format="csr")], format="csr")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + 1 + n, n
    lp.col_cost_ = np.concatenate([-red.need.astype(float), [float(k)], np.ones(n)])
    lp.col_lower_ = np.zeros(m + 1 + n)
    lp.col_upper_ = np.concatenate([red.weight / red.need, np.full(n + 1, np.inf)])
    lp.row_lower_, lp.row_upper_ = np.full(n, -np.inf), np.zeros(n)
    lp.offset_ = float(red.weight.sum())
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h.passModel(lp)
    h.run()
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    sol = h.getSolution()
    x = np.zeros(n)
    if not sol.value_valid:
        return plain, lam_plain, x, False
    lam = np.asarray(sol.col_value)[:m]
    bound, _ = lagrangian_bound(red, lam, k)
    if sol.dual_valid:
        x = np.clip(-np.asarray(sol.row_dual), 0.0, 1.0)
    if plain < bound:
        return plain, lam_plain, x, optimal
    return bound, lam, x, optimal
