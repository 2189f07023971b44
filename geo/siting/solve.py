"""The public siting entry points: k sites, a coverage target, the k-curve."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from circle15.geo.coverage.count import CROSS_COVERAGE
from circle15.geo.errors import SettingsError, SitingError
from circle15.geo.forked import trim_heap
from circle15.geo.siting.certify import Limits, certify
from circle15.geo.siting.greedy import greedy, greedy_swap
from circle15.geo.siting.milp import exact_target
from circle15.geo.siting.problem import (
    Method,
    SitingProblem,
    SitingResult,
    column,
    objective_of,
    rank_sites,
)
from circle15.geo.siting.reduce import Reduced, reduce

# ---------------------------------------------------------------------------
# work shared by every call on one problem


def reduced_of(problem: SitingProblem, objective: str, first_weight: float) -> Reduced:
    """The reduced model of ``objective`` (built once per problem)."""
    key = ("reduced", objective, float(first_weight))
    if key not in problem.memo:
        problem.memo[key] = reduce(problem, objective, first_weight)
        trim_heap()  # the merging's intermediate tables, handed back before the solves
    red = problem.memo[key]
    assert isinstance(red, Reduced)
    return red


def start_of(problem: SitingProblem, k: int, objective: str, first_weight: float
             ) -> NDArray[np.int64]:
    """Greedy with swaps for ``k`` sites, as columns of the reduced model: run
    once per problem and k, and shared by the greedy answer, the exact solver's
    start and the k-curve."""
    key = ("start", objective, float(first_weight), int(k))
    if key not in problem.memo:
        t0 = time.perf_counter()
        red = reduced_of(problem, objective, first_weight)
        problem.memo[key] = greedy_swap(red, k, cross=objective == "cross",
                                        first_weight=first_weight)
        problem.memo[("seconds", *key)] = time.perf_counter() - t0
    cols = problem.memo[key]
    assert isinstance(cols, np.ndarray)
    return cols


def greedy_sites(problem: SitingProblem, k: int, objective: str, first_weight: float
                 ) -> NDArray[np.int64]:
    """Greedy with swaps, as candidate indices of the problem."""
    red = reduced_of(problem, objective, first_weight)
    return red.columns[start_of(problem, k, objective, first_weight)]

# ---------------------------------------------------------------------------
# the public entry points


def finish(problem: SitingProblem, chosen: NDArray[np.int64], *, objective: str, method: str,
            first_weight: float, t0: float, status: str, gap: float | None,
            bound: float | None, notes: list[str]) -> SitingResult:
    rank_objective = "coverage" if objective == "target" else objective
    order, gains = rank_sites(problem, chosen, rank_objective, first_weight)
    after = problem.counts_with(order)
    w, c0 = problem.weight, problem.base_count
    value = (float(order.size) if objective == "target"
             else objective_of(problem, after, objective, first_weight))
    return SitingResult(
        objective=objective, method=method, chosen=order, marginal_gain=gains,
        objective_value=value, bound=bound, gap=gap,
        solve_time_s=time.perf_counter() - t0, status=status, population=problem.total,
        covered_before=float(w[c0 >= 1].sum()), covered_after=float(w[after >= 1].sum()),
        cross_before=float(w[c0 >= CROSS_COVERAGE].sum()),
        cross_after=float(w[after >= CROSS_COVERAGE].sum()),
        candidates=problem.candidates, notes=tuple(notes),
    )


def solve(
    problem: SitingProblem,
    *,
    k: int,
    objective: Literal["coverage", "cross"] = "coverage",
    method: Method = "exact",
    first_weight: float = 0.0,
    time_limit_s: float = 60.0,
    limits: Limits | None = None,
) -> SitingResult:
    """Choose ``k`` new sites maximising newly covered or cross-covered people.

    ``exact`` works on the reduced model (:mod:`.reduce`), starts from greedy
    with swaps and returns the best solution found within the work ``limits``
    (:class:`.certify.Limits`; ``time_limit_s`` is the safety net) with a
    proven bound on the optimum: ``status`` is ``optimal``, ``gap-limited``
    (proven within 0.5 %) or ``limit`` (stopped with a larger gap).
    """
    if objective not in ("coverage", "cross"):
        raise SettingsError(f"objective must be 'coverage' or 'cross', not {objective!r}")
    if method not in ("exact", "greedy"):
        raise SettingsError(f"method must be 'exact' or 'greedy', not {method!r}")
    if not isinstance(k, int | np.integer) or k < 1:
        raise SettingsError(f"k must be a whole number of at least 1, not {k!r}")
    if k > problem.n_candidates:
        raise SettingsError(f"k = {k} is more than the {problem.n_candidates} candidate sites")
    if not 0 <= first_weight <= 1:
        raise SettingsError(f"first_weight must be between 0 and 1, not {first_weight}")
    if problem.matrix.nnz == 0:
        raise SitingError("no candidate site is within walking reach of anyone")
    deg = np.diff(problem.matrix.indptr)
    helps = (problem.base_count == 0) if objective == "coverage" else (
        problem.base_count < CROSS_COVERAGE)
    if not (helps & (deg > 0) & (problem.weight > 0)).any():
        who = "not yet covered" if objective == "coverage" else "not yet cross-covered"
        raise SitingError(f"no candidate site is within walking reach of anyone {who}; "
                          "add candidates nearer the gaps (see the gaps layer)")
    t0 = time.perf_counter()
    notes: list[str] = []
    red = reduced_of(problem, objective, first_weight)
    start = start_of(problem, k, objective, first_weight)
    gap: float | None
    bound: float | None
    if method == "greedy":
        chosen = red.columns[start]
        status, gap, bound = "greedy", None, None
        # its time is the greedy work, even when an exact solve already did it
        spent = problem.memo.get(("seconds", "start", objective, float(first_weight), int(k)))
        t0 = time.perf_counter() - (float(spent) if isinstance(spent, float) else 0.0)
    else:
        work = limits if limits is not None else Limits(time_limit_s=time_limit_s)
        # the reduction and the start count against the safety net too
        work = replace(work, time_limit_s=max(1.0, work.time_limit_s
                                              - (time.perf_counter() - t0)))
        answer = certify(red, k, start, work)
        chosen = red.columns[answer.chosen]
        status, gap, bound = answer.status, answer.gap, answer.bound
        notes.append(red.describe())
        notes.extend(answer.notes)
    if chosen.size < k:
        notes.append(f"only {chosen.size} of the {k} sites add anything; more sites would not "
                     "raise the objective")
    return finish(problem, chosen, objective=objective, method=method,
                   first_weight=first_weight, t0=t0, status=status, gap=gap, bound=bound,
                   notes=notes)


def solve_target(
    problem: SitingProblem,
    *,
    target: float,
    method: Method = "exact",
    time_limit_s: float = 60.0,
) -> SitingResult:
    """The fewest new sites so that ``target`` of the coverable population is covered.

    The coverable population is everyone some existing station or candidate
    can reach; a target above 1 of it is refused with what is coverable.
    """
    coverable = problem.coverable()
    total = problem.total
    if not target > 0:
        raise SettingsError(f"target must be a share above 0, not {target}")
    if target > 1:
        msg = (f"a target of {target:.0%} is above what is coverable: the existing stations and "
               f"all candidate sites together reach {coverable:,.0f} of {total:,.0f} people "
               f"({coverable / total:.1%}); the target is a share of those, so at most 1.0")
        raise SitingError(msg)
    covered_now = float(problem.weight[problem.base_count >= 1].sum())
    goal = target * coverable
    t0 = time.perf_counter()
    notes = [f"coverable population {coverable:,.0f} of {total:,.0f} "
             f"({coverable / total:.1%}); target {target:.0%} of it = {goal:,.0f} people"]
    if covered_now >= goal - 1e-9:
        notes.append("existing stations already meet the target")
        return finish(problem, np.empty(0, dtype=np.int64), objective="target", method=method,
                       first_weight=0.0, t0=t0, status="optimal", gap=0.0, bound=0.0,
                       notes=notes)
    if method == "greedy":
        chosen = greedy(problem, problem.n_candidates, "coverage", 0.0, stop_when=goal)
        status, gap, bound = "greedy", None, None
    else:
        found, status, gap, bound = exact_target(problem, goal - covered_now, time_limit_s)
        if found is None:
            notes.append(f"the solver found no solution ({status}); greedy result returned")
            chosen = greedy(problem, problem.n_candidates, "coverage", 0.0, stop_when=goal)
            method = "greedy"
        else:
            chosen = found
    return finish(problem, chosen, objective="target", method=method, first_weight=0.0,
                   t0=t0, status=status, gap=gap, bound=bound, notes=notes)


@dataclass(frozen=True)
class CurvePoint:
    """With ``k`` new sites: people covered and cross-covered, and their shares; ``gap``
    is the solver's proven gap when each k was solved exactly (None for greedy)."""

    k: int
    covered: float
    cross_covered: float
    covered_share: float
    cross_share: float
    gap: float | None = None


def curve_points(
    problem: SitingProblem,
    *,
    k_max: int,
    objective: Literal["coverage", "cross"] = "coverage",
    method: Method = "greedy",
    first_weight: float = 0.0,
    time_limit_s: float = 30.0,
) -> list[CurvePoint]:
    """Covered and cross-covered people for k = 0 .. k_max new sites.

    Greedy gives one nested sequence (each k adds one site to k - 1); exact
    solves every k on its own, each under ``time_limit_s``.
    """
    if k_max < 1:
        raise SettingsError(f"k_max must be at least 1, not {k_max}")
    k_max = min(k_max, problem.n_candidates)
    w, total = problem.weight, problem.total

    def point(k: int, covered: float, cross: float, gap: float | None = None) -> CurvePoint:
        return CurvePoint(k, covered, cross, covered / total, cross / total, gap)

    points = [point(0, float(w[problem.base_count >= 1].sum()),
                    float(w[problem.base_count >= CROSS_COVERAGE].sum()))]
    if method == "greedy":
        order, _ = rank_sites(problem, greedy_sites(problem, k_max, objective, first_weight),
                              objective, first_weight)
        counts = problem.base_count.copy()
        for i, j in enumerate(order.tolist(), start=1):
            counts = counts + column(problem, j)
            points.append(point(i, float(w[counts >= 1].sum()),
                                float(w[counts >= CROSS_COVERAGE].sum())))
    else:
        for k in range(1, k_max + 1):
            res = solve(problem, k=k, objective=objective, method="exact",
                        first_weight=first_weight, time_limit_s=time_limit_s)
            points.append(point(k, res.covered_after, res.cross_after, res.gap))
    return points


def coverage_curve(
    problem: SitingProblem,
    *,
    k_max: int,
    objective: Literal["coverage", "cross"] = "coverage",
    method: Method = "greedy",
    first_weight: float = 0.0,
    time_limit_s: float = 30.0,
) -> pd.DataFrame:
    """:func:`curve_points` as a table (one row per k, the fields as columns)."""
    points = curve_points(problem, k_max=k_max, objective=objective, method=method,
                          first_weight=first_weight, time_limit_s=time_limit_s)
    return pd.DataFrame([asdict(p) for p in points])
