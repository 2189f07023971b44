"""Planning use cases: candidate sites and siting (with the k-curve)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from circle15.geo.coverage.count import Coverage
from circle15.geo.errors import InputError, SitingError, ref
from circle15.geo.forked import trim_heap
from circle15.geo.siting import SitingResult
from circle15.geo.siting.candidates import Candidates
from circle15.geo.siting.problem import SitingProblem
from circle15.usecases.area import Area

MethodChoice = Literal["exact", "greedy", "both"]


@dataclass(frozen=True)
class CandidateSpec:
    """Where new stations may go: ``shops`` (from the OSM file), ``nodes``
    (network nodes every ``node_spacing_m``) and files of the planner's own sites,
    minus ``exclude`` polygons and ``exclude_ids``."""

    sources: tuple[str, ...] = ("shops",)
    crs: str = "wgs84"
    node_spacing_m: float = 100.0
    shop_max_snap_m: float = 50.0
    exclude: str | None = None
    exclude_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SitingSpec:
    """What to solve: ``k`` sites for ``objective``, or the fewest for ``target``."""

    k: int = 10
    objective: Literal["coverage", "cross", "target"] = "coverage"
    target: float = 0.9
    first_weight: float = 0.0
    method: MethodChoice = "both"
    time_limit_s: float = 60.0
    #: the k-curve goes up to this many sites (default: k, or the answer's size)
    curve_k: int | None = None
    #: a budget, checked before the searches (None: no limit): candidate sites, and the
    #: candidate-person pairs the model is estimated to hold
    max_candidates: int | None = None
    max_pairs: int | None = None


def model_pairs(coverage: Coverage, n_candidates: int) -> int:
    """The candidate-person pairs within the limit a siting model will hold, estimated
    before any search from the stations' own reach (a candidate is a possible station)."""
    per_station = coverage.reach.source.size / max(len(coverage.stations), 1)
    return round(n_candidates * per_station)


#: memory a siting model takes at its peak (the pairs' matrix, the reduced model and the
#: LP HiGHS solves for the bound) per pair :func:`model_pairs` estimates, measured on
#: the district city with shops and nodes: 25 million estimated (12 million held, as
#: the people two stations already reach are left out), 0.83 GB over the loaded area
MODEL_BYTES_PER_PAIR = 35


def model_memory_gb(coverage: Coverage, n_candidates: int) -> float:
    """About how much memory the siting model adds to the loaded area, at its peak."""
    return model_pairs(coverage, n_candidates) * MODEL_BYTES_PER_PAIR / 1e9


def check_budget(coverage: Coverage, n_candidates: int, spec: SitingSpec) -> None:
    """Refuse, before any work, a model larger than the spec's budget (naming both)."""
    if spec.max_candidates is not None and n_candidates > spec.max_candidates:
        raise SitingError(f"{n_candidates:,} candidate sites is more than one request may "
                          f"search from ({spec.max_candidates:,}): widen "
                          f"{ref('node_spacing_m')} or name fewer sources")
    pairs = model_pairs(coverage, n_candidates)
    if spec.max_pairs is not None and pairs > spec.max_pairs:
        raise SitingError(f"the model would hold about {pairs:,} candidate-person pairs "
                          f"({n_candidates:,} sites reaching about "
                          f"{pairs // max(n_candidates, 1):,} units each), more than one "
                          f"request may ({spec.max_pairs:,}): use fewer candidate sites")


@dataclass(frozen=True, eq=False)
class SitingOutcome:
    """The answers (exact first when both ran), the k-curve and the candidates used."""

    results: tuple[SitingResult, ...]
    curve: pd.DataFrame
    candidates: Candidates
    dropped_duplicates: int
    #: for cross coverage: the earlier new site whose people each site's gain mostly
    #: completes (rank -> partner's rank), so that pairs read as pairs
    partners: dict[int, int] | None = None

    @property
    def best(self) -> SitingResult:
        return self.results[0]

    def sites_table(self) -> pd.DataFrame:
        """The best answer's sites; for cross coverage with ``pairs_with``: the rank of
        the site each one completes a pair with (0: none, it cross-covers on its own)."""
        sites = self.best.sites_frame()
        if self.partners is not None:
            sites["pairs_with"] = [self.partners.get(int(r), 0) for r in sites["rank"]]
        return sites

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.summary() for r in self.results])

    def gap_words(self) -> str:
        """The exact answer's proof in one plain sentence (empty for greedy)."""
        best = self.best
        if best.bound is None or best.gap is None:
            return ""
        if best.gap <= 0:
            return (f"No choice of {best.k} sites can do better than these "
                    f"{best.objective_value:,.0f}: the answer is proven the best.")
        return (f"No choice of {best.k} sites can reach more than {best.bound:,.0f}; these "
                f"reach {best.objective_value:,.0f}, so at most {best.gap:.1%} could still be "
                "gained by searching longer.")


def cross_partners(problem: SitingProblem, chosen: NDArray[np.int64]) -> dict[int, int]:
    """For each chosen site (by rank), the earlier chosen site with which it newly
    cross-covers the most people, when that is most of what it adds."""

    A = problem.matrix.tocsc()
    count = problem.base_count.copy()
    weight = problem.weight
    out: dict[int, int] = {}
    for r, col in enumerate(np.asarray(chosen, dtype=np.int64).tolist(), start=1):
        units = A.indices[A.indptr[col]:A.indptr[col + 1]]
        newly = units[count[units] == 1]
        if newly.size and r > 1:
            shares = [float(weight[newly[A[newly, int(c)].toarray().ravel() > 0]].sum())
                      for c in np.asarray(chosen[:r - 1], dtype=np.int64).tolist()]
            best = int(np.argmax(shares))
            if shares[best] >= 0.5 * float(weight[newly].sum()):
                out[r] = best + 1
        count[units] += 1
    return out



def build_candidates(area: Area, spec: CandidateSpec) -> tuple[Candidates, int]:
    """Candidate sites from every source in ``spec``, deduplicated; and how many
    duplicates were dropped (same id, or within 1 m of another)."""
    from circle15.geo.siting.candidates import (
        candidates_from_nodes,
        candidates_from_osm_shops,
        deduplicate,
        exclude,
        read_candidate_list,
    )

    net, rule = area.network, area.spec.snap_rule()
    parts = []
    for source in dict.fromkeys(spec.sources):
        if source == "nodes":
            parts.append(candidates_from_nodes(net, spacing_m=spec.node_spacing_m))
        elif source == "shops":
            if not Path(area.source).is_file():
                raise InputError("candidates shops", "shops are read from the OSM file given "
                                 f"as {ref('network')}; for a downloaded place, export its shops "
                                 f"to a file and pass that file as {ref('candidates')}")
            parts.append(candidates_from_osm_shops(net, area.source,
                                                   max_snap_m=spec.shop_max_snap_m, rule=rule))
            trim_heap()  # the OSM file's shops read, its parser's memory handed back
        else:
            parts.append(read_candidate_list(source, net, crs=spec.crs, rule=rule))
    if not parts:
        raise InputError("candidates", "name at least one source: shops, nodes or a file")
    cands = Candidates.concat(parts)
    if spec.exclude_ids or spec.exclude:
        cands = exclude(cands, net, ids=list(spec.exclude_ids) or None,
                        polygons_path=spec.exclude, crs=spec.crs)
    cands, dropped = deduplicate(cands)
    if len(cands) == 0:
        raise InputError("candidates", "no candidate sites left after exclusions")
    return cands, dropped


def site(coverage: Coverage, candidates: Candidates, spec: SitingSpec, *,
         dropped_duplicates: int = 0, progress: bool = False) -> SitingOutcome:
    """Choose new sites: every method asked for, and the k-curve of the objective."""
    from circle15.geo.siting import build_problem, coverage_curve, solve, solve_target

    check_budget(coverage, len(candidates), spec)
    problem = build_problem(coverage, candidates, progress=progress)
    methods: list[Literal["exact", "greedy"]] = (
        ["exact", "greedy"] if spec.method == "both" else [spec.method])
    results = []
    for method in methods:
        if spec.objective == "target":
            results.append(solve_target(problem, target=spec.target, method=method,
                                        time_limit_s=spec.time_limit_s))
        else:
            results.append(solve(problem, k=spec.k, objective=spec.objective, method=method,
                                 first_weight=spec.first_weight, time_limit_s=spec.time_limit_s))
    best = results[0]
    curve_obj: Literal["coverage", "cross"] = "cross" if spec.objective == "cross" else "coverage"
    k_max = spec.curve_k if spec.curve_k is not None else max(spec.k, best.k, 1)
    curve = coverage_curve(problem, k_max=k_max, objective=curve_obj,
                           first_weight=spec.first_weight)
    partners = cross_partners(problem, best.chosen) if spec.objective == "cross" else None
    return SitingOutcome(tuple(results), curve, candidates, dropped_duplicates, partners)
