"""The use cases: the one place where inputs become results.

The command line (:mod:`circle15.cli`) and the service (:mod:`circle15.api`)
are adapters: each parses its input into the objects here, calls one use case
and formats what comes back. Decisions such as which population source to
use, how candidate sites are gathered, which solver runs or how a map page is
drawn are made here and nowhere else.
"""

from circle15.usecases.area import Area, AreaSpec, cover, load_area, load_network_of
from circle15.usecases.pages import courier_page_html, planner_page_html
from circle15.usecases.planning import (
    CandidateSpec,
    SitingOutcome,
    SitingSpec,
    build_candidates,
    site,
)

__all__ = [
    "Area",
    "AreaSpec",
    "CandidateSpec",
    "SitingOutcome",
    "SitingSpec",
    "build_candidates",
    "courier_page_html",
    "cover",
    "load_area",
    "load_network_of",
    "planner_page_html",
    "site",
]
