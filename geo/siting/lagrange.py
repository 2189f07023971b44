"""Upper bounds on the reduced model that hold whatever the solver did.

Relax each row's link ``need_r * y_r <= sum_j a_rj x_j`` with a multiplier
``0 <= lam_r <= weight_r / need_r``. What is left splits into rows and
columns: for any set of at most ``k`` columns the value is at most

    L(lam) = sum_r (weight_r - need_r lam_r) + top-k positive of s_j,
    s_j = sum_r a_rj lam_r,

so ``L(lam)`` bounds the optimum for every ``lam`` (the best ``lam`` gives the
LP bound). Forcing column ``j`` open gives the same sum with ``s_j`` in the top
``k``: a bound on every solution that opens ``j``. A column whose bound is below
a known solution's value can be left out of any search for a better one, and
the bound of the whole problem is then the larger of the search's bound and
the largest of those left out.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from circle15.geo.siting.reduce import Reduced


def clip_multipliers(red: Reduced, lam: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.clip(lam, 0.0, red.weight / red.need)


def bound_of_scores(rest: float, s: NDArray[np.float64], k: int) -> float:
    """``rest`` plus the ``k`` largest positive column scores."""
    return rest + float(np.sort(np.maximum(s, 0.0))[::-1][:k].sum())


def lagrangian_bound(red: Reduced, lam: NDArray[np.float64], k: int
                     ) -> tuple[float, NDArray[np.float64]]:
    """``L(lam)`` and the column scores ``s``; ``lam`` is clipped to its range first."""
    lam = clip_multipliers(red, lam)
    s = np.asarray(red.cols.T @ lam).ravel()
    return bound_of_scores(float((red.weight - red.need * lam).sum()), s, k), s


def column_bounds(red: Reduced, lam: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """For each column, an upper bound on the value of any solution that opens it."""
    total, s = lagrangian_bound(red, lam, k)
    return column_bounds_of(total, s, k)


def column_bounds_of(total: float, s: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Per-column bounds from a bound ``total`` and the column scores ``s`` giving it."""
    pos = np.maximum(s, 0.0)
    if k >= s.size:
        return np.full(s.size, total)
    kth = float(np.sort(pos)[::-1][k - 1])
    # outside the top k: swap the k-th score for its own; inside: the bound itself
    return np.where(pos >= kth, total, total - kth + s)


def plain_multipliers(red: Reduced) -> NDArray[np.float64]:
    """``weight / need``: every row's value moved onto the columns (the bound is
    the sum of the k best single-site values, each counting a row fully)."""
    return red.weight / red.need
