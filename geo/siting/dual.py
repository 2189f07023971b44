"""The LP bound of the reduced model, solved in its dual form, with cuts.

The LP relaxation of the reduced model (``max w.y``, ``need_r y_r <= sum_j
a_rj x_j``, ``sum x <= k``, ``0 <= x, y <= 1``) has a row per demand row (tens
of thousands) and a column per site (a few thousand). Its dual is the
Lagrangian dual of :mod:`.lagrange` written as an LP,

    min  sum_r (w_r - need_r lam_r) + k pi + sum_j mu_j
    s.t. sum_r a_rj lam_r - pi - mu_j <= 0     for every site j
         0 <= lam_r <= w_r / need_r,  pi, mu >= 0,

with one row per site: the simplex basis is a few thousand wide instead of
tens of thousands, which makes it many times faster than the primal (or
column generation on it) at district scale. The sites' LP values ``x`` are the
duals of the site rows.

A row that needs two new sites is worth nothing with one, yet the LP credits
half of it to a single open site. The cut ``y_r <= sum_{j in N_r, j != i} x_j``
(some site other than ``i`` must reach ``r``) is valid for every ``i``; the
most violated one per row is added, for a fixed number of rounds, as a dual
variable ``nu`` (cost -1, in the rows of the sites other than ``i``, and in a
row ``need_r lam_r + sum nu <= w_r``).

Whatever HiGHS returns, the bound reported is recomputed from the multipliers
(:func:`.lagrange.bound_of_scores`, never the solver's objective), so it is
valid even when the iteration limit stops it early.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.siting.lagrange import bound_of_scores, plain_multipliers
from circle15.geo.siting.milp import quiet_highs
from circle15.geo.siting.reduce import Reduced


@dataclass(frozen=True)
class DualBound:
    """A valid bound, the column scores that give it (for per-column bounds),
    the sites' LP values, whether the last LP was solved to optimality, and
    the cuts added."""

    bound: float
    scores: NDArray[np.float64]
    x: NDArray[np.float64]
    solved: bool
    cuts: int


def cut_matrix(red: Reduced, cut_row: NDArray[np.int64], cut_out: NDArray[np.int64]
               ) -> sp.csr_matrix:
    """One row per cut: the sites reaching its demand row, less the one left out."""
    sub = red.rows[cut_row].tocoo()
    keep = sub.col != cut_out[sub.row]
    return sp.csr_matrix((np.ones(int(keep.sum())), (sub.row[keep], sub.col[keep])),
                         shape=(cut_row.size, red.n_cols))


def evaluate(red: Reduced, lam: NDArray[np.float64], nu: NDArray[np.float64],
             cut_row: NDArray[np.int64], cuts: sp.csr_matrix, k: int
             ) -> tuple[float, NDArray[np.float64]]:
    """The Lagrangian bound of ``lam`` (rows) and ``nu`` (cuts), and the column scores."""
    lam = np.maximum(lam, 0.0)
    nu = np.maximum(nu, 0.0)
    spent = red.need * lam + np.bincount(cut_row, weights=nu, minlength=red.n_rows)
    scores = np.asarray(red.cols.T @ lam).ravel() + np.asarray(cuts.T @ nu).ravel()
    return bound_of_scores(float(np.maximum(red.weight - spent, 0.0).sum()), scores, k), scores


def violated(red: Reduced, x: NDArray[np.float64], done: set[tuple[int, int]],
             tol: float = 1e-4) -> list[tuple[int, int]]:
    """The most violated cut of each need-2 row at the LP point ``x`` (not added before)."""
    rows = red.rows
    total = rows @ x
    out = []
    for r in np.flatnonzero((red.need == 2) & (total > tol)).tolist():
        cols = rows.indices[rows.indptr[r]:rows.indptr[r + 1]]
        at = int(np.argmax(x[cols]))
        if min(1.0, total[r] / 2) > total[r] - x[cols[at]] + tol and (r, int(cols[at])) not in done:
            out.append((r, int(cols[at])))
    return out


def site_rows(red: Reduced) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float64]]:
    """The LP's constraint matrix, one row per site ``j`` (``sum_r a_rj lam_r - pi -
    mu_j``), given column by column as HiGHS keeps it (start, index, value): column
    ``lam_r`` holds the sites reaching demand row ``r`` (the reduced model's row ``r``),
    then ``pi`` every site, then ``mu_j`` site ``j``. Written straight from the model, no
    stacked sparse copies, no transposition inside HiGHS (at district scale, with
    shops and nodes, those were the run's peak)."""
    rows = red.rows  # demand rows x sites, by row
    m, n = red.n_rows, red.n_cols
    nnz = int(rows.indptr[-1])
    start = np.empty(m + 1 + n + 1, dtype=np.int64)
    start[:m + 1] = rows.indptr
    start[m + 1] = nnz + n  # after pi's column
    start[m + 2:] = nnz + n + 1 + np.arange(n, dtype=np.int64)
    index = np.empty(nnz + 2 * n, dtype=np.int32)
    value = np.empty(nnz + 2 * n, dtype=np.float64)
    index[:nnz], value[:nnz] = rows.indices, rows.data
    index[nnz:nnz + n], value[nnz:nnz + n] = np.arange(n, dtype=np.int32), -1.0
    index[nnz + n:], value[nnz + n:] = np.arange(n, dtype=np.int32), -1.0
    return start, index, value


def lp_dual(red: Reduced, k: int, *, iterations: int, time_limit_s: float, seed: int = 0,
            cut_rounds: int = 0) -> DualBound:
    """The best bound HiGHS's multipliers give within ``iterations`` simplex
    iterations (all solves together) and ``cut_rounds`` rounds of cuts."""
    import highspy

    m, n = red.n_rows, red.n_cols
    lam_plain = plain_multipliers(red)
    no_cut = np.zeros(0, dtype=np.int64)
    empty = sp.csr_matrix((0, n))
    best, scores = evaluate(red, lam_plain, np.zeros(0), no_cut, empty, k)
    x = np.zeros(n)
    h = quiet_highs()
    for key, value in {"threads": 1, "random_seed": seed, "presolve": "off",
                       "time_limit": max(0.5, time_limit_s)}.items():
        h.setOptionValue(key, value)
    # variables: lam (m), pi, mu (n), then one nu per cut; rows: one per site,
    # then one per demand row with cuts
    a_start, a_index, a_value = site_rows(red)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + 1 + n, n
    lp.col_cost_ = np.concatenate([-red.need.astype(float), [float(k)], np.ones(n)])
    lp.col_lower_ = np.zeros(m + 1 + n)
    lp.col_upper_ = np.concatenate([red.weight / red.need, np.full(n + 1, np.inf)])
    lp.row_lower_, lp.row_upper_ = np.full(n, -np.inf), np.zeros(n)
    lp.offset_ = float(red.weight.sum())
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a_start
    lp.a_matrix_.index_ = a_index
    lp.a_matrix_.value_ = a_value
    del a_start, a_index, a_value
    h.passModel(lp)
    del lp  # HiGHS holds its own copy
    cap_of: dict[int, int] = {}
    cut_row: list[int] = []
    cut_out: list[int] = []
    done: set[tuple[int, int]] = set()
    left, solved = int(iterations), False
    for round_no in range(cut_rounds + 1):
        if left <= 0:
            break
        h.setOptionValue("simplex_iteration_limit", left)
        h.run()
        left -= max(1, int(h.getInfo().simplex_iteration_count))
        solved = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        sol = h.getSolution()
        if not sol.value_valid:
            break
        values = np.asarray(sol.col_value)
        rows_of, outs = np.asarray(cut_row, dtype=np.int64), np.asarray(cut_out, dtype=np.int64)
        value, s = evaluate(red, values[:m], values[m + 1 + n:], rows_of,
                            cut_matrix(red, rows_of, outs), k)
        if value < best:
            best, scores = value, s
        if not sol.dual_valid:
            break
        x = np.clip(-np.asarray(sol.row_dual)[:n], 0.0, 1.0)
        if not solved or round_no == cut_rounds:
            break
        new = violated(red, x, done)
        if not new:
            break
        add_cuts(h, red, new, cap_of, n_site_rows=n)
        done.update(new)
        cut_row.extend(r for r, _ in new)
        cut_out.extend(i for _, i in new)
    return DualBound(best, scores, x, solved, len(cut_row))


def add_cuts(highs: Any, red: Reduced, new: list[tuple[int, int]], cap_of: dict[int, int],
             *, n_site_rows: int) -> None:
    """Add the cuts ``new`` as variables, with a cap row for each demand row first cut."""
    fresh = sorted({r for r, _ in new if r not in cap_of})
    if fresh:
        at = n_site_rows + len(cap_of)
        for pos, r in enumerate(fresh):
            cap_of[r] = at + pos
        f = len(fresh)
        highs.addRows(f, np.full(f, -np.inf), red.weight[fresh], f,
                      np.arange(f, dtype=np.int32), np.asarray(fresh, dtype=np.int32),
                      red.need[fresh].astype(float))
    rows_of = np.asarray([r for r, _ in new], dtype=np.int64)
    cm = cut_matrix(red, rows_of, np.asarray([i for _, i in new], dtype=np.int64))
    index: list[int] = []
    start: list[int] = []
    for c, r in enumerate(rows_of.tolist()):
        start.append(len(index))
        index.extend(cm.indices[cm.indptr[c]:cm.indptr[c + 1]].tolist())
        index.append(cap_of[r])
    c = len(new)
    highs.addCols(c, np.full(c, -1.0), np.zeros(c), red.weight[rows_of], len(index),
                  np.asarray(start, dtype=np.int32), np.asarray(index, dtype=np.int32),
                  np.ones(len(index)))
