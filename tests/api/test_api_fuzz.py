"""Property-based fuzzing of the OpenAPI schema (schemathesis): no input gives a server error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr

from circle15.api.app import create_app
from circle15.api.settings import Settings
from circle15.api.state import load_state
from tests.conftest import SHARED_DATA, shared
from tests.helpers import points_near_streets

TOKEN = "fuzz-token"


def _app():
    import tempfile

    from circle15.geo.network_cache import load_network

    folder = tempfile.mkdtemp(prefix="c15fuzz-")
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
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# the HTML maps are slow to build and take no free-form input worth fuzzing
schema = schema.exclude(path_regex="^/maps/")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case):
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
