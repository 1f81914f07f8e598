"""How documents word a problem: a finding or a task is a checklist item the unit failed,
and the item's title is the requirement (“使用普通话服务”), never the problem itself —
printed bare it reads as if the inspection found the requirement met. So every sentence
or cell that presents a problem says 不符合“…”的要求, then what the inspector saw."""

from __future__ import annotations

from inspections.findings import missing_photo_codes
from inspections.models import Inspection

PHOTOS_NOT_UPLOADED = "照片未上传"
_TRAILING = "。；;，,.、 "


def requirement(title: str | None) -> str:
    """“仪表整洁、坐姿端正”: the item's title quoted as the requirement."""
    return f"“{(title or '').strip().rstrip(_TRAILING)}”"


def failed_requirement(title: str | None, number: str | None = None) -> str:
    """不符合“仪表整洁、坐姿端正”的要求; with the item's number, 不符合第1.3项“…”的要求."""
    where = f"第{number}项" if number else ""
    return f"不符合{where}{requirement(title)}的要求"


def sentence(text: str | None) -> str:
    """An inspector's note as a sentence ending in 。 ("" when there is none)."""
    text = (text or "").strip().rstrip(_TRAILING)
    return f"{text}。" if text else ""


def photos_missing(inspections: list[Inspection]) -> dict[int, set[str]]:
    """Per inspection id, the items whose required photos never arrived."""
    return {i.id: set(missing_photo_codes(i)) for i in dict.fromkeys(inspections)}


def photos_missing_line(inspection: Inspection) -> str:
    """照片缺失：the reason the office recorded when it published without the photos."""
    reason = (inspection.missing_photos_reason or "").strip()
    return f"照片缺失：{sentence(reason) if reason else PHOTOS_NOT_UPLOADED + '。'}"
