"""Exact k-site models on the reduced model, with a bound that is always valid.

1. The LP relaxation, solved in its dual form (:mod:`.dual`: one row per
   site, so the basis stays small) and tightened by cuts for the rows that
   need two sites; its multipliers give a Lagrangian bound
   (:mod:`.lagrange`) that is valid even if the iteration limit stops it.
2. The best known solution: greedy with swaps, the LP's k largest sites
   improved by swaps, then an iterated local search (:mod:`.search`) while the
   gap is above the target.
3. Columns whose bound (any solution opening them) is below the best known
   solution are left out: they cannot be in a better one.
4. HiGHS solves the MILP over the columns left, started from the best known
   solution. Its bound covers those columns; the columns left out are bounded
   by step 3; the reported bound is the smaller of that and step 1's.

Every limit is a count (simplex iterations, local-search moves,
branch-and-bound nodes), HiGHS runs with one thread and a fixed seed, and the
local search draws from a seeded generator, so the same input gives the same
answer on any machine load; the time limit is only a safety net.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.siting.dual import lp_dual
from circle15.geo.siting.greedy import swap_reduced
from circle15.geo.siting.lagrange import column_bounds_of
from circle15.geo.siting.milp import solve_milp
from circle15.geo.siting.reduce import Reduced
from circle15.geo.siting.search import improve


@dataclass(frozen=True)
class Limits:
    """Work limits of one exact solve (counts, so runs repeat exactly)."""

    #: stop once the proven relative gap is at most this (0.5 %)
    gap: float = 0.005
    #: simplex iterations for the LP bound (its dual form)
    lp_iterations: int = 100_000
    #: rounds of cuts for rows that need two sites (:mod:`.dual`)
    cut_rounds: int = 3
    #: branch-and-bound nodes of the final MILP
    mip_nodes: int = 2_000
    #: the final MILP is skipped when more columns than this survive step 2
    mip_columns: int = 600
    #: ... and when the gap is already within ``gap``, unless at most this many
    #: survive (then it is cheap to prove the optimum)
    exact_columns: int = 200
    #: moves of the iterated local search (:mod:`.search`) when the start and
    #: the rounded LP leave a gap above ``gap``
    search_moves: int = 150
    #: safety net only
    time_limit_s: float = 60.0
    seed: int = 0


@dataclass(frozen=True)
class Certified:
    """Columns of the reduced model chosen, their value, and the proof."""

    chosen: NDArray[np.int64]
    value: float
    bound: float
    status: str
    notes: tuple[str, ...]

    @property
    def gap(self) -> float:
        return relative_gap(self.value, self.bound)


def relative_gap(value: float, bound: float) -> float:
    return max(0.0, bound - value) / max(abs(value), 1e-9)


def restricted(red: Reduced, cols: NDArray[np.int64]
               ) -> tuple[sp.csr_matrix, NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Rows that the columns ``cols`` can raise to their need, over those columns."""
    sub = red.rows[:, cols].tocsr()
    ok = np.flatnonzero(np.diff(sub.indptr) >= red.need)
    return sub[ok], red.weight[ok], red.need[ok], ok


def model(sub: sp.csr_matrix, weight: NDArray[np.float64], need: NDArray[np.int64], k: int
          ) -> tuple[NDArray[np.float64], sp.csr_matrix, NDArray[np.float64]]:
    """``min -w.y`` s.t. ``sum x <= k``, ``need_r y_r - sum_j a_rj x_j <= 0``; columns x then y."""
    m, n = sub.shape
    c = np.concatenate([np.zeros(n), -weight])
    budget = sp.csr_matrix(np.concatenate([np.ones(n), np.zeros(m)])[None, :])
    link = sp.hstack([-sub, sp.diags(need.astype(float), format="csr")], format="csr")
    A = sp.vstack([budget, link], format="csr")
    return c, A, np.concatenate([[float(k)], np.zeros(m)])


def certify(red: Reduced, k: int, start: NDArray[np.int64], limits: Limits) -> Certified:
    """Best k columns of ``red`` with a proven bound (see the module docstring)."""
    t0 = time.perf_counter()
    deadline = t0 + limits.time_limit_s
    best = np.asarray(start, dtype=np.int64)
    value = red.value(best)
    if red.n_cols <= k:
        every = np.arange(red.n_cols, dtype=np.int64)
        return Certified(every, red.value(every), red.value(every), "optimal",
                         ("every useful candidate fits in k",))
    lp = lp_dual(red, k, iterations=limits.lp_iterations, cut_rounds=limits.cut_rounds,
                 time_limit_s=deadline - time.perf_counter(), seed=limits.seed)
    bound, x_lp = lp.bound, lp.x
    cuts = f" with {lp.cuts:,} cuts" if lp.cuts else ""
    notes = [f"LP bound{cuts}{'' if lp.solved else ' (LP stopped early; Lagrangian)'}: "
             f"{bound:,.1f} ({time.perf_counter() - t0:.1f} s)"]
    # the LP's k largest sites, improved by swaps, may beat the start
    rounded = swap_reduced(red, np.sort(np.argsort(-x_lp, kind="stable")[:k]))
    if red.value(rounded) > value + 1e-9:
        best, value = rounded, red.value(rounded)
        notes.append(f"rounded LP solution improves the start to {value:,.1f}")
    if relative_gap(value, bound) > limits.gap and limits.search_moves > 0:
        found, better = improve(red, k, best, moves=limits.search_moves, seed=limits.seed,
                                stop_at=bound, deadline=deadline)
        if red.value(found) > value + 1e-9:
            notes.append(f"local search ({better} of {limits.search_moves} moves kept) "
                         f"improves it from {value:,.1f} to {red.value(found):,.1f}")
            best, value = found, red.value(found)
    if relative_gap(value, bound) <= 1e-9:
        return Certified(best, value, bound, "optimal", tuple(notes))
    per_col = column_bounds_of(bound, lp.scores, k)
    keep = np.flatnonzero(per_col >= value - 1e-6 * max(1.0, abs(value)))
    keep = np.union1d(keep, best).astype(np.int64)
    left_out = np.setdiff1d(np.arange(red.n_cols), keep)
    out_bound = float(per_col[left_out].max()) if left_out.size else -np.inf
    notes.append(f"{keep.size:,} of {red.n_cols:,} candidates can beat the best so far")
    if relative_gap(value, bound) <= limits.gap and keep.size > limits.exact_columns:
        return Certified(best, value, bound, status_of(value, bound, limits), tuple(notes))
    if time.perf_counter() > deadline:
        notes.append("time limit reached before the branch and bound")
        return Certified(best, value, bound, status_of(value, bound, limits), tuple(notes))
    if keep.size > limits.mip_columns:
        notes.append(f"more than {limits.mip_columns:,} for the branch and bound; "
                     "best solution so far kept")
        return Certified(best, value, bound, status_of(value, bound, limits), tuple(notes))
    sub, w, need, _ = restricted(red, keep)
    c, A, upper = model(sub, w, need, k)
    n = keep.size
    integral = np.concatenate([np.ones(n, dtype=bool), need == 2])
    x0 = np.isin(keep, best).astype(float)
    reach = sub @ x0
    y0 = np.where(need == 2, (reach >= 2).astype(float), np.minimum(1.0, reach))
    out = solve_milp(c, integral, A, np.full(upper.size, -np.inf), upper,
                     time_limit_s=max(1.0, deadline - time.perf_counter()),
                     options={"mip_rel_gap": 0.0, "mip_max_nodes": limits.mip_nodes},
                     start=np.concatenate([x0, y0]))
    if out.x is not None:
        found = keep[out.x[:n] > 0.5]
        if red.value(found) > value + 1e-9:
            best, value = found, red.value(found)
    if out.bound is not None:
        bound = min(bound, max(-out.bound, out_bound))
    notes.append(f"branch and bound: {out.status}, {out.nodes:,} node(s) "
                 f"({time.perf_counter() - t0:.1f} s)")
    return Certified(best, value, max(bound, value), status_of(value, bound, limits),
                     tuple(notes))


def status_of(value: float, bound: float, limits: Limits) -> str:
    """``optimal`` (no gap), ``gap-limited`` (proven within the target gap) or
    ``limit`` (stopped by a work or time limit with a larger gap)."""
    gap = relative_gap(value, bound)
    if gap <= 1e-9 or bound - value < 1e-6:
        return "optimal"
    return "gap-limited" if gap <= limits.gap else "limit"
