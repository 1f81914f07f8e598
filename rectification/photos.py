"""After-photos go through the photo pipeline (media) as attachments of a task.

The unit uploads them with `owner_type="rectification_task"` and the task's id while the
task waits for its reply, then names them in the reply. Before-photos are the inspection's
photos of the finding's item. Whoever may see the task may see both; nobody else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select

from accounts.models import User
from core import errors
from core.clock import utcnow
from core.db import db
from media import service as media
from media.kinds import Attachment, AttachmentKind
from media.models import Photo, PhotoStatus
from rectification import policy
from rectification.models import RectificationTask, TaskStatus

KIND = "rectification_task"
INSPECTION_KIND = "inspection"


def _attachment(task: RectificationTask) -> Attachment:
    # After-photos are taken between the task's opening and now: an older photo is flagged.
    # Near-duplicates are looked for outside the photo's group: one group per round, so a
    # round may hold two shots of one counter, but an after-photo sent again in a later
    # round matches the one the office already saw (and a re-used inspection photo too).
    return Attachment(
        unit_id=task.unit_id,
        group=f"{KIND}:{task.id}:{task.round}",
        window=(task.created_at, utcnow() + timedelta(minutes=10)),
    )


def _view(owner_id: int, actor: User) -> Attachment:
    return _attachment(policy.visible_task(owner_id, actor))


def _attach(owner_id: int, actor: User, item_code: str | None) -> Attachment:
    task = policy.visible_task(owner_id, actor)
    if not policy.can_attach_after_photos(actor, task):
        raise errors.Forbidden("只有被检查单位可以上传整改照片")
    if task.status != TaskStatus.open:
        raise errors.Conflict(
            "该任务当前不需要整改回复，不能上传整改照片", type="urn:problem:task-not-awaiting-reply"
        )
    if item_code is not None:
        raise errors.InvalidInput(errors={"item_code": ["整改照片不按检查项上传，请不要填写"]})
    return _attachment(task)


def _owners(actor: User):
    """The ids of the tasks whose photos `actor` may see (media's photo filter)."""
    return policy.visible_task_ids(actor)


# Registered on the app by `rectification.init_app`.
ATTACHMENT = AttachmentKind(KIND, view=_view, attach=_attach, owners=_owners)


def check_after_photos(task: RectificationTask, photo_ids: list[int]) -> None:
    """Every id must be a stored photo uploaded for this task; 422 naming the others."""
    ids = list(dict.fromkeys(photo_ids))
    found = set(
        db.session.scalars(
            select(Photo.id).where(
                Photo.id.in_(ids),
                Photo.owner_type == KIND,
                Photo.owner_id == task.id,
                Photo.status == PhotoStatus.stored,
            )
        )
    )
    wrong = [i for i in ids if i not in found]
    if wrong:
        raise errors.InvalidInput(
            "整改照片无效：请先上传到本任务",
            errors={"photo_ids": [f"照片 {i} 不存在、未上传完成或不属于本任务" for i in wrong]},
        )


def before_photos(task: RectificationTask) -> list[Photo]:
    if task.inspection_id is None:
        return []
    return media.photos_for(INSPECTION_KIND, task.inspection_id, item_code=task.item_code)


def photos_by_id(ids: Iterable[int]) -> list[Photo]:
    """Photos in the order given (one query)."""
    ids = list(ids)
    if not ids:
        return []
    rows = {p.id: p for p in db.session.scalars(select(Photo).where(Photo.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]
