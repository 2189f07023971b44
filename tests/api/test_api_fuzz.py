"""Property-based fuzzing of the OpenAPI schema (schemathesis): no input gives a server
error, and every answer is one the document describes (status, content type, body, headers).

About a minute: 25 examples per operation; the maps are left out (slow to build, and
their only inputs are two choices each).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from circle15.api.app import create_app
from circle15.api.settings import Settings
from circle15.api.state import load_state
from tests.conftest import SHARED_DATA, shared
from tests.helpers import points_near_streets

TOKEN = "fuzz-token"


def _app():
    import atexit
    import shutil
    import tempfile

    from circle15.geo.network.cache import load_network

    folder = tempfile.mkdtemp(prefix="c15fuzz-")  # made at collection: removed at exit
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    net = load_network(shared("osm/shenzhen-longgang.osm"))
    rng = np.random.default_rng(91)
    pp = points_near_streets(net, 200, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1], "population": 5}).to_csv(
        f"{folder}/pop.csv", index=False)
    st = points_near_streets(net, 4, rng, spread_m=5)
    pd.DataFrame({"id": ["F1", "F2", "F3", "F4"], "name": "f", "lon": st[:, 0],
                  "lat": st[:, 1]}).to_csv(f"{folder}/seed.csv", index=False)
    s = Settings(network=str(shared("osm/shenzhen-longgang.osm")),
                 population=f"{folder}/pop.csv", stations_seed=f"{folder}/seed.csv",
                 data_dir=folder, planner_token=SecretStr(TOKEN), max_upload_bytes=100_000)
    return create_app(s, state=load_state(s))


if not (SHARED_DATA / "osm" / "shenzhen-longgang.osm").is_file():
    pytest.fail("the fuzz tests need ../shared/data (see its README)", pytrace=False)

APP = _app()
# a body refused for its size (413: the fuzz app's JSON limit is 100 kB) is refused too
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                          "428", "429", "5xx"]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)
# the HTML maps are slow to build and take no free-form input worth fuzzing
schema = schema.exclude(path_regex="^/maps/")


#: examples per operation; CIRCLE15_FUZZ_EXAMPLES=500 for a deeper run by hand
EXAMPLES = int(os.environ.get("CIRCLE15_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection]


#: every operation, one test each (named by it: "GET /nearest"), so that a failure says
#: which, and the run's progress counts them as they are
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def _can_be_wrong(operation) -> bool:  # type: ignore[no-untyped-def]
    """Whether the document allows a request to this operation to be wrong at all: one
    whose only input is a free-text path segment (or none) has no invalid request."""
    return bool(len(operation.query) or len(operation.headers) or len(operation.body))


CASES = [pytest.param(op, mode, id=f"{mode.value}-{op.label}") for op in OPERATIONS
         for mode in GenerationMode
         if mode == GenerationMode.POSITIVE or _can_be_wrong(op)]


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_answers_are_as_documented(operation, mode):
    # valid requests (positive) and requests the document says are wrong (negative)
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def answer(case):  # type: ignore[no-untyped-def]
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)

    answer()
