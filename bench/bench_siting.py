"""Benchmark: maximal covering (MCLP) for new stations, ours against PySAL spopt.

Run by hand (not in CI):  .venv/bin/python bench/bench_siting.py

On the real Liechtenstein extract: existing stations, >= 10,000 population
units near the streets, >= 1,000 candidate sites (network nodes thinned to a
spacing), k = 10 new sites, 15 minutes at 4 km/h. Prints in one run our exact
(HiGHS, warm-started from greedy) and greedy times and objectives next to
spopt's MCLP on the same coverage matrix (people not yet covered × candidate
sites), solved by PuLP's CBC and by PuLP's HiGHS.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.candidates import candidates_from_nodes  # noqa: E402
from circle15.geo.coverage import CoverageSettings, compute_coverage  # noqa: E402
from circle15.geo.network_cache import load_network  # noqa: E402
from circle15.geo.siting import build_problem, solve  # noqa: E402
from tests.helpers import make_population, make_stations, points_near_streets  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def spopt_mclp(problem, k: int, solver_name: str) -> tuple[float, float]:
    import pulp
    from spopt.locate import MCLP

    open_units = np.flatnonzero(problem.base_count == 0)
    sub = problem.matrix[open_units].tocoo()
    dist = np.full((open_units.size, problem.n_candidates), 1e9)
    dist[sub.row, sub.col] = 1.0
    solver = (pulp.PULP_CBC_CMD(msg=False) if solver_name == "cbc"
              else pulp.HiGHS(msg=False))
    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(dist, problem.weight[open_units], service_radius=2.0,
                                  p_facilities=k)
    model.solve(solver)
    return time.perf_counter() - t0, float(pulp.value(model.problem.objective))


def main() -> None:
    pbf = SHARED / "osm" / "liechtenstein.osm.pbf"
    if not pbf.is_file():
        raise SystemExit(f"missing {pbf}: the benchmark needs ../shared/data")
    net = load_network(pbf)
    rng = np.random.default_rng(2026)
    stations = make_stations(net, points_near_streets(net, 25, rng, spread_m=5))
    people = make_population(net, points_near_streets(net, 15_000, rng, spread_m=40), rng)
    cov = compute_coverage(net, stations, people, settings=CoverageSettings())
    cands = candidates_from_nodes(net, spacing_m=300)
    t0 = time.perf_counter()
    problem = build_problem(cov, cands)
    t_build = time.perf_counter() - t0
    k = 10
    open_units = int((problem.base_count == 0).sum())
    print(f"Liechtenstein: {net.summary()}")
    print(f"  {len(people):,} population units ({open_units:,} not yet covered by "
          f"{len(stations)} stations), {len(cands):,} candidate sites (nodes every 300 m), "
          f"k = {k}; candidate searches: {t_build:.2f} s, {problem.matrix.nnz:,} pairs")
    exact = solve(problem, k=k, method="exact", time_limit_s=300)
    greedy = solve(problem, k=k, method="greedy")
    t_cbc, obj_cbc = spopt_mclp(problem, k, "cbc")
    t_hi, obj_hi = spopt_mclp(problem, k, "highs")
    rows = [
        ("ours, exact (HiGHS, greedy start)", exact.solve_time_s, exact.objective_value,
         exact.status),
        ("ours, greedy", greedy.solve_time_s, greedy.objective_value, "greedy"),
        ("spopt MCLP, PuLP + CBC", t_cbc, obj_cbc, "optimal"),
        ("spopt MCLP, PuLP + HiGHS", t_hi, obj_hi, "optimal"),
    ]
    print(f"  {'approach':<38}{'seconds':>10}{'vs exact':>10}{'newly covered':>15}  status")
    for label, t, obj, status in rows:
        print(f"  {label:<38}{t:>10.3f}{t / exact.solve_time_s:>9.1f}x{obj:>15,.0f}  {status}")
    print(f"  greedy / exact objective: {greedy.objective_value / exact.objective_value:.4%}; "
          f"spopt CBC / ours exact time: {t_cbc / exact.solve_time_s:.1f}x")


if __name__ == "__main__":
    main()
