"""Opening hours through the maintained OSM parser: validation, open now, intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from circle15.geo.errors import InputError, SettingsError
from circle15.geo.inputs.station_hours import (
    Hours,
    OpeningHoursError,
    area_timezone,
    check_opening_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MON = datetime(2026, 11, 23)  # a Monday


def test_invalid_syntax_is_a_clear_input_error():
    with pytest.raises(OpeningHoursError, match=r"'Mo-Xx 25:00-99:99'.*character 4.*wday"):
        check_opening_hours("Mo-Xx 25:00-99:99")
    with pytest.raises(InputError):  # a user error: the service answers 422
        Hours.parse("sometimes")
    assert check_opening_hours("  Mo-Fr 08:00-18:00 ") == "Mo-Fr 08:00-18:00"
    assert check_opening_hours("") == ""
    with pytest.raises(SettingsError, match="time zone"):
        Hours.parse("24/7", timezone="Mars/Olympus")


@pytest.mark.parametrize(("spec", "when", "want"), [
    ("Mo-Fr 08:00-18:00", MON.replace(hour=7, minute=59), False),
    ("Mo-Fr 08:00-18:00", MON.replace(hour=8), True),
    ("Mo-Fr 08:00-18:00; Sa 09:00-12:00", MON + timedelta(days=5, hours=11), True),
    ("Mo-Fr 08:00-18:00; Sa 09:00-12:00", MON + timedelta(days=6, hours=11), False),
    ("Mo-Su 20:00-02:00", MON + timedelta(days=2, hours=1, minutes=30), True),  # past midnight
    ("Fr-Mo 10:00-16:00", MON + timedelta(hours=12), True),  # a day range across the week end
    ("Fr-Mo 10:00-16:00", MON + timedelta(days=1, hours=12), False),
    ("24/7", MON + timedelta(days=6, hours=3), True),
    ("Mo-Fr 10:00-12:00 unknown", MON + timedelta(hours=11), None),
    ("", MON, None),
])
def test_is_open_in_the_area_zone(spec, when, want):
    hours = Hours.parse(spec, timezone=SHANGHAI)
    assert hours.is_open(when) is want
    # the same instant asked in another zone gives the same answer
    assert hours.is_open(when.replace(tzinfo=SHANGHAI).astimezone(UTC)) is want


def test_not_understood_reads_as_unknown():
    hours = Hours.read("sometimes", timezone=SHANGHAI)
    assert hours.is_open(MON) is None and hours.spec == "sometimes"
    assert hours.schedule(MON, MON + timedelta(days=7)).constant == "unknown"


def test_schedule_lists_open_intervals_over_a_window():
    hours = Hours.parse("Mo-Su 20:00-02:00", timezone=SHANGHAI)
    week = hours.schedule(MON, MON + timedelta(days=7))
    assert week.constant is None and len(week.open) == 8  # clipped at both ends
    assert week.open[0] == (MON.replace(tzinfo=SHANGHAI), MON.replace(hour=2, tzinfo=SHANGHAI))
    assert week.open[1][0] == MON.replace(hour=20, tzinfo=SHANGHAI)
    for a, b in week.open[:-1]:
        assert a < b and hours.is_open(a) is True and hours.is_open(b) is False
    assert week.open[-1][1] == week.end
    assert week.is_open(MON.replace(hour=21, tzinfo=SHANGHAI)) is True
    assert week.is_open(MON.replace(hour=12, tzinfo=SHANGHAI)) is False
    assert week.is_open(MON.replace(tzinfo=SHANGHAI) + timedelta(days=8)) is None  # outside


def test_constant_hours_hold_beyond_the_window():
    always = Hours.parse("24/7", timezone=SHANGHAI).schedule(MON, MON + timedelta(days=1))
    never = Hours.parse("off", timezone=SHANGHAI).schedule(MON, MON + timedelta(days=1))
    later = MON.replace(tzinfo=SHANGHAI) + timedelta(days=30)
    assert always.constant == "open" and always.is_open(later) is True
    assert never.constant == "closed" and never.is_open(later) is False


def test_time_zone_from_the_position():
    assert area_timezone(114.25, 22.72) == ZoneInfo("Asia/Shanghai")  # Longgang, Shenzhen
    assert area_timezone(24.94, 60.17) == ZoneInfo("Europe/Helsinki")
    helsinki = Hours.parse("Mo-Fr 08:00-16:00", lonlat=(24.94, 60.17))
    assert helsinki.timezone == ZoneInfo("Europe/Helsinki")
    # 07:30 UTC is 09:30 in Helsinki in November
    assert helsinki.is_open(datetime(2026, 11, 24, 7, 30, tzinfo=UTC)) is True
    assert helsinki.is_open(datetime(2026, 11, 24, 14, 30, tzinfo=UTC)) is False


ALWAYS_OPEN = ["24/7", "Mo-Su 00:00-24:00", "00:00-24:00",
               "Mo-Fr 00:00-24:00; Sa-Su 00:00-24:00", "Mo-Su 00:00-24:00 open",
               "Jan-Dec Mo-Su 00:00-24:00", "Mo-Su 00:00-12:00,12:00-24:00",
               "Mo 00:00-24:00; Tu-Su 00:00-24:00"]


@pytest.mark.parametrize("spec", ALWAYS_OPEN)
def test_every_spelling_of_always_open_is_recognised(spec):
    from circle15.geo.courier.navigation import open_all_day

    start = datetime(2026, 12, 7, 12, tzinfo=SHANGHAI)
    hours = Hours.read(spec, timezone=SHANGHAI)
    assert open_all_day(hours, start)
    schedule = hours.schedule(start, start + timedelta(days=7))
    assert schedule.constant == "open" and schedule.is_open(start + timedelta(days=30))


def test_constancy_is_judged_over_a_bounded_horizon():
    # a change weeks ahead does not make today's always-open station a part-time one
    # (the parser's unbounded search found it, a second per station, holding the GIL);
    # a change within the horizon does
    start = datetime(2026, 12, 7, 12, tzinfo=SHANGHAI)
    far = Hours.read("Mo-Su 00:00-24:00; 2027 Jan 20 off", timezone=SHANGHAI)
    assert far.constant_from(start) == "open"
    near = Hours.read("Mo-Su 00:00-24:00; 2026 Dec 10 off", timezone=SHANGHAI)
    assert near.constant_from(start) is None
    assert near.is_open(datetime(2026, 12, 10, 12, tzinfo=SHANGHAI)) is False
    assert Hours.read("off", timezone=SHANGHAI).constant_from(start) == "closed"
    assert Hours.read("Mo-Sa 00:00-24:00", timezone=SHANGHAI).constant_from(start) is None
