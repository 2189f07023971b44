"""Benchmark: certified siting at district scale, against today's approach and spopt.

Run by hand (not in CI):  .venv/bin/python -m bench.bench_siting [--old] [--repeat N]

On the district-scale test city (../shared/data/district): 100,000 population
points, the 50 existing stations, 3,000 candidate sites, 15 minutes at 4 km/h.
For k = 10 and 50 and the coverage and cross objectives it prints, per case,
our exact answer (reduced model, greedy-with-swap start, LP bound from the LP's
dual form, iterated local search while the gap is above target, branch and
bound on the candidates that can still win), its
proven bound and gap, the status and the time; ``--repeat`` runs every case
again on a fresh problem and checks the answer is identical. The target is a
proven gap of at most 0.5 % within 60 s.

``--old`` also runs today's approach in the same process: HiGHS on the whole
model (rows merged, every candidate, HiGHS presolve) from the greedy start
under the same 60 s limit, and prints the ratio. (HiGHS fixes its thread
count once per process, so today's approach runs on one thread here too;
today's code let HiGHS choose, which on 2 cores made no difference to the
root LP that dominates it.)

Then spopt (PySAL) on a sample, because at full size it needs about 47
minutes: 300 candidates and 1,000 people-points not yet covered that they
reach; spopt's MCLP (PuLP + CBC) and ours on the same matrix, with times and
objectives side by side (the objectives must be equal).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circle15.geo.siting import SitingProblem, build_problem, solve  # noqa: E402
from circle15.geo.siting.milp import merge_rows, solve_milp  # noqa: E402
from circle15.geo.siting.solve import greedy_sites  # noqa: E402

DISTRICT = ROOT.parent / "shared" / "data" / "district"
CASES = [("coverage", 10), ("coverage", 50), ("cross", 10), ("cross", 50)]
TARGET_GAP, TARGET_S = 0.005, 60.0


def load() -> SitingProblem:
    from circle15.geo.siting.candidates import read_candidate_list
    from circle15.usecases.area import AreaSpec, cover, load_area, read_station_file

    for name in ("shunyi-synth.osm.pbf", "population-points.csv", "stations-50.csv",
                 "candidates-3000.csv"):
        if not (DISTRICT / name).is_file():
            raise SystemExit(f"missing {DISTRICT / name}: the benchmark needs ../shared/data")
    area = load_area(AreaSpec(network=str(DISTRICT / "shunyi-synth.osm.pbf"),
                              population=str(DISTRICT / "population-points.csv")))
    cov = cover(area, read_station_file(area, DISTRICT / "stations-50.csv"))
    cands = read_candidate_list(str(DISTRICT / "candidates-3000.csv"), area.network,
                                rule=area.spec.snap_rule())
    t0 = time.perf_counter()
    problem = build_problem(cov, cands)
    print(f"district: {len(cov.population):,} population points, {len(cov.stations)} stations, "
          f"{len(cands):,} candidates; candidate searches {time.perf_counter() - t0:.1f} s, "
          f"{problem.matrix.nnz:,} pairs")
    return problem


def fresh(problem: SitingProblem) -> SitingProblem:
    """The same problem with nothing reused from an earlier solve."""
    return SitingProblem(problem.coverage, problem.candidates, problem.base_count,
                         problem.matrix, problem.weight)


def today(problem: SitingProblem, k: int, objective: str) -> tuple[float, float, str, float]:
    """Today's approach: HiGHS on the whole merged model, greedy start, 60 s limit."""
    t0 = time.perf_counter()
    A, c0, w = problem.matrix, problem.base_count, problem.weight
    deg = np.diff(A.indptr)
    blocks = ([(np.flatnonzero((c0 == 0) & (deg > 0)), 1.0)] if objective == "coverage" else
              [(np.flatnonzero((c0 == 1) & (deg > 0)), 1.0),
               (np.flatnonzero((c0 == 0) & (deg >= 2)), 2.0)])
    n_x = problem.n_candidates
    merged = [(*merge_rows(A[u], w[u], np.zeros(u.size, dtype=np.int64))[:2], coef)
              for u, coef in blocks]
    n_y = sum(r.shape[0] for r, _, _ in merged)
    c = np.concatenate([np.zeros(n_x)] + [-wt for _, wt, _ in merged])
    integral = np.concatenate([np.ones(n_x, dtype=bool)]
                              + [np.full(r.shape[0], coef == 2.0) for r, _, coef in merged])
    x0 = np.zeros(n_x)
    x0[greedy_sites(fresh(problem), k, objective, 0.0)] = 1.0
    parts, y0, off = [sp.csr_matrix(np.concatenate([np.ones(n_x), np.zeros(n_y)])[None, :])], [], 0
    for r, _, coef in merged:
        m = r.shape[0]
        y = sp.csr_matrix((np.full(m, coef), (np.arange(m), n_x + off + np.arange(m))),
                          shape=(m, n_x + n_y))
        parts.append(y + sp.hstack([-r, sp.csr_matrix((m, n_y))], format="csr"))
        reach = r @ x0
        y0.append(np.minimum(1.0, np.floor(reach / coef)))
        off += m
    upper = np.concatenate([[float(k)], np.zeros(n_y)])
    out = solve_milp(c, integral, sp.vstack(parts, format="csr"), np.full(upper.size, -np.inf),
                     upper, time_limit_s=TARGET_S, start=np.concatenate([x0, *y0]),
                     options={"presolve": "on"})
    value = -float(c @ out.x) if out.x is not None else float("nan")
    bound = -out.bound if out.bound is not None else float("inf")
    return value, bound, out.status, time.perf_counter() - t0


def spopt_sample(problem: SitingProblem, k: int = 10) -> None:
    import pulp
    from spopt.locate import MCLP

    rng = np.random.default_rng(15)
    cand = np.sort(rng.choice(problem.n_candidates, 300, replace=False))
    sub = problem.matrix[:, cand].tocsr()
    open_units = np.flatnonzero((problem.base_count == 0) & (np.diff(sub.indptr) > 0))
    units = np.sort(rng.choice(open_units, min(1000, open_units.size), replace=False))
    matrix = sub[units]
    sample = SitingProblem(problem.coverage, problem.candidates.select(np.isin(
        np.arange(problem.n_candidates), cand)),
        np.zeros(units.size, dtype=np.int64), matrix, problem.weight[units])
    res = solve(sample, k=k, objective="coverage")
    coo = matrix.tocoo()
    dist = np.full(matrix.shape, 1e9)
    dist[coo.row, coo.col] = 1.0
    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(dist, sample.weight, service_radius=2.0, p_facilities=k)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    t_spopt = time.perf_counter() - t0
    obj = float(pulp.value(model.problem.objective))
    print(f"\nspopt sample: {units.size:,} uncovered points x {cand.size} candidates, k = {k}")
    print(f"  {'approach':<34}{'seconds':>9}{'ratio':>9}{'newly covered':>15}")
    print(f"  {'ours (certified, ' + res.status + ')':<34}{res.solve_time_s:>9.2f}"
          f"{1.0:>8.1f}x{res.objective_value:>15,.0f}")
    print(f"  {'spopt MCLP, PuLP + CBC':<34}{t_spopt:>9.2f}"
          f"{t_spopt / res.solve_time_s:>8.1f}x{obj:>15,.0f}")
    same = abs(obj - res.objective_value) <= 1e-6 * max(1.0, obj)
    print(f"  same objective: {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="also run today's approach")
    parser.add_argument("--repeat", type=int, default=2, help="runs per case (default 2)")
    parser.add_argument("--no-spopt", action="store_true", help="skip the spopt sample")
    parser.add_argument("--case", action="append", default=None,
                        help="only this case, e.g. cross:50 (repeatable)")
    args = parser.parse_args()
    problem = load()
    print(f"\n  {'case':<14}{'seconds':>9}{'objective':>12}{'bound':>12}{'gap':>9}  "
          f"{'status':<12}{'met':<5}same")
    cases = CASES if not args.case else [(c.split(":")[0], int(c.split(":")[1]))
                                         for c in args.case]
    for objective, k in cases:
        runs = [solve(fresh(problem), k=k, objective=objective)  # type: ignore[arg-type]
                for _ in range(max(1, args.repeat))]
        r = runs[0]
        same = all(x.chosen.tolist() == r.chosen.tolist() and x.bound == r.bound
                   for x in runs[1:])
        gap = r.gap if r.gap is not None else float("inf")
        met = gap <= TARGET_GAP and max(x.solve_time_s for x in runs) <= TARGET_S
        times = "/".join(f"{x.solve_time_s:.1f}" for x in runs)
        print(f"  {objective + ' k=' + str(k):<14}{times:>9}{r.objective_value:>12,.0f}"
              f"{r.bound or 0:>12,.0f}{gap:>9.3%}  {r.status:<12}{'yes' if met else 'NO':<5}"
              f"{'yes' if same else 'NO'}")
        for note in r.notes:
            print(f"      {note}")
        if args.old:
            value, bound, status, secs = today(problem, k, objective)
            old_gap = (bound - value) / value if value > 0 else float("inf")
            print(f"      today (HiGHS on the whole model): {secs:.1f} s, objective {value:,.0f},"
                  f" bound {bound:,.0f}, gap {old_gap:.1%} ({status}); "
                  f"time ratio {secs / r.solve_time_s:.1f}x")
    if not args.no_spopt:
        spopt_sample(problem)


if __name__ == "__main__":
    main()
