"""What counts as a reason a person gave: a sentence, not a keystroke.

A dismissed finding, a rejected reply or a denied extension carries the office's reason
to the unit and into the audit trail; "n" (a shortcut key typed into the field) or "ok"
is no reason, and neither are blanks or invisible characters (`core.text`). Every service
that requires one checks it here, so the API, the console and the mini program refuse the
same text with the same words.
"""

from __future__ import annotations

from core import errors, text

MIN_LENGTH = 4  # visible characters: "照片模糊" is the shortest useful reason
TOO_SHORT = f"请用一句话说明理由，至少 {MIN_LENGTH} 个字"


def check(reason: str | None, message: str, *, field: str = "reason") -> str:
    """The trimmed reason, or a 422 naming `field` when it is missing or too short."""
    trimmed = text.trim(reason or "")
    if text.visible_length(trimmed) < MIN_LENGTH:
        raise errors.InvalidInput(
            message, errors={field: [TOO_SHORT if given(trimmed) else "必填字段"]}
        )
    return trimmed


def given(value: str | None) -> bool:
    """Whether `value` holds anything a reader sees (a required text's presence)."""
    return bool(value) and text.visible_length(value) > 0
