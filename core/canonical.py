"""The canonical JSON text that seals and the audit chain hash (docs/evidence.md).

One text for one meaning, whichever database the values were read back from: keys
sorted, no spaces, UTF-8; integral floats written as integers (85.0 and 85 are one
score); other floats in Python's shortest round-trip form; datetimes in UTC with
microseconds and a `Z`; UUIDs lower-case; NaN and infinities refused.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

# Integral floats beyond this are not exact integers in a double: keep them floats.
_EXACT = 2**53


# Values of exactly these types are their own canonical form (a subclass, such as an enum
# or a bool's int, takes the long way).
_AS_IS = frozenset({str, int, bool, type(None)})


def plain(value: Any) -> Any:
    """`value` as plain JSON data in its canonical form (see the module docstring)."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        return {
            key if type(key) is str else str(key): item if type(item) in _AS_IS else plain(item)
            for key, item in value.items()
        }
    if kind is list:
        return [item if type(item) in _AS_IS else plain(item) for item in value]
    return _plain_other(value)


def _plain_other(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return str(value) if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        if number.is_integer() and abs(number) < _EXACT:
            return int(number)
        return number
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in canonical data")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    raise TypeError(f"no canonical form for {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(
        plain(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def sha256_hex(value: Any) -> str:
    """SHA-256 of the canonical UTF-8 text of `value`, in lower-case hex."""
    return hashlib.sha256(dumps(value).encode("utf-8")).hexdigest()
