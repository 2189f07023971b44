"""circle15 report: a PDF (printed by the headless chromium) and HTML a committee can read,
whose numbers are coverage's and site's, with the CJK font embedded and the text
selectable."""

from __future__ import annotations

import pandas as pd
import pypdf
import pytest

from circle15.cli import main
from tests.conftest import shared


def test_the_report_says_what_coverage_and_site_say(tmp_path, capsys):
    data = shared("district/subsets/pop-50k.csv").parent
    common = ["--network", str(data / "city-50k.osm.pbf"), "--population",
              str(data / "pop-50k.csv"), "--stations", str(data / "stations-50k.csv"),
              "--areas", str(shared("district/towns.geojson")), "--drop-far-population",
              "--minutes", "5", "--bands", "", "-q"]
    assert main(["report", *common, "--sites", "3", "--candidates", "nodes",
                 "--out", str(tmp_path / "rep")]) == 0
    assert main(["coverage", *common, "--out", str(tmp_path / "cov")]) == 0
    assert main(["site", *common, "--k", "3", "--method", "greedy", "--candidates", "nodes",
                 "--out", str(tmp_path / "site")]) == 0
    summary = pd.read_csv(tmp_path / "cov" / "summary.csv").iloc[-1]
    sites = pd.read_csv(tmp_path / "site" / "sites.csv")
    reader = pypdf.PdfReader(tmp_path / "rep" / "report.pdf")
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert f"{summary['covered']:,.0f}" in text and f"{summary['population']:,.0f}" in text
    assert "驿站15分钟服务圈评估报告" in text and "交叉覆盖" in text
    for gain in sites["marginal_gain"]:
        assert f"{gain:,.0f}" in text
    assert f"1 / {len(reader.pages)}" in text  # page numbers
    # the CJK font travels with the file
    embedded = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            for part in [font, *[d.get_object() for d in font.get("/DescendantFonts", [])]]:
                desc = part.get("/FontDescriptor")
                if desc is not None and any(k in desc.get_object() for k in
                                            ("/FontFile", "/FontFile2", "/FontFile3")):
                    embedded.add(str(font.get("/BaseFont")))
    assert any("WenQuanYi" in f or "wqy" in f.lower() for f in embedded), embedded
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "http://" not in html.split("<svg", 1)[0]
    assert (tmp_path / "rep" / "report.pdf").stat().st_size < 10_000_000
    # each site's newly cross-covered people: the first one's is what coverage says when
    # that site is added to the stations (the second station for that many people)
    import re

    table = html.split('<table id="sites">', 1)[1].split("</table>", 1)[0]
    first = re.findall(r"<td[^>]*>(.*?)</td>", table.split("</tr>")[1])
    said = float(first[4].replace(",", ""))
    st = pd.read_csv(data / "stations-50k.csv")
    top = sites.iloc[0]
    pd.concat([st, pd.DataFrame({"id": ["SITE-1"], "name": ["site 1"], "lon": [top["lon"]],
                                 "lat": [top["lat"]]})], ignore_index=True).to_csv(
        tmp_path / "with-site.csv", index=False)
    with_site = [a if a != str(data / "stations-50k.csv") else str(tmp_path / "with-site.csv")
                 for a in common]
    assert main(["coverage", *with_site, "--out", str(tmp_path / "cov1")]) == 0
    after = pd.read_csv(tmp_path / "cov1" / "summary.csv").iloc[-1]
    assert said == pytest.approx(after["cross_covered"] - summary["cross_covered"], rel=0.02)
    # where returns fall off, said in words when they do (from the k-curve: site.csv's)
    curve = pd.read_csv(tmp_path / "site" / "curve.csv")
    gains = curve["covered"].diff().dropna().to_numpy()
    low = [i + 1 for i, g in enumerate(gains) if g < gains[0] / 2]
    assert ("收益在此后明显递减" in html) == bool(low)
    if low:
        assert f"从第 {low[0]} 个站点起" in html


def test_outdoor_workers_beside_residents(tmp_path):
    """With a worker layer the report counts the workers beside the residents, by the same
    stations, with the numbers coverage gives for each layer."""
    import re

    data = shared("district/subsets/pop-10k.csv").parent
    people = pd.read_csv(data / "pop-10k.csv").sample(500, random_state=1)
    pd.DataFrame({"lon": people["lon"], "lat": people["lat"], "workers": 3}).to_csv(
        tmp_path / "workers.csv", index=False)  # a union's count of couriers by place
    common = ["--network", str(data / "city-10k.osm.pbf"), "--population",
              str(data / "pop-10k.csv"), "--stations", str(data / "stations-10k.csv"),
              "--drop-far-population", "--workers", str(tmp_path / "workers.csv"), "-q"]
    assert main(["report", *common, "--sites", "0", "--out", str(tmp_path / "rep")]) == 0
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    table = html.split('<table id="layers">', 1)[1].split("</table>", 1)[0]
    rows = {re.findall(r"<td[^>]*>(.*?)</td>", r)[0]: re.findall(r"<td[^>]*>(.*?)</td>", r)
            for r in table.split("</tr>") if "<td" in r}
    for demand, label in (("residents", "常住人口"), ("workers", "户外劳动者")):
        assert main(["coverage", *common, "--demand", demand,
                     "--out", str(tmp_path / demand)]) == 0
        want = pd.read_csv(tmp_path / demand / "summary.csv").iloc[-1]
        got = rows[label]
        assert got[1] == f"{want['population']:,.0f}"
        assert got[2].startswith(f"{want['covered']:,.0f} ")
        assert got[3] == f"{want['cross_covered']:,.0f}"
