"""Stage: siting. Where should the next stations go? Coverage models with existing
stations fixed, over candidate sites (:mod:`.candidates`: OSM shops, thinned
network nodes, a planner's list).

Public names: those of ``__all__`` below, and ``candidates.Candidates``.

Every model works on the same data: for each candidate site, the population
units it reaches within the walking limit (from bounded network searches,
stored sparse), and for each unit how many existing stations already reach it.

Models (``w_i`` people in unit ``i``, ``x_j`` = 1 if site ``j`` is opened,
``N_i`` the candidates reaching ``i``, ``c_i`` existing stations reaching ``i``):

- **coverage** (maximal covering, MCLP): maximise ``sum w_i y_i`` over units
  with ``c_i = 0`` subject to ``y_i <= sum_{j in N_i} x_j``, ``sum x_j <= k``,
  ``0 <= y_i <= 1``.
- **cross** (backup / cross coverage, 交叉覆盖): maximise the people newly
  reached by two or more stations, ``sum w_i z_i`` with binary ``z_i`` and
  ``2 z_i <= c_i + sum_{j in N_i} x_j`` over units with ``c_i <= 1``; with
  ``first_weight`` > 0 newly covered people also count, at that weight.
- **target** (partial set cover): the fewest sites such that at least a
  ``target`` share of the coverable population (people some existing station
  or candidate can reach) is covered.

``coverage`` and ``cross`` are solved on a reduced model (:mod:`.reduce`:
units no candidate can raise dropped, units with the same candidates merged,
duplicate and dominated candidates removed, all without changing the optimum),
started from greedy with single swaps (run once per problem and k, and shared
with the k-curve) improved by an iterated local search, bounded by the LP
relaxation solved in its dual form with cuts for rows that need two sites (a
Lagrangian bound valid whatever the solver did) and finished by HiGHS on the
candidates that can still beat the best solution (:mod:`.certify`). Every
exact answer carries its bound and gap; its status is ``optimal``,
``gap-limited`` (proven within 0.5 %) or ``limit``. Work limits are counts and
HiGHS runs single-threaded with a fixed seed, so runs repeat exactly; the time
limit is a safety net. ``target`` is solved by HiGHS on the merged model.
"""

from __future__ import annotations

from circle15.geo.errors import SitingError
from circle15.geo.siting.problem import (
    OBJECTIVES,
    Method,
    Objective,
    SitingProblem,
    SitingResult,
    build_problem,
)
from circle15.geo.siting.solve import (
    CurvePoint,
    coverage_curve,
    curve_points,
    solve,
    solve_target,
)

__all__ = [
    "OBJECTIVES",
    "CurvePoint",
    "Method",
    "Objective",
    "SitingError",
    "SitingProblem",
    "SitingResult",
    "build_problem",
    "coverage_curve",
    "curve_points",
    "solve",
    "solve_target",
]
