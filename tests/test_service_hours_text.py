"""办公时间 as people write it (`org.hours.parse_text`): every group of days keeps its own
times, and text that cannot be read is refused, naming it, rather than dropped."""

from __future__ import annotations

import pytest

from core import errors
from org import hours

WEEKDAYS = hours.DAYS[:5]
MORNING, AFTERNOON = ["08:30", "12:00"], ["14:00", "17:30"]


def each(days, *spans):
    return {day: [list(s) for s in spans] for day in days}


@pytest.mark.parametrize(
    ("written", "read"),
    [
        # Several groups of days in one part, separated by a comma, a space or nothing.
        (
            "周一至周五 08:30-12:00，周六 14:00-17:00",
            each(WEEKDAYS, MORNING) | each(["sat"], ["14:00", "17:00"]),
        ),
        (
            "周一至周五 08:30-12:00 周六 14:00-17:00",
            each(WEEKDAYS, MORNING) | each(["sat"], ["14:00", "17:00"]),
        ),
        (
            "周一、周三 9:00-12:00 周五 14:00-16:00",
            each(["mon", "wed"], ["09:00", "12:00"]) | each(["fri"], ["14:00", "16:00"]),
        ),
        # Parts separated by ；, ; or new lines.
        (
            "周一至周五 08:30-12:00、14:00-17:30；周六 09:00-12:00",
            each(WEEKDAYS, MORNING, AFTERNOON) | each(["sat"], ["09:00", "12:00"]),
        ),
        (
            "周一 8:00-9:00\n周二 10:00-11:00",
            each(["mon"], ["08:00", "09:00"]) | each(["tue"], ["10:00", "11:00"]),
        ),
        # Words for groups of days, half days, and 12-hour afternoons.
        ("工作日 上午8:30-12:00 下午2:00-5:30", each(WEEKDAYS, MORNING, AFTERNOON)),
        ("周末 10:00-16:00", each(["sat", "sun"], ["10:00", "16:00"])),
        ("每天 00:00-24:00", each(hours.DAYS, ["00:00", "24:00"])),
        ("星期六至星期一 10:00-11:00", each(["sat", "sun", "mon"], ["10:00", "11:00"])),
        ("周一至五 9:00-17:00", each(WEEKDAYS, ["09:00", "17:00"])),
        # Closed days, bracketed notes, full-width digits and punctuation.
        ("周一至周六 9:00-17:00；周日休息", each(hours.DAYS[:6], ["09:00", "17:00"])),
        ("周一至周五：０８：３０－１２：００（法定节假日除外）", each(WEEKDAYS, MORNING)),
    ],
)
def test_each_group_of_days_keeps_its_own_times(written, read):
    assert hours.parse_text(written) == read


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("随时", "无法识别“随时”"),
        ("周一至周五 08:30-12:00 其余时间预约", "无法识别“其余时间预约”"),
        ("周一至周五 08:30-12:00，节假日 09:00-12:00", "无法识别“节假日 09:00-12:00”"),
        # Digits of other scripts are not times.
        ("周一至周五 ٠٨:٣٠-12:00", "无法识别“٠٨:٣٠-12:00”"),
        ("周一至周五 ０８:３٠-12:00", "无法识别"),
        ("9:00-17:00", "时段“9:00-17:00”前应写明哪几天"),
        ("周一至周五", "“周一至周五”后面没有时段"),
        ("周一至周五 9:00-17:00；周六", "“周六”后面没有时段"),
        ("休息", "“休息”前应写明哪几天"),
        ("周一 9:00-12:00；周一休息", "周一既写了时段又写了休息"),
        ("周一至周五 9:00-17:00（周六 9:00-12:00）", "无法识别“(周六 9:00-12:00)”"),
        ("周一至周五 9:00-17:00（周六上午）", "括号里的“(周六上午)”请写在括号外"),
        ("周一至周五 25:00-26:00", "时间“25:00-26:00”不是有效的时刻"),
        ("周一 8:60-9:00", "不是有效的时刻"),
        ("周一 12:00-08:00", "结束不晚于开始"),
        ("周一 08:00-12:00、11:00-13:00", "时段有重叠"),
    ],
)
def test_text_that_cannot_be_read_is_refused_naming_it(written, says):
    with pytest.raises(errors.InvalidInput) as refused:
        hours.parse_text(written)
    assert says in " ".join(refused.value.errors["service_hours"])


@pytest.mark.parametrize(
    "stored",
    [
        hours.DEFAULT,
        each(WEEKDAYS, MORNING, AFTERNOON) | each(["sat"], ["09:00", "12:00"]),
        each(["mon", "wed", "fri"], ["09:00", "12:00"]) | each(["sun"], ["00:00", "24:00"]),
        each(hours.DAYS, ["07:00", "22:00"]),
    ],
)
def test_hours_read_back_from_their_own_text(stored):
    assert hours.parse_text(hours.as_text(stored)) == stored
