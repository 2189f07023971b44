"""Labels for the maps: Simplified Chinese by default, English on request."""

from __future__ import annotations

from typing import Literal

from circle15.geo.errors import SettingsError

Lang = Literal["zh", "en"]

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "户外劳动者暖心驿站 {m} 分钟服务圈",
              "en": "Outdoor-worker stations: {m}-minute service circles"},
    "stations": {"zh": "驿站", "en": "Stations"},
    "station": {"zh": "驿站", "en": "Station"},
    "address": {"zh": "地址", "en": "Address"},
    "amenities": {"zh": "设施", "en": "Amenities"},
    "hours": {"zh": "开放时间", "en": "Opening hours"},
    "status": {"zh": "状态", "en": "Status"},
    "served": {"zh": "服务人口（15 分钟内）", "en": "People within reach"},
    "served_first": {"zh": "就近服务人口", "en": "People it is nearest to"},
    "iso_station": {"zh": "各站等时圈", "en": "Isochrone of each station"},
    "iso_union": {"zh": "步行 {m} 分钟覆盖范围", "en": "Within {m} min walk"},
    "surface": {"zh": "覆盖驿站数（0 / 1 / 2+）", "en": "Stations within reach (0 / 1 / 2+)"},
    "count0": {"zh": "无驿站覆盖", "en": "No station"},
    "count1": {"zh": "1 个驿站", "en": "1 station"},
    "count2": {"zh": "2 个及以上（交叉覆盖）", "en": "2+ stations (cross coverage)"},
    "density": {"zh": "人口密度（人/平方公里）", "en": "Population density (people/km²)"},
    "areas": {"zh": "镇街覆盖率", "en": "Coverage by area"},
    "area": {"zh": "镇/街道", "en": "Area"},
    "population": {"zh": "人口", "en": "Population"},
    "covered": {"zh": "已覆盖", "en": "Covered"},
    "cross": {"zh": "交叉覆盖", "en": "Cross-covered"},
    "covered_share": {"zh": "覆盖率", "en": "Covered share"},
    "gaps": {"zh": "覆盖缺口（按人口排序）", "en": "Coverage gaps (ranked by people)"},
    "gap": {"zh": "缺口", "en": "Gap"},
    "rank": {"zh": "排名", "en": "Rank"},
    "uncovered_people": {"zh": "未覆盖人口", "en": "People not covered"},
    "nearest_station": {"zh": "最近驿站", "en": "Nearest station"},
    "walk_min": {"zh": "步行分钟", "en": "Walking minutes"},
    "sites": {"zh": "建议新建站点", "en": "Proposed new sites"},
    "site": {"zh": "建议站点", "en": "Proposed site"},
    "gain": {"zh": "新增覆盖人口", "en": "People newly served"},
    "legend": {"zh": "图例", "en": "Legend"},
    "assumptions": {"zh": "步行 {m} 分钟，步速 {v} 公里/小时（约 {d} 米）；人口从可步行进入的附近道路计算（不经隧道、桥梁、室内通道进入）；数据日期 {date}",
                    "en": "{m} min walk at {v} km/h (about {d} m); people join the nearby streets they can step onto (not tunnels, bridges or indoor ways); data of {date}"},
    "fullscreen": {"zh": "全屏", "en": "Full screen"},
    "basemap_osm": {"zh": "OpenStreetMap 底图", "en": "OpenStreetMap"},
    "basemap_amap": {"zh": "高德地图底图", "en": "Amap (Gaode)"},
    "existing": {"zh": "现有", "en": "existing"},
    "planned": {"zh": "规划", "en": "planned"},
    "closed": {"zh": "关闭", "en": "closed"},
    "water": {"zh": "饮水", "en": "water"},
    "charger": {"zh": "充电", "en": "charger"},
    "first_aid": {"zh": "急救药箱", "en": "first aid"},
    "microwave": {"zh": "微波炉", "en": "microwave"},
    "toilet": {"zh": "卫生间", "en": "toilet"},
    "seats": {"zh": "座椅", "en": "seats"},
    "wifi": {"zh": "无线网络", "en": "Wi-Fi"},
    "umbrella": {"zh": "雨具", "en": "umbrella"},
    "battery_swap": {"zh": "换电", "en": "battery swap"},
    # courier page
    "courier_title": {"zh": "附近的暖心驿站", "en": "Stations near you"},
    "locate": {"zh": "定位我", "en": "Locate me"},
    "tap_hint": {"zh": "点击地图选择位置，或点“定位我”", "en": "Tap the map, or press “Locate me”"},
    "any_amenity": {"zh": "任意设施", "en": "Any amenity"},
    "open_now": {"zh": "只看营业中", "en": "Open now only"},
    "min": {"zh": "分钟", "en": "min"},
    "m": {"zh": "米", "en": "m"},
    "open": {"zh": "营业中", "en": "open"},
    "shut": {"zh": "已关门", "en": "closed now"},
    "hours_unknown": {"zh": "时间未知", "en": "hours unknown"},
    "none_found": {"zh": "步行范围内没有符合条件的驿站", "en": "No matching station within walking reach"},
    "your_position": {"zh": "您的位置", "en": "Your position"},
    # district planner page
    "towns_share": {"zh": "镇街覆盖率（{m} 分钟内人口占比）", "en": "Covered share by town (people within {m} min)"},
    "share_range": {"zh": "{a}–{b}%", "en": "{a}–{b} %"},
    "share_top": {"zh": "≥ {a}%", "en": "≥ {a} %"},
    "share_low": {"zh": "< {b}%", "en": "< {b} %"},
    "share_above_zero": {"zh": "0–{b}%（不含0）", "en": "above 0, below {b} %"},
    "towns_cross": {"zh": "镇街交叉覆盖率（{m} 分钟内有2个及以上驿站的人口占比）",
                    "en": "Cross-covered share by town (people within {m} min of 2+ stations)"},
    "areas_cross": {"zh": "镇街交叉覆盖", "en": "Towns: cross-covered"},
    "show_gaps": {"zh": "缺口列表", "en": "Gap list"},
    "people": {"zh": "人", "en": "people"},
    "cluster": {"zh": "驿站群（数字为站数，放大展开）", "en": "Station group (number of stations; zoom in)"},
    "search": {"zh": "搜索驿站名称或编号", "en": "Find a station by name or id"},
    "no_match": {"zh": "没有匹配的驿站", "en": "No station matches"},
    "picked_iso": {"zh": "所选驿站的 {m} 分钟范围", "en": "{m}-min reach of the picked station"},
    "pick_hint": {"zh": "点击驿站查看其服务范围", "en": "Pick a station to see its reach"},
    "gap_list": {"zh": "未覆盖人口最多的片区（2 公里见方，前 {n} 个，共 {total} 个）", "en": "Coverage gaps with the most people (2 km blocks; top {n} of {total})"},
    "streets": {"zh": "街道与水系（来自 OSM 数据）", "en": "Streets and water (from the OSM file)"},
    "road_motorway": {"zh": "高速公路", "en": "Motorway"},
    "road_trunk": {"zh": "快速路", "en": "Trunk road"},
    "road_primary": {"zh": "主干道", "en": "Primary road"},
    "road_secondary": {"zh": "次干道", "en": "Secondary road"},
    "road_tertiary": {"zh": "支路", "en": "Tertiary road"},
    "water_label": {"zh": "水域", "en": "Water"},
    "density_cls": {"zh": "{a}–{b} 人/平方公里", "en": "{a}–{b} people/km²"},
    "density_top": {"zh": "≥ {a} 人/平方公里", "en": "≥ {a} people/km²"},
    "close": {"zh": "关闭", "en": "Close"},
}


def check_lang(lang: str) -> Lang:
    if lang not in ("zh", "en"):
        raise SettingsError(f"language must be 'zh' or 'en', not {lang!r}")
    return lang  # type: ignore[return-value]


def t(key: str, lang: Lang, **values: object) -> str:
    """The label ``key`` in ``lang`` with ``{placeholders}`` filled."""
    text = LABELS[key][lang]
    return text.format(**values) if values else text


#: how walking words read for a riding mode (labels are written for walking)
_RIDING: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "ebike": {"zh": (("步行", "骑电动车"), ("步速", "车速")),
              "en": (("min walk", "min by e-bike"), ("Walking", "E-bike"),
                     ("walking", "e-bike"))},
    "bike": {"zh": (("步行", "骑自行车"), ("步速", "车速")),
             "en": (("min walk", "min by bike"), ("Walking", "Cycling"),
                    ("walking", "cycling"))},
}


def for_mode(text: str, mode: str, lang: Lang) -> str:
    """A label written for walking, worded for the travel ``mode`` (walk, ebike, bike)."""
    for old, new in _RIDING.get(mode, {}).get(lang, ()):
        text = text.replace(old, new)
    return text
