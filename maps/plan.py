"""The planner's workbench page, ``/plan``: scenarios tried on the map.

A page of the service (it needs the API): the list of scenarios, a scenario's
edits with undo, its totals and their change against the register, a per-town
table sorted by change, and the map. Click a street point to add a station
there, click a station to remove it, "Suggest 5" to draw ranked sites that one
click adds. Every number shown comes from the API's answers; the page counts
nothing itself. zh by default, en available.
"""

from __future__ import annotations

from circle15.maps.assets import inline_head
from circle15.maps.i18n import Lang, check_lang
from circle15.maps.planner import TILES
from circle15.maps.render import render

WORDS = {
    "zh": {"title": "驿站规划工作台", "token": "令牌", "save": "登录", "scenarios": "方案",
           "new": "从现有驿站新建", "copy": "复制此方案", "name": "方案名称",
           "stations": "驿站", "covered": "15分钟内覆盖", "cross": "交叉覆盖",
           "change": "较现状", "edits": "修改记录", "undo": "撤销", "suggest": "建议5处",
           "towns": "各镇街", "hint": "点击街道添加驿站，点击驿站删除。", "add_name": "新驿站名称",
           "remove": "删除驿站", "adopt": "采纳为现状（管理员）", "people": "人",
           "none": "尚无方案：先新建一个。", "compare": "对比"},
    "en": {"title": "Station planning workbench", "token": "Token", "save": "Sign in",
           "scenarios": "Scenarios", "new": "New from the register", "copy": "Copy this one",
           "name": "Scenario name", "stations": "Stations", "covered": "Covered (15 min)",
           "cross": "Cross-covered", "change": "vs register", "edits": "Edits", "undo": "Undo",
           "suggest": "Suggest 5", "towns": "Towns",
           "hint": "Click a street to add a station, a station to remove it.",
           "add_name": "Name of the new station", "remove": "Remove station",
           "adopt": "Adopt as the register (admin)", "people": "people",
           "none": "No scenario yet: make one first.", "compare": "Compare"},
}


def plan_page(*, lang: str = "zh", basemap: str = "osm") -> str:
    """The workbench page (one HTML file with Leaflet inlined; it talks to this service)."""
    lang_: Lang = check_lang(lang)
    tiles = TILES.get(basemap)
    return render("plan.html", html_lang="zh-CN" if lang_ == "zh" else "en",
                  head=inline_head(), words=WORDS[lang_],
                  data={"lang": lang_, "words": WORDS[lang_],
                        "tiles": None if tiles is None else {
                            "url": tiles[0], "attribution": tiles[1],
                            "subdomains": tiles[2] or "abc"}})
