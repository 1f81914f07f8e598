"""The canonical JSON form that seals and the audit chain hash: one text for one meaning.
`plain` takes a short path for plain JSON values; it must give what the general rules give."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from core import canonical


class Colour(enum.StrEnum):
    red = "红"


class Level(enum.IntEnum):
    high = 3


VALUES = [
    None, True, False, 0, -7, 2**60, "文本", "",
    85.0, 85.5, -0.0, 2.0**53, 1e300, Decimal("12.50"), Decimal("3"),
    Colour.red, Level.high,
    datetime(2026, 11, 30, 8, 0, tzinfo=timezone(timedelta(hours=8))),
    date(2026, 11, 30), uuid.UUID(int=255),
    [1, 2.0, "x", None, [Colour.red]], (1, "t"),
    {"b": 1, "a": {"y": 2.0, "x": [Decimal("1.5"), {"k": Level.high}]}},
    {Colour.red: "key is an enum", 3: "key is an int"},
]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_short_path_gives_what_the_general_rules_give(value):
    assert canonical.plain(value) == canonical._plain_other(value)
    assert canonical.dumps(value) == canonical.dumps(canonical._plain_other(value))


def test_one_text_for_one_meaning():
    assert canonical.dumps({"score": 85.0, "at": datetime(2026, 1, 1, tzinfo=UTC)}) == (
        '{"at":"2026-01-01T00:00:00.000000Z","score":85}'
    )
    assert canonical.dumps({"b": [1.5], "a": Colour.red}) == '{"a":"红","b":[1.5]}'


NAIVE = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)


@pytest.mark.parametrize("value", [float("nan"), NAIVE, object(), {1.5}])
def test_what_has_no_canonical_form_is_refused(value):
    with pytest.raises((ValueError, TypeError)):
        canonical.dumps(value)
