"""Shared by the service tests: a small real area (Longgang) and clients on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from circle15.api.app import create_app
from circle15.api.settings import Settings
from tests.conftest import shared
from tests.helpers import points_near_streets
from tests.pg import postgres_database

TOKEN = "planner-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def pages_as_drawn(monkeypatch) -> None:
    """Map requests wait for the drawing under way (the service's default is to answer
    within a second with the last drawn page; tests/api/test_render_background.py tests
    that)."""
    monkeypatch.setenv("CIRCLE15_PAGE_WAIT_S", "120")


@pytest.fixture(scope="module")
def area(tmp_path_factory, longgang) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("area")
    rng = np.random.default_rng(71)
    pp = points_near_streets(longgang, 800, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1],
                  "population": rng.integers(1, 80, 800)}).to_csv(folder / "pop.csv",
                                                                   index=False)
    st = points_near_streets(longgang, 6, rng, spread_m=5)
    pd.DataFrame({"id": [f"LG-{i + 1}" for i in range(6)],
                  "name": [f"龙岗驿站{i + 1}" for i in range(6)],
                  "lon": st[:, 0], "lat": st[:, 1],
                  "amenities": ["water;charger", "first_aid", "water", "toilet", "seats",
                                "water;first_aid"],
                  "opening_hours": ["24/7"] * 6}).to_csv(folder / "seed.csv", index=False)
    return {"folder": folder, "spare": points_near_streets(longgang, 20, rng, spread_m=5)}


def make_client(area: dict[str, Any], tmp_path: Path, database_url: str | None,
                **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(area, tmp_path, database_url, **overrides)))


def make_settings(area: dict[str, Any], tmp_path: Path, database_url: str | None,
                  **overrides: Any) -> Settings:
    settings = Settings(
        network=str(shared("osm/shenzhen-longgang.osm")),
        population=str(area["folder"] / "pop.csv"),
        stations_seed=str(area["folder"] / "seed.csv"),
        database_url=database_url, data_dir=tmp_path, planner_token=SecretStr(TOKEN),
        max_upload_bytes=200_000, cors_origins=["http://example.test"],
    )
    if overrides:
        settings = settings.model_copy(update=overrides)
    return settings


@pytest.fixture(params=["sqlite", "postgres"])
def client(request, area, tmp_path, monkeypatch, cache_dir) -> Iterator[TestClient]:
    """A client on the Longgang area, on SQLite and on a throwaway PostgreSQL."""
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    if request.param == "sqlite":
        with make_client(area, tmp_path, None) as c:
            yield c
    else:
        with postgres_database() as url, make_client(area, tmp_path, url) as c:
            yield c
