"""The siting problem: candidates, whom each reaches, the existing coverage, and
the result type; the objective pieces every solver shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from circle15.geo.coverage.count import CROSS_COVERAGE, Coverage
from circle15.geo.coverage.reach import reach_within
from circle15.geo.errors import SitingError
from circle15.geo.forked import trim_heap
from circle15.geo.population.cache import release_mapped
from circle15.geo.siting.candidates import Candidates
from circle15.geo.vocab import Objective as ObjectiveName
from circle15.geo.vocab import words

Objective = Literal["coverage", "cross", "target"]
Method = Literal["exact", "greedy"]
OBJECTIVES = words(ObjectiveName)


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Candidates, who each reaches, and the coverage existing stations give."""

    coverage: Coverage
    candidates: Candidates
    #: existing stations reaching each unit within the limit
    base_count: NDArray[np.int64]
    #: units × candidates, True where the candidate reaches the unit
    matrix: sp.csr_matrix
    weight: NDArray[np.float64]
    #: work done once per problem and reused (reduced models, greedy starts)
    memo: dict[tuple[object, ...], object] = field(default_factory=dict, repr=False)

    @property
    def n_candidates(self) -> int:
        return len(self.candidates)

    @property
    def total(self) -> float:
        return float(self.weight.sum())

    def counts_with(self, chosen: NDArray[np.int64]) -> NDArray[np.int64]:
        """Stations reaching each unit once the ``chosen`` candidates are opened."""
        return self.base_count + reaching(self.matrix, np.asarray(chosen, dtype=np.int64))

    def coverable(self) -> float:
        """People whom some existing station or candidate can reach."""
        reachable = (self.base_count >= 1) | (np.diff(self.matrix.indptr) > 0)
        return float(self.weight[reachable].sum())


def build_problem(cov: Coverage, candidates: Candidates, *, progress: bool = False
                  ) -> SitingProblem:
    """Search from every candidate (bounded by the coverage limit) and set up the models."""
    if len(candidates) == 0:
        raise SitingError("there are no candidate sites")
    n_units = len(cov.population)
    existing = cov.unit_count[-1].astype(np.int64)
    # only people a new site can change anything for: those with no station or one within
    # the limit (two or more are covered and cross-covered whatever is added); searched
    # as targets, the others cost memory for nothing
    open_units = np.flatnonzero(existing <= 1)
    targets = cov.population.snapped.take(open_units)
    # the cached layer's joins were read through once to take them: their pages go back
    release_mapped(cov.population.snapped)
    found, _, _ = reach_within(cov.network, candidates.snapped, targets,
                               limit_m=cov.settings.limit_m, progress=progress,
                               keep_nodes=False)
    del targets
    # the pairs come sorted by candidate: a column-wise matrix straight from them, turned
    # row-wise (no coordinate-list copies; the distances are not kept: at district scale
    # with shops and nodes, 12 million pairs, they were 0.2 GB held for nothing)
    indptr = np.searchsorted(found.source, np.arange(len(candidates) + 1)).astype(np.int64)
    units = open_units[found.target].astype(np.int32)
    del found
    by_column = sp.csc_matrix((np.ones(units.size, dtype=np.float64), units, indptr),
                              shape=(n_units, len(candidates)))
    del units, indptr
    matrix = by_column.tocsr()
    del by_column
    matrix.sort_indices()
    trim_heap()
    return SitingProblem(cov, candidates, existing, matrix, cov.population.count.astype(float))


# ---------------------------------------------------------------------------
# the result


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Chosen sites, in order of their marginal gain, and what they achieve.

    ``marginal_gain[r]`` is what site ``chosen[r]`` adds to the objective once
    the sites ranked before it are open (people; for ``cross`` people newly
    cross-covered plus ``first_weight`` × people newly covered). ``bound`` is
    the solver's proven bound on the optimum and ``gap`` its relative distance
    from the objective (0 = proven optimal); both are None for greedy.
    """

    objective: str
    method: str
    chosen: NDArray[np.int64]
    marginal_gain: NDArray[np.float64]
    objective_value: float
    bound: float | None
    gap: float | None
    solve_time_s: float
    status: str
    population: float
    covered_before: float
    covered_after: float
    cross_before: float
    cross_after: float
    candidates: Candidates
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def k(self) -> int:
        return int(self.chosen.size)

    def sites_frame(self) -> gpd.GeoDataFrame:
        """The chosen sites with rank, marginal gain and cumulative gain."""
        frame = self.candidates.frame.iloc[self.chosen].reset_index(drop=True)
        frame.insert(0, "rank", np.arange(1, self.k + 1))
        frame["marginal_gain"] = np.round(self.marginal_gain, 1)
        frame["cumulative_gain"] = np.round(np.cumsum(self.marginal_gain), 1)
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=self.candidates.frame.crs)

    def summary(self) -> dict[str, object]:
        return {
            "objective": self.objective, "method": self.method, "sites": self.k,
            "objective_value": round(self.objective_value, 1),
            "bound": None if self.bound is None else round(self.bound, 1),
            "gap": self.gap, "solve_time_s": round(self.solve_time_s, 3),
            "status": self.status, "population": self.population,
            "covered_before": self.covered_before, "covered_after": self.covered_after,
            "cross_before": self.cross_before, "cross_after": self.cross_after,
            "notes": " ".join(self.notes),
        }


# ---------------------------------------------------------------------------
# objective pieces shared by the greedy and the ranking of exact solutions


def unit_value(counts: NDArray[np.int64], objective: str, first_weight: float
                ) -> NDArray[np.float64]:
    """What one more station reaching a unit adds, per person, given its count."""
    if objective == "cross":
        return np.where(counts == CROSS_COVERAGE - 1, 1.0,
                        np.where(counts == 0, first_weight, 0.0))
    return (counts == 0).astype(float)


def gains_of(problem: SitingProblem, counts: NDArray[np.int64], objective: str,
           first_weight: float) -> NDArray[np.float64]:
    value = problem.weight * unit_value(counts, objective, first_weight)
    return np.asarray(problem.matrix.T @ value).ravel()


def objective_of(problem: SitingProblem, counts: NDArray[np.int64], objective: str,
                  first_weight: float) -> float:
    """Objective value of a final count vector relative to the existing stations."""
    w, c0 = problem.weight, problem.base_count
    new_cov = float(w[(counts >= 1) & (c0 == 0)].sum())
    if objective == "cross":
        new_cross = float(w[(counts >= CROSS_COVERAGE) & (c0 < CROSS_COVERAGE)].sum())
        return new_cross + first_weight * new_cov
    return new_cov


def rank_sites(problem: SitingProblem, chosen: NDArray[np.int64], objective: str,
          first_weight: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Order chosen sites greedily by marginal gain; return order and gains."""
    counts = problem.base_count.copy()
    left = list(chosen.tolist())
    order, gains = [], []
    while left:
        g = gains_of(problem, counts, objective, first_weight)[left]
        i = int(np.argmax(g))
        j = left.pop(i)
        order.append(j)
        gains.append(float(g[i]))
        counts = counts + column(problem, j)
    return np.asarray(order, dtype=np.int64), np.asarray(gains)


def column(problem: SitingProblem, j: int) -> NDArray[np.int64]:
    """Units candidate ``j`` reaches, as a 0/1 vector."""
    return reaching(problem.matrix, np.asarray([j], dtype=np.int64))


def reaching(matrix: sp.csr_matrix, cols: NDArray[np.int64]) -> NDArray[np.int64]:
    """How many of the candidates ``cols`` reach each unit (row), read off the row-wise
    matrix with one flag per pair: a column selection or a by-column copy of the
    district's 12 million pairs took a few hundred megabytes at the end of a solve."""
    hit = np.isin(matrix.indices, cols)
    out = np.zeros(matrix.shape[0], dtype=np.int64)
    filled = np.flatnonzero(np.diff(matrix.indptr) > 0)
    if filled.size:
        out[filled] = np.add.reduceat(hit, matrix.indptr[filled], dtype=np.int64)
    return out


