"""`circle15 site` prints and writes the proof of its answer: bound, gap, status."""

from __future__ import annotations

import numpy as np
import pandas as pd

from circle15.cli import main
from tests.conftest import shared
from tests.helpers import points_near_streets


def test_site_prints_bound_gap_and_status(tmp_path, longgang, capsys, monkeypatch, cache_dir):
    monkeypatch.setenv("CIRCLE15_CACHE_DIR", str(cache_dir))
    rng = np.random.default_rng(5)
    st = points_near_streets(longgang, 4, rng, spread_m=5)
    pd.DataFrame({"id": [f"S{i}" for i in range(4)], "name": "x",
                  "lon": st[:, 0], "lat": st[:, 1]}).to_csv(tmp_path / "st.csv", index=False)
    pp = points_near_streets(longgang, 600, rng, spread_m=40)
    pd.DataFrame({"lon": pp[:, 0], "lat": pp[:, 1],
                  "population": rng.integers(1, 50, 600)}).to_csv(tmp_path / "pop.csv",
                                                                    index=False)
    assert main(["site", "--network", str(shared("osm/shenzhen-longgang.osm")),
                 "--stations", str(tmp_path / "st.csv"), "--population",
                 str(tmp_path / "pop.csv"), "-q", "--out", str(tmp_path / "site"), "--k", "3",
                 "--objective", "cross", "--candidates", "nodes",
                 "--node-spacing-m", "300"]) == 0
    out = capsys.readouterr().out
    exact_line = next(line for line in out.splitlines() if line.strip().startswith("exact:"))
    assert "bound" in exact_line and "gap" in exact_line
    assert any(s in exact_line for s in ("(optimal)", "(gap-limited)", "(limit)"))
    summary = pd.read_csv(tmp_path / "site" / "sites-summary.csv")
    exact = summary[summary["method"] == "exact"].iloc[0]
    assert exact["bound"] >= exact["objective_value"] - 0.1
    assert exact["status"] in ("optimal", "gap-limited", "limit")
    assert 0 <= exact["gap"] <= 1


def test_cross_siting_lists_pairs_as_pairs_and_says_the_gap_in_words(tmp_path, capsys):
    # later cross sites showed larger gains than earlier ones with nothing to say why: the
    # second of a pair is what completes it
    data = shared("district/subsets/pop-10k.csv").parent
    few = tmp_path / "few.csv"
    pd.read_csv(data / "stations-10k.csv").head(4).to_csv(few, index=False)
    assert main(["site", "--network", str(data / "city-10k.osm.pbf"), "--population",
                 str(data / "pop-10k.csv"), "--stations", str(few), "--drop-far-population",
                 "--objective", "cross", "--k", "4", "--method", "exact", "--candidates",
                 "nodes", "--node-spacing-m", "400", "--time-limit", "20",
                 "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    sites = pd.read_csv(tmp_path / "s" / "sites.csv")
    assert "pairs_with" in sites
    partners = sites.loc[sites["pairs_with"] > 0]
    assert len(partners) >= 1  # here the last site completes a pair with an earlier one
    assert (partners["pairs_with"] < partners["rank"]).all()  # a partner comes earlier
    assert "No choice of 4 sites" in out
