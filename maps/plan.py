"""The planner's workbench page, ``/plan``: scenarios tried on the map.

A page of the service (it needs the API): the list of scenarios, a scenario's
edits with undo, its totals and their change against the register, a per-town
table sorted by change, and the map. Click a street point to add a station
there (its 15-minute area and the people it newly covers are shown), drag a
station to move it, click one to remove it and a removed one to restore it;
towns that gain are shaded green, those that lose red; "Suggest 5" draws ranked
sites that one click adds; "Compare" puts 2-4 scenarios side by side (a table
and a small map each); the downloads and the committee report are linked.
Every number shown comes from the API's answers; the page counts nothing
itself. zh by default, en available.
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
           "towns": "各镇街", "add_name": "新驿站名称",
           "remove": "删除驿站", "adopt": "采纳为现状（管理员）", "people": "人",
           "none": "尚无方案：先新建一个。", "compare": "对比",
           "hint": "点击街道添加驿站；拖动驿站可移动；点击驿站删除，点击灰色驿站恢复。",
           "drag": "拖动以移动", "restore": "点击恢复", "take": "点击添加此处",
           "newly": "本次修改：新增覆盖", "site": "建议站点",
           "report": "报告", "kept": "现有", "added": "新增",
           "removed": "已删除", "gain": "覆盖增加", "loss": "覆盖减少",
           "pick": "请选择2至4个方案。", "op_add": "新增", "op_remove": "删除",
           "op_move": "移动", "op_update": "修改",
           "cmp_hint": "小地图：绿色为新增驿站，红圈为删除的驿站。"},
    "en": {"title": "Station planning workbench", "token": "Token", "save": "Sign in",
           "scenarios": "Scenarios", "new": "New from the register", "copy": "Copy this one",
           "name": "Scenario name", "stations": "Stations", "covered": "Covered (15 min)",
           "cross": "Cross-covered", "change": "vs register", "edits": "Edits", "undo": "Undo",
           "suggest": "Suggest 5", "towns": "Towns",
           "add_name": "Name of the new station", "remove": "Remove station",
           "adopt": "Adopt as the register (admin)", "people": "people",
           "none": "No scenario yet: make one first.", "compare": "Compare",
           "hint": "Click a street to add a station; drag a station to move it; click one to "
                   "remove it, a grey one to restore it.",
           "drag": "drag to move", "restore": "click to restore", "take": "click to add here",
           "newly": "This edit: newly covered", "site": "Suggested site",
           "report": "Report", "kept": "existing",
           "added": "added", "removed": "removed", "gain": "gains", "loss": "loses",
           "pick": "Pick 2 to 4 scenarios.", "op_add": "add", "op_remove": "remove",
           "op_move": "move", "op_update": "update",
           "cmp_hint": "Small maps: green, stations added; red rings, stations removed."},
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
