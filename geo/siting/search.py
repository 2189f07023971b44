"""Iterated local search on the reduced model: a stronger incumbent than
greedy with single swaps, for the objectives where sites pay in pairs.

Single swaps stall on the cross objective because a unit no station reaches
pays only once two new sites reach it: moving a pair of sites takes two swaps
and the first loses value. Each move here closes a few open sites that share
rows (one drawn at random and up to two of its neighbours among the open
sites), refills the budget greedily (crediting the first of two needed sites
at 0, 0.25 or 0.5 of a person, drawn at random) and improves the result by
single swaps; the move is kept only if it raises the value.

The number of moves is a count and the draws come from a generator with a
fixed seed, so the same model and start give the same answer on any machine
load; the deadline is a safety net only.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray

from circle15.geo.siting.greedy import refill, swap_reduced
from circle15.geo.siting.reduce import Reduced

LEADS = (0.0, 0.25, 0.5)


def neighbours(red: Reduced, chosen: NDArray[np.int64], pos: int) -> NDArray[np.int64]:
    """Positions in ``chosen`` of the other open columns sharing a row with ``chosen[pos]``."""
    j = int(chosen[pos])
    rows = red.cols.indices[red.cols.indptr[j]:red.cols.indptr[j + 1]]
    shared = np.asarray(red.rows[rows][:, chosen].sum(axis=0)).ravel()
    shared[pos] = 0
    return np.flatnonzero(shared > 0)


def improve(red: Reduced, k: int, start: NDArray[np.int64], *, moves: int, seed: int = 0,
            stop_at: float = np.inf, deadline: float = np.inf
            ) -> tuple[NDArray[np.int64], int]:
    """The best of ``moves`` close-refill-swap moves from ``start`` (see the module
    docstring), and how many moves improved it. Stops early once the value
    reaches ``stop_at`` (e.g. a proven bound)."""
    best = np.asarray(start, dtype=np.int64).copy()
    if best.size < 2 or red.n_cols <= best.size:
        return best, 0
    value = red.value(best)
    rng = np.random.default_rng(seed)
    better = 0
    for _ in range(moves):
        if value >= stop_at - 1e-9 or time.perf_counter() > deadline:
            break
        pos = int(rng.integers(best.size))
        near = neighbours(red, best, pos)
        extra = int(rng.integers(1, 3))
        if near.size:
            drop = np.concatenate([[pos], rng.choice(near, min(near.size, extra),
                                                     replace=False)])
        else:
            other = np.delete(np.arange(best.size), pos)
            drop = np.array([pos, int(rng.choice(other))])
        lead = float(LEADS[int(rng.integers(len(LEADS)))])
        trial = swap_reduced(red, refill(red, np.delete(best, drop), k, lead))
        trial_value = red.value(trial)
        if trial_value > value + 1e-9:
            best, value = trial, trial_value
            better += 1
    return best, better
