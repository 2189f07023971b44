"""What-if: add, remove or move stations and see the coverage change.

Only the stations that change are searched: removed stations take their
entries out of the per-unit station counts, added ones bring theirs from a
bounded search of their own. Moving a station is removing it and adding it
again (same id) somewhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from circle15.geo.coverage.count import CROSS_COVERAGE, Coverage, summarise_counts
from circle15.geo.coverage.reach import reach_within
from circle15.geo.errors import InputError, Problem
from circle15.geo.inputs.stations import Stations


@dataclass(frozen=True, eq=False)
class WhatIf:
    """Station counts per unit before and after, per band, and what changed."""

    coverage: Coverage
    unit_count_after: NDArray[np.int64]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        """Before and after, one row per band, with the change."""
        before = self.coverage.summary()
        after = summarise_counts(self.coverage.population.count, self.unit_count_after,
                           self.coverage.settings)
        out = before[["minutes", "population"]].copy()
        for col in ("covered", "cross_covered", "uncovered", "covered_share", "cross_share"):
            out[f"{col}_before"] = before[col]
            out[f"{col}_after"] = after[col]
            out[f"{col}_change"] = after[col] - before[col]
        return out

    def delta(self) -> dict[str, float]:
        """People newly covered, no longer covered, newly and no longer cross-covered
        (within the service limit)."""
        pop = self.coverage.population.count
        b, a = self.coverage.unit_count[-1], self.unit_count_after[-1]
        return {
            "newly_covered": float(pop[(b == 0) & (a >= 1)].sum()),
            "lost_coverage": float(pop[(b >= 1) & (a == 0)].sum()),
            "newly_cross_covered": float(pop[(b < CROSS_COVERAGE) & (a >= CROSS_COVERAGE)].sum()),
            "lost_cross_coverage": float(pop[(b >= CROSS_COVERAGE) & (a < CROSS_COVERAGE)].sum()),
        }


def what_if(cov: Coverage, *, add: Stations | None = None, remove: Sequence[str] = ()
            ) -> WhatIf:
    """Coverage after adding ``add`` and removing the stations with ids ``remove``.

    An added station may reuse the id of a removed one (a move); any other id
    clash, or an unknown id to remove, is an :class:`InputError`.
    """
    ids = cov.stations.ids
    index = {sid: i for i, sid in enumerate(ids)}
    problems = [Problem(f"no station with id {sid!r} to remove", ident=sid)
                for sid in remove if sid not in index]
    removed = set(remove)
    if add is not None:
        for sid in add.ids:
            if sid in index and sid not in removed:
                problems.append(Problem(f"station id {sid!r} already exists; remove it too to "
                                        "move it", ident=sid))
    if problems:
        raise InputError("what-if", problems)
    counts = cov.unit_count.copy()
    bands = cov.settings.bands_m
    if removed:
        gone = np.isin(cov.reach.source, [index[s] for s in removed])
        for j, lim in enumerate(bands):
            sel = gone & (cov.reach.dist_m <= lim)
            counts[j] -= np.bincount(cov.reach.target[sel], minlength=counts.shape[1])
    if add is not None and len(add):
        reach, _, _ = reach_within(cov.network, add.snapped, cov.population.snapped,
                                limit_m=cov.settings.limit_m)
        for j, lim in enumerate(bands):
            counts[j] += reach.count_within(lim)
    return WhatIf(cov, counts, tuple(add.ids) if add is not None else (), tuple(removed))
