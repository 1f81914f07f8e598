"""What counts as a reason a person gave: a sentence, not a keystroke.

A dismissed finding, a rejected reply or a denied extension carries the office's reason
to the unit and into the audit trail; "n" (a shortcut key typed into the field) or "ok"
is no reason. Every service that requires one checks it here, so the API, the console
and the mini program refuse the same text with the same words.
"""

from __future__ import annotations

from core import errors

MIN_LENGTH = 4  # characters after trimming: "照片模糊" is the shortest useful reason
TOO_SHORT = f"请用一句话说明理由，至少 {MIN_LENGTH} 个字"


def check(reason: str | None, message: str, *, field: str = "reason") -> str:
    """The trimmed reason, or a 422 naming `field` when it is missing or too short."""
    text = (reason or "").strip()
    if len(text) < MIN_LENGTH:
        raise errors.InvalidInput(message, errors={field: [TOO_SHORT if text else "必填字段"]})
    return text
