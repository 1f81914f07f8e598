"""Make values fit WeChat's subscribe-message field rules, or WeChat answers 47003.

A template's keys carry their type in the prefix (`thing1`, `time3`, `phrase4`); each type
has a length limit (WeChat's subscribe-message documentation). Too long text is cut with an
ellipsis rather than refused: the full text is in the in-app inbox and on the page the
message opens.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from core.clock import local

LIMITS = {
    "thing": 20,
    "phrase": 5,
    "character_string": 32,
    "name": 10,
    "phone_number": 17,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "car_number": 8,
}


def field_type(key: str) -> str:
    return re.sub(r"\d+$", "", key)


def fit(key: str, value: str) -> str:
    limit = LIMITS.get(field_type(key))
    value = " ".join(str(value).split()) or "-"  # WeChat refuses empty values
    if limit is not None and len(value) > limit:
        if field_type(key) in ("thing", "name"):
            return value[: limit - 1] + "…"
        return value[:limit]
    return value


def wechat_time(value: datetime | date) -> str:
    """`2019年10月1日 15:01`, the `time` field's shape, in the office's timezone."""
    if isinstance(value, datetime):
        value = local(value)
        return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M}"
    return f"{value.year}年{value.month}月{value.day}日"
