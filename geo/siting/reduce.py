"""The model the solver sees: only what can change the answer, merged.

Every siting objective is a sum over units of ``weight`` earned once
``need`` new sites reach the unit (coverage: units no station reaches, need 1;
cross: units one station reaches, need 1, and units none reaches, need 2; the
``first_weight`` share of the latter again at need 1). :func:`reduce` turns a
:class:`SitingProblem` into that form and shrinks it without changing the
optimum of any budget ``k``:

- units that no candidate can raise to their need are dropped (they earn
  nothing whichever sites open);
- units with the same need and the same set of candidates become one row,
  weights summed;
- a candidate whose units are a subset of those of ``m`` other kept
  candidates (``m`` = the largest need, identical candidates included) is
  dropped. In an optimal set holding it, either one of its ``m`` dominators is
  closed and opening that one instead loses nothing (every unit it reached is
  reached as often, others more), or all ``m`` are open and its units already
  have all the new sites they need, so it adds nothing.

The reduced model's value of a set of kept candidates is exactly the original
objective of those sites, so solutions, bounds and gaps carry over unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.coverage.count import CROSS_COVERAGE
from circle15.geo.siting.problem import SitingProblem


@dataclass(frozen=True, eq=False)
class Reduced:
    """Merged units (rows) × kept candidates (columns), each row with its weight
    and the number of new sites it needs; ``columns`` maps a column to its
    candidate in the problem."""

    rows: sp.csr_matrix
    cols: sp.csc_matrix
    weight: NDArray[np.float64]
    need: NDArray[np.int64]
    columns: NDArray[np.int64]
    #: units that can gain and candidates, before reduction
    units_in: int
    candidates_in: int

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])

    @property
    def n_cols(self) -> int:
        return int(self.rows.shape[1])

    def counts(self, chosen: NDArray[np.int64]) -> NDArray[np.int64]:
        """New sites reaching each row once the ``chosen`` columns are open."""
        x = np.zeros(self.n_cols)
        x[chosen] = 1.0
        return np.rint(self.rows @ x).astype(np.int64)

    def value(self, chosen: NDArray[np.int64]) -> float:
        return float(self.weight[self.counts(chosen) >= self.need].sum())

    def describe(self) -> str:
        return (f"model reduced from {self.units_in:,} units × {self.candidates_in:,} "
                f"candidates to {self.n_rows:,} rows × {self.n_cols:,} candidates")


def merge_rows(rows: sp.csr_matrix, weight: NDArray[np.float64], need: NDArray[np.int64]
               ) -> tuple[sp.csr_matrix, NDArray[np.float64], NDArray[np.int64]]:
    """Rows with the same need and the same columns become one, weights summed
    (kept in order of first appearance, so the result is deterministic)."""
    rows = rows.tocsr()
    rows.sort_indices()
    if rows.shape[0] == 0:
        return rows, weight, need
    ind, ptr = rows.indices.astype(np.int32), rows.indptr
    keys = [need[i].tobytes() + ind[ptr[i]:ptr[i + 1]].tobytes() for i in range(rows.shape[0])]
    group, _ = pd.factorize(pd.Series(keys, dtype=object))
    first = np.full(int(group.max()) + 1, -1, dtype=np.int64)
    first[group[::-1]] = np.arange(group.size)[::-1]
    w = np.bincount(group, weights=weight).astype(np.float64)
    return rows[first], w, need[first]


def undominated(rows: sp.csr_matrix, copies: int) -> NDArray[np.bool_]:
    """Columns to keep: a column goes when ``copies`` kept columns each reach all
    its rows. Larger columns are decided first, ties by position, so of identical
    columns the first ``copies`` stay."""
    n = rows.shape[1]
    cols = sp.csc_matrix(rows, dtype=np.float64)
    cols_t = cols.T.tocsr()
    size = np.diff(cols.indptr)
    keep = np.zeros(n, dtype=bool)
    order = np.lexsort((np.arange(n), -size))
    # the overlaps of a block of columns at a time, in the order they are decided: all of
    # them at once (48,000 neighbouring candidates) took half a gigabyte
    for start in range(0, n, _OVERLAP_BLOCK):
        block = order[start:start + _OVERLAP_BLOCK]
        overlap = (cols_t[block] @ cols).tocsr()
        for row, j in enumerate(block.tolist()):
            if size[j] == 0:
                continue
            lo, hi = overlap.indptr[row], overlap.indptr[row + 1]
            other = overlap.indices[lo:hi]
            cover = (overlap.data[lo:hi] >= size[j] - 0.5) & keep[other] & (other != j)
            keep[j] = int(cover.sum()) < copies
    return keep


#: columns whose overlaps with every other are worked out together
_OVERLAP_BLOCK = 2_000


def reduce(problem: SitingProblem, objective: str, first_weight: float = 0.0) -> Reduced:
    """The reduced model of ``objective`` (``coverage`` or ``cross``) on ``problem``."""
    A, c0, w = problem.matrix, problem.base_count, problem.weight
    deg = np.diff(A.indptr)
    parts: list[tuple[NDArray[np.bool_], int, float]]
    if objective == "coverage":
        parts = [(c0 == 0, 1, 1.0)]
    else:
        parts = [(c0 == CROSS_COVERAGE - 1, 1, 1.0), (c0 == 0, CROSS_COVERAGE, 1.0)]
        if first_weight > 0:
            parts.append((c0 == 0, 1, first_weight))
    units, needs, weights = [], [], []
    for mask, part_need, scale in parts:
        idx = np.flatnonzero(mask & (deg >= part_need) & (w > 0))
        units.append(idx)
        needs.append(np.full(idx.size, part_need, dtype=np.int64))
        weights.append(w[idx] * scale)
    unit = np.concatenate(units)
    rows, weight, need = merge_rows(A[unit], np.concatenate(weights), np.concatenate(needs))
    n_units = int(np.unique(unit).size)
    copies = int(need.max()) if need.size else 1
    keep = undominated(rows, copies)
    columns = np.flatnonzero(keep).astype(np.int64)
    rows = rows[:, columns]
    ok = np.diff(rows.indptr) >= need
    rows, weight, need = merge_rows(rows[ok], weight[ok], need[ok])
    rows = sp.csr_matrix(rows, dtype=np.float64)
    return Reduced(rows, rows.tocsc(), weight, need, columns, n_units, problem.n_candidates)
