"""Charts of coverage by hour (PNG and SVG), drawn with matplotlib's Agg backend.

Town names are Chinese, so the chart uses a CJK font when one is installed
(WenQuanYi Micro Hei from ``fonts-wqy-microhei``, or Noto/Source Han Sans,
SimHei, ...); without one it still draws, and the names may show as boxes
(a warning says so).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from circle15.geo.coverage.hourly import ALL_AREAS, HourlyCoverage

log = logging.getLogger(__name__)

#: CJK fonts tried in order (family names as fontconfig reports them)
CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
             "Source Han Sans SC", "Source Han Sans CN", "SimHei", "Microsoft YaHei",
             "PingFang SC", "Heiti SC", "AR PL UMing CN")

#: the most towns the heatmap shows by name (the rest are summed in the total line)
MAX_TOWNS = 40


#: file names of the CJK fonts above, as Debian and others install them
_CJK_FILES = ("wqy-microhei", "wqy-zenhei", "notosanscjk", "notosanssc", "sourcehansans",
              "simhei", "msyh", "pingfang", "uming")


def cjk_font() -> str | None:
    """The first installed CJK font family of :data:`CJK_FONTS`, or None. matplotlib's
    font list is cached from its first run: a font installed since then is added here."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower().replace("-", "").replace("_", "")
                   or key in Path(path).name.lower() for key in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
    return found


def _needs_cjk(texts: Sequence[str]) -> bool:
    return any(ord(ch) > 0x2E80 for t in texts for ch in t)


def hourly_chart(hourly: HourlyCoverage, out_stem: Path, *, title: str = "") -> list[Path]:
    """Write ``<out_stem>.png`` and ``<out_stem>.svg``: the whole area's covered and
    cross-covered share of each demand layer by hour, the stations open, and (with
    areas) a town × hour heatmap of the first layer's covered share. Returns the files."""
    table = hourly.table
    towns = [str(a) for a in dict.fromkeys(table["area"]) if a != ALL_AREAS][:MAX_TOWNS]
    font = cjk_font()
    if font is None and _needs_cjk([*towns, title]):
        log.warning("no CJK font installed (e.g. fonts-wqy-microhei): Chinese names in the "
                    "chart may show as boxes")
    rc: Any = {"font.family": "sans-serif", "axes.unicode_minus": False, "svg.fonttype": "path",
          "font.sans-serif": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}
    # a bare Figure draws with Agg (files only): no pyplot state, no GUI backend
    with mpl.rc_context(rc):
        rows = 2 if towns else 1
        legend_rows = (2 * len(hourly.layers) + 1 + 2) // 3
        top = 3.2 + 0.2 * legend_rows
        heights = [top, max(2.0, 0.28 * len(towns) + 0.8)] if towns else [top]
        fig = Figure(figsize=(10, sum(heights) + 1.2))
        axes = fig.subplots(rows, 1, gridspec_kw={"height_ratios": heights}, squeeze=False)
        _lines(axes[0, 0], table[table["area"] == ALL_AREAS].sort_values("hour"), hourly)
        if towns:
            _heatmap(fig, axes[1, 0], table, towns, hourly.layers[0])
        day = f"{hourly.day:%Y-%m-%d} ({hourly.day:%a})"
        fig.suptitle(title or f"Coverage by hour, {day}", fontsize=12)
        fig.text(0.01, 0.005, f"Stations without usable opening_hours: {hourly.without_hours}, "
                 f"counted as {hourly.unknown}. Shares at the full hour.", fontsize=8,
                 color="#555")
        fig.tight_layout(rect=(0, 0.02, 1, 1))
        out_stem.parent.mkdir(parents=True, exist_ok=True)
        paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".svg")]
        fig.savefig(paths[0], dpi=110)
        fig.savefig(paths[1])
    return paths


def _lines(ax: Axes, total: pd.DataFrame, hourly: HourlyCoverage) -> None:
    hours = total["hour"].to_numpy()
    colours = mpl.colormaps["tab10"]
    for i, name in enumerate(hourly.layers):
        c = colours(i)
        ax.plot(hours, total[f"covered_{name}_share"] * 100, color=c, lw=2, marker="o", ms=3,
                label=f"{name}: covered (1+ open stations)")
        ax.plot(hours, total[f"cross_{name}_share"] * 100, color=c, lw=1.5, ls="--",
                label=f"{name}: cross-covered (2+)")
    ax.set_ylim(0, 100)
    ax.set_xlim(-0.5, 23.5)
    ax.set_xticks(range(24))
    ax.set_xticklabels([f"{h:02d}" for h in range(24)], fontsize=8)
    ax.set_ylabel("share of demand, %")
    ax.set_xlabel("hour of day")
    ax.grid(alpha=0.3)
    twin = ax.twinx()
    twin.bar(hours, total["stations_open"], color="#999", alpha=0.25, width=0.8,
             label="stations open")
    twin.set_ylabel("stations open", color="#777")
    twin.set_ylim(0, max(1, int(total["stations_open"].max())) * 1.15)
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    # below the axes, so that no line hides behind it
    ax.legend(handles + h2, labels + l2, fontsize=7, loc="upper center",
              bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)


def _heatmap(fig: Figure, ax: Axes, table: pd.DataFrame, towns: list[str],
             layer: str) -> None:
    col = f"covered_{layer}_share"
    grid = np.full((len(towns), 24), np.nan)
    for i, town in enumerate(towns):
        sub = table[table["area"] == town].sort_values("hour")
        grid[i, sub["hour"].to_numpy()] = sub[col].to_numpy() * 100
    img = ax.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=0, vmax=100,
                    interpolation="nearest")
    ax.set_yticks(range(len(towns)))
    ax.set_yticklabels(towns, fontsize=8)
    ax.set_xticks(range(24))
    ax.set_xticklabels([f"{h:02d}" for h in range(24)], fontsize=8)
    ax.set_xlabel("hour of day")
    ax.set_title(f"{layer}: covered share by town, %", fontsize=10)
    fig.colorbar(img, ax=ax, fraction=0.03, pad=0.01)
