"""The service's siting answer carries its proof: bound, gap and status."""

from __future__ import annotations

import pytest

from tests.api.conftest import make_client


@pytest.mark.parametrize("objective", ["coverage", "cross"])
def test_siting_response_reports_bound_and_gap(area, tmp_path, monkeypatch, cache_dir,
                                                objective):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    with make_client(area, tmp_path, None) as client:
        r = client.post("/siting", json={"k": 3, "objective": objective, "method": "exact",
                                         "node_spacing_m": 300})
    assert r.status_code == 200, r.text
    summary = r.json()["summary"]
    assert summary["method"] == "exact"
    assert summary["status"] in ("optimal", "gap-limited", "limit")
    assert summary["bound"] >= summary["objective_value"] - 0.1
    assert summary["gap"] == pytest.approx(
        max(0.0, summary["bound"] - summary["objective_value"])
        / max(summary["objective_value"], 1e-9), abs=1e-3)
    assert "model reduced from" in summary["notes"]
