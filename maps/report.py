"""The committee report as HTML (print CSS, A4 portrait) and as PDF, printed by the
headless Chromium the project installs. Figures are SVG drawn from the report's own
numbers with matplotlib (offline; text kept as text), with a CJK font.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

from circle15.geo.errors import Circle15Error
from circle15.maps.render import render

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

WORDS = {
    "zh": {"summary": "摘要", "now": "现状", "after": "实施建议后", "within": "分钟内",
           "covered": "覆盖", "cross": "交叉覆盖（2站及以上）", "uncovered": "未覆盖",
           "people": "人口", "stations": "驿站数", "gaps": "缺口最大的三个镇街",
           "map": "全区覆盖图", "towns": "各镇街覆盖", "town": "镇街", "change": "变化",
           "sites": "建议新增站点", "rank": "序号", "site": "站点", "newly": "新增覆盖人数",
           "nearest": "最近现有驿站", "walk": "步行分钟", "curve": "新增站点数与覆盖",
           "night": "夜间覆盖", "open": "营业驿站", "open24": "24小时营业驿站",
           "notes": "口径与说明", "source": "数据来源", "date": "日期", "page": "页",
           "site_maps": "各建议站点的15分钟步行范围（橙色）与附近现有驿站（蓝点）",
           "newly_cross": "新增交叉覆盖人数",
           "layers": "户外劳动者与常住人口", "layer_residents": "常住人口",
           "layer_workers": "户外劳动者", "layer_mix": "综合（加权）",
           "falloff": "从第 {k} 个站点起，每个新增站点新增覆盖的人数不到第一个站点的一半："
                      "收益在此后明显递减。",
           "share_now": "15分钟覆盖比例（现状）", "share_after": "15分钟覆盖比例（实施建议后）"},
    "en": {"summary": "Summary", "now": "Now", "after": "With the proposal", "within": "min",
           "covered": "Covered", "cross": "Cross-covered (2+ stations)", "uncovered": "Uncovered",
           "people": "People", "stations": "Stations", "gaps": "The three largest gaps",
           "map": "District map", "towns": "Coverage by town", "town": "Town",
           "change": "Change", "sites": "Proposed sites", "rank": "#", "site": "Site",
           "newly": "Newly covered", "nearest": "Nearest station", "walk": "Walk (min)",
           "curve": "What more sites add", "night": "At night", "open": "Stations open",
           "open24": "Stations open 24 h", "notes": "Counting rule and caveats",
           "source": "Data", "date": "Date", "page": "Page",
           "site_maps": "Each proposed site's 15-minute walk (orange) and the stations near "
                        "it (blue)",
           "newly_cross": "Newly cross-covered",
           "layers": "Outdoor workers beside residents", "layer_residents": "Residents",
           "layer_workers": "Outdoor workers", "layer_mix": "Mix (weighted)",
           "falloff": "From site {k} on, each new site covers less than half as many new "
                      "people as the first: returns fall off from there.",
           "share_now": "share covered (now)", "share_after": "share covered (with the proposal)"},
}


def _svg(fig: Any) -> Markup:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", dpi=150)
    text = buf.getvalue()
    return Markup(text[text.index("<svg"):])


def _streets(ax: Any, base: Any, bounds: Any, *, scale: float,
             classes: tuple[str, ...] = ("motorway", "trunk", "primary", "secondary",
                                         "tertiary")) -> None:
    """The network file's own streets and water within ``bounds`` (WGS84), styled as on
    the planner map (:data:`circle15.maps.planner_data.ROAD_STYLE`), as one raster layer
    (a district's streets as vectors would make the file heavy)."""
    import numpy as np
    from matplotlib.collections import LineCollection, PolyCollection

    from circle15.maps.planner_data import ROAD_STYLE, WATER_COLOUR

    minx, miny, maxx, maxy = bounds

    def inside(a: Any) -> bool:
        return bool(a[:, 0].max() >= minx and a[:, 0].min() <= maxx
                    and a[:, 1].max() >= miny and a[:, 1].min() <= maxy)

    rings = [poly[0] * 1e-5 for poly in base.water_areas if inside(poly[0] * 1e-5)]
    if rings:
        ax.add_collection(PolyCollection(rings, facecolor=WATER_COLOUR, edgecolor="none",
                                         rasterized=True, zorder=0))
    for cls in reversed(classes):  # the main roads drawn last, on top
        lines = [a * 1e-5 for a in base.roads.get(cls, []) if len(a) > 1]
        lines = [a for a in lines if inside(a)]
        if lines:
            colour, width = ROAD_STYLE[cls]
            ax.add_collection(LineCollection(lines, colors=colour, linewidths=width * scale,
                                             rasterized=True, zorder=0.5))
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect(1 / np.cos(np.radians((miny + maxy) / 2)))


def _site_maps(data: Any) -> Markup:
    """Each proposed site's 15-minute walking area on the streets, with the stations
    near it: small maps, three to a row."""
    import math

    from matplotlib.figure import Figure

    sites = data.sites.reset_index(drop=True)
    n = len(sites)
    cols = 3
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(6.5, 2.25 * rows))
    for i, r in sites.iterrows():
        ax = fig.add_subplot(rows, cols, i + 1)
        area = data.site_areas[data.site_areas["rank"] == r["rank"]]
        if len(area):
            minx, miny, maxx, maxy = area.total_bounds
        else:
            minx, miny, maxx, maxy = r["lon"] - 0.01, r["lat"] - 0.01, r["lon"] + 0.01, \
                r["lat"] + 0.01
        pad = max(maxx - minx, maxy - miny) * 0.15
        box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        if data.streets is not None:
            _streets(ax, data.streets, box, scale=0.5)
        if len(area):
            area.plot(ax=ax, facecolor="#e6550d", alpha=0.22, edgecolor="#e6550d",
                      linewidth=0.8, zorder=1)
        st = data.map_stations
        near = st[(st["lon"] >= box[0]) & (st["lon"] <= box[2]) & (st["lat"] >= box[1])
                  & (st["lat"] <= box[3])]
        ax.scatter(near["lon"], near["lat"], s=9, c="#08519c", zorder=2)
        ax.scatter([r["lon"]], [r["lat"]], s=70, c="#e6550d", marker="s", zorder=3)
        ax.annotate(str(r["rank"]), (r["lon"], r["lat"]), color="white", ha="center",
                    va="center", fontsize=6, zorder=4)
        ax.set_xlim(box[0], box[2])
        ax.set_ylim(box[1], box[3])
        ax.set_title(f"{r['rank']}. {r['name']}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.tight_layout()
    return _svg(fig)


def _figures(data: Any, w: dict[str, str]) -> dict[str, Markup]:
    import matplotlib as mpl

    mpl.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from circle15.geo.output.charts import cjk_font

    font = cjk_font()
    rc: dict[str, Any] = {"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
                          "svg.fonttype": "none", "font.size": 8}
    out: dict[str, Markup] = {}
    with mpl.rc_context(rc):  # type: ignore[arg-type]
        if data.map_towns is not None:
            fig = Figure(figsize=(6.5, 5.2))
            ax = fig.add_subplot()
            if data.streets is not None:
                _streets(ax, data.streets, data.map_towns.total_bounds, scale=0.3,
                         classes=("motorway", "trunk", "primary", "secondary"))
            data.map_towns.plot(ax=ax, column="share", cmap="RdYlGn", vmin=0, vmax=1,
                                alpha=0.75, edgecolor="#555", linewidth=0.4, legend=True,
                                legend_kwds={"shrink": 0.6, "label": w["share_after"] if
                                             data.after is not None else w["share_now"]})
            ax.scatter(data.map_stations["lon"], data.map_stations["lat"], s=3, c="#08519c")
            if data.sites is not None:
                for r in data.sites.itertuples():
                    ax.scatter([r.lon], [r.lat], s=60, c="#e6550d", marker="s")
                    ax.annotate(str(r.rank), (r.lon, r.lat), color="white", ha="center",
                                va="center", fontsize=6)
            ax.set_axis_off()
            out["map"] = _svg(fig)
        if data.site_areas is not None and data.sites is not None and len(data.site_areas):
            out["site_maps"] = _site_maps(data)
        if data.curve is not None and len(data.curve):
            fig = Figure(figsize=(6.5, 2.2))
            ax = fig.add_subplot()
            c = data.curve
            ax.plot(c.iloc[:, 0], c["covered"], marker="o", color="#08519c")
            ax.set_xlabel("k")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.ticklabel_format(axis="y", style="plain", useOffset=False)
            ax.grid(alpha=0.3)
            out["curve"] = _svg(fig)
        fig = Figure(figsize=(6.5, 2.2))
        ax = fig.add_subplot()
        share = next(c for c in data.hours.columns if c.startswith("covered_"))
        ax.plot(data.hours["time"], data.hours[share] * 100, color="#542788")
        ax.set_ylim(0, 100)
        ax.set_ylabel("%")
        ax.tick_params(axis="x", labelrotation=90)
        ax.grid(alpha=0.3)
        out["hours"] = _svg(fig)
    return out


def report_html(data: Any, *, lang: str = "zh") -> str:
    """The report as one HTML file (figures inline)."""
    w = WORDS.get(lang, WORDS["zh"])
    gaps = None
    if data.towns is not None:
        left = data.towns.assign(left=data.towns["population"] - data.towns.get(
            "covered_after", data.towns["covered"]))
        gaps = left.sort_values("left", ascending=False).head(3)
    notes = [_zh_note(n) for n in data.notes] if lang == "zh" else list(data.notes)
    if lang == "zh":  # "Tue 02:00" as a committee reads it
        data = dataclasses.replace(data, night_at=" ".join(
            _ZH_DAYS.get(p, p) for p in str(data.night_at).split()))
    return render("report.html", html_lang="zh-CN" if lang == "zh" else "en", w=w, d=data,
                  gaps=gaps, fig=_figures(data, w), notes=notes)


#: the report's standing notes in Chinese (the use cases say them in English); a note
#: not listed here is shown as it is
_ZH_NOTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^counting rule: .*", re.S),
     "计算口径：每个人口单元（点或格网中心）从可步行进入的附近道路进入步行路网（不经隧道、桥梁、"
     "室内通道进入，但可穿行）；步行时间 = 到道路的直线步行 + 沿道路步行 + 路网步行，取最短者；"
     "在限定时间内即计为覆盖，有2个及以上驿站可达即为交叉覆盖。"),
    (re.compile(r"^demand: residents$"), "需求：常住人口。"),
    (re.compile(r"^demand: workers$"), "需求：户外劳动者。"),
    (re.compile(r"^the proposed sites are within ([\d.]+%) of the best possible .*"),
     r"建议站点与最优方案的差距不超过 \1（已证明的上界），未证明为最优。"),
    (re.compile(r"^the scenario removes (\d+) existing station\(s\): (.*)$"),
     r"方案删除了 \1 个现有驿站：\2。"),
]


_ZH_DAYS = {"Mon": "周一", "Tue": "周二", "Wed": "周三", "Thu": "周四", "Fri": "周五",
            "Sat": "周六", "Sun": "周日", "Mo": "周一", "Tu": "周二", "We": "周三", "Th": "周四",
            "Fr": "周五", "Sa": "周六", "Su": "周日"}


def _zh_note(note: str) -> str:
    for pattern, zh in _ZH_NOTES:
        if pattern.match(note):
            return pattern.sub(zh, note)
    return note


def check_printer() -> None:
    """Refuse before writing anything when the browser or a CJK font is missing."""
    from circle15.geo.output.charts import cjk_font

    try:
        import playwright.sync_api  # noqa: F401  (drives the browser)
    except ImportError as exc:
        raise Circle15Error("the report is printed through Playwright, which is not "
                            "installed: run make install (or pip install playwright)") from exc
    if not Path(CHROMIUM).exists():
        raise Circle15Error(f"the report is printed by Chromium, which is not at {CHROMIUM}: "
                            "install it (make system installs Debian's chromium)")
    if cjk_font() is None:
        raise Circle15Error("no CJK font is installed (make system installs "
                            "fonts-wqy-microhei): the report's Chinese would print as boxes")


def print_pdf(html: str, path: Path) -> None:
    """``html`` printed to ``path`` as A4 portrait with page numbers, fonts embedded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.set_content(html, wait_until="load")
            page.pdf(path=str(path), format="A4", print_background=True,
                     display_header_footer=True, header_template="<span></span>",
                     footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                     '<span class="pageNumber"></span> / '
                                     '<span class="totalPages"></span></div>',
                     margin={"top": "14mm", "bottom": "16mm", "left": "14mm",
                             "right": "14mm"})
        finally:
            browser.close()
