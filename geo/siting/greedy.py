"""Greedy siting, and greedy with single-swap local search (vertex substitution)
on the reduced model."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.siting.problem import SitingProblem, column, gains_of
from circle15.geo.siting.reduce import Reduced


def greedy(problem: SitingProblem, k: int, objective: str, first_weight: float,
            stop_when: float | None = None) -> NDArray[np.int64]:
    """Pick the site with the largest marginal gain, k times (or until a target)."""
    counts = problem.base_count.copy()
    chosen: list[int] = []
    open_mask = np.zeros(problem.n_candidates, dtype=bool)
    covered = float(problem.weight[counts >= 1].sum())
    while len(chosen) < k:
        if stop_when is not None and covered >= stop_when - 1e-9:
            break
        g = gains_of(problem, counts, objective, first_weight)
        g[open_mask] = -1.0
        j = int(np.argmax(g))
        if g[j] <= 0:
            break
        chosen.append(j)
        open_mask[j] = True
        counts = counts + column(problem, j)
        covered = float(problem.weight[counts >= 1].sum())
    return np.asarray(chosen, dtype=np.int64)


# ---------------------------------------------------------------------------
# greedy and swaps on the reduced model (what the solver and the curve share)


def step_value(red: Reduced, counts: NDArray[np.int64], lead: float = 0.0
               ) -> NDArray[np.float64]:
    """What one more new site reaching each row adds (``lead`` credits the first
    of two sites a row needs, as a share of its weight)."""
    value = np.where(counts == red.need - 1, red.weight, 0.0)
    if lead > 0:
        value = value + np.where((red.need == 2) & (counts == 0), lead * red.weight, 0.0)
    return value


def greedy_reduced(red: Reduced, k: int, lead: float = 0.0) -> NDArray[np.int64]:
    """Columns picked one at a time by marginal gain (ties: the first column)."""
    return refill(red, np.zeros(0, dtype=np.int64), k, lead)


def refill(red: Reduced, kept: NDArray[np.int64], k: int, lead: float) -> NDArray[np.int64]:
    """``kept`` plus columns picked greedily until there are ``k`` (or none adds anything)."""
    counts = red.counts(kept)
    taken = np.zeros(red.n_cols, dtype=bool)
    taken[kept] = True
    chosen = kept.tolist()
    while len(chosen) < min(k, red.n_cols):
        g = red.cols.T @ step_value(red, counts, lead)
        g[taken] = -1.0
        j = int(np.argmax(g))
        if g[j] <= 0:
            break
        chosen.append(j)
        taken[j] = True
        counts[red.cols.indices[red.cols.indptr[j]:red.cols.indptr[j + 1]]] += 1
    return np.asarray(chosen, dtype=np.int64)


def spread(rows: sp.csr_matrix, which: NDArray[np.int64], values: NDArray[np.float64]
           ) -> NDArray[np.float64]:
    """``rows[which].T @ values`` without building the slice (called very often)."""
    starts = rows.indptr[which]
    lens = rows.indptr[which + 1] - starts
    at = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
    out = np.bincount(rows.indices[at], weights=np.repeat(values, lens),
                      minlength=rows.shape[1])
    return out.astype(np.float64)


def swap_reduced(red: Reduced, chosen: NDArray[np.int64], *, max_rounds: int = 200
                 ) -> NDArray[np.int64]:
    """Best single swap (open column out, closed column in) while one raises the
    value. Gains after closing a column are the current gains corrected on its
    rows only, so a round costs about k small sparse products."""
    chosen = chosen.copy()
    if chosen.size == 0:
        return chosen
    cols, rows = red.cols, red.rows
    counts = red.counts(chosen)
    for _ in range(max_rounds):
        value = step_value(red, counts)
        gains = cols.T @ value
        best_delta, best = 1e-9, None
        for pos, i in enumerate(chosen.tolist()):
            r = cols.indices[cols.indptr[i]:cols.indptr[i + 1]]
            loss = float(red.weight[r][counts[r] == red.need[r]].sum())
            after = counts[r] - 1
            delta_r = np.where(after == red.need[r] - 1, red.weight[r], 0.0) - value[r]
            moved = delta_r != 0
            g = gains + spread(rows, r[moved], delta_r[moved])
            g[chosen] = -np.inf
            j = int(np.argmax(g))
            if g[j] - loss > best_delta:
                best_delta, best = g[j] - loss, (pos, j)
        if best is None:
            break
        pos, j = best
        out = int(chosen[pos])
        counts[cols.indices[cols.indptr[out]:cols.indptr[out + 1]]] -= 1
        counts[cols.indices[cols.indptr[j]:cols.indptr[j + 1]]] += 1
        chosen[pos] = j
    return chosen


def greedy_swap(red: Reduced, k: int, *, cross: bool = False, first_weight: float = 0.0
                ) -> NDArray[np.int64]:
    """Greedy then swaps, on the reduced model; for cross coverage the best of
    runs that credit the first of two needed sites at 0, 0.25 and 0.5 of a
    person (less what ``first_weight`` already pays). Columns of ``red``."""
    leads = sorted({0.0, max(0.0, 0.25 - first_weight), max(0.0, 0.5 - first_weight)}) \
        if cross else [0.0]
    best, best_val = np.empty(0, dtype=np.int64), -1.0
    for lead in leads:
        chosen = swap_reduced(red, greedy_reduced(red, k, lead))
        val = red.value(chosen)
        if val > best_val + 1e-9:
            best, best_val = chosen, val
    return best
