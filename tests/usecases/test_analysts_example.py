"""The analysts' example in docs/analysts.md runs as written, and its numbers are the
command line's."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import pandas as pd

from circle15.cli import main
from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_example_runs_and_counts_what_the_cli_counts(tmp_path, monkeypatch,
                                                                     capsys):
    shared("district/subsets/city-10k.osm.pbf")  # fails clearly without the shared data
    text = (ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    data = str(shared("district/subsets/pop-10k.csv").parent)
    code = code.replace('"../shared/data/district/subsets"', repr(data))
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(code, "docs/analysts.md", "exec"), scope)
    out = capsys.readouterr().out
    assert "covered at 02:00:" in out and " min" in out
    assert isinstance(scope["m"], folium.Map)
    html = (tmp_path / "sites-map.html").read_text(encoding="utf-8")
    assert "c15-site" in html and "marker_cluster" in html.lower()
    sites = scope["sites"].to_geodataframe()
    assert list(sites["rank"]) == [1, 2, 3] and sites.crs.to_epsg() == 4326
    assert (sites["marginal_gain"] > 0).all()

    # the same numbers as circle15 coverage --at 'Tu 02:00'
    assert main(["coverage", "--network", f"{data}/city-10k.osm.pbf",
                 "--population", f"{data}/pop-10k.csv", "--stations",
                 f"{data}/stations-10k.csv", "--drop-far-population", "--at", "Tu 02:00",
                 "--minutes", "5", "--bands", "",
                 "--out", str(tmp_path / "cli"), "-q"]) == 0
    cli = pd.read_csv(tmp_path / "cli" / "summary.csv")
    night = scope["night"].summary
    for col in ("population", "covered", "cross_covered"):
        assert cli[col].round(1).tolist() == night[col].round(1).tolist()
    assert scope["cov"].summary["covered"].iloc[-1] > night["covered"].iloc[-1]
