"""Data for the console tests: an inspection awaiting review with real stored photos, and
rectification tasks in each state, made through the domain services."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from sqlalchemy import update

from accounts.models import Role, User
from core.clock import local, utcnow
from core.db import db
from core.geo import to_wgs84
from inspections.models import Inspection, VisitKind
from media import service as media
from media.models import Photo
from rectification import service as rectification
from rectification.models import RectificationTask
from tests.images import jpeg
from tests.inspection_helpers import ALL_PASS, PHOTOS, make_visit, publish_checklist, submitted
from tests.rectification_support import after_photos, open_task

FAILING = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "两名工作人员未穿工作服"},
    "smoke.none": {"result": "fail", "note": "大厅内有人吸烟"},
}


def upload(
    owner_type: str,
    owner_id: int,
    actor: User,
    unit,
    *,
    seed: int,
    item_code=None,
    far: bool = False,
):
    """A real JPEG through the photo pipeline, with the EXIF a phone writes."""
    now = utcnow()
    # The phone's GPS (WGS-84, as EXIF is) near the unit's spot (GCJ-02, as offices enter it).
    north = 0.05 if far else 0.0001
    position = to_wgs84(unit.latitude + north, unit.longitude, unit.coord_system)
    content = jpeg(
        seed=seed, taken_at=local(now).replace(tzinfo=None), offset="+08:00", gps=position
    )
    photo, _ = media.upload_photo(
        {
            "client_id": str(uuid.uuid4()),
            "owner_type": owner_type,
            "owner_id": owner_id,
            "item_code": item_code,
            "taken_at": now,
            "latitude": position[0],
            "longitude": position[1],
        },
        io.BytesIO(content),
        actor=actor,
    )
    return photo


def inspection_to_review(world) -> Inspection:
    """Submitted at unit A with two findings: one photo taken there, one 5 km away."""
    publish_checklist()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector], kind=VisitKind.announced, starts_in_days=-1)
    refs = {code: [str(uuid.uuid4())] for code in ("dress.uniform", "smoke.none")}
    inspection = submitted(visit, inspector, FAILING, photos=PHOTOS | refs)
    upload("inspection", inspection.id, inspector, world.unit_a, seed=11, item_code="dress.uniform")
    upload(
        "inspection",
        inspection.id,
        inspector,
        world.unit_a,
        seed=12,
        item_code="smoke.none",
        far=True,
    )
    db.session.commit()
    return inspection


def responded_task(world, unit=None, staff=None) -> RectificationTask:
    """A task at unit A (or `unit`) whose unit has replied with one after-photo."""
    unit = unit or world.unit_a
    staff = staff or world.users[Role.unit_staff]
    task = open_task(unit, inspector_id=world.users[Role.inspector].id)
    rectification.respond(
        task,
        {
            "client_id": uuid.uuid4(),
            "description": "已张贴禁烟标识",
            "photo_ids": after_photos(task, staff),
        },
        actor=staff,
    )
    db.session.commit()
    return task


def replies_old_and_reused(world) -> tuple[RectificationTask, RectificationTask]:
    """(earlier, later): two responded tasks at unit A, the earlier replied three days ago,
    the later's after-photo flagged as a near duplicate; and a task at unit B."""
    later = responded_task(world)
    earlier = responded_task(world)
    world.task_b  # noqa: B018 - a task at unit B
    db.session.execute(
        update(RectificationTask)
        .where(RectificationTask.id == earlier.id)
        .values(responded_at=utcnow() - timedelta(days=3))
    )
    db.session.execute(
        update(Photo)
        .where(Photo.owner_type == "rectification_task", Photo.owner_id == later.id)
        .values(flag_near_duplicate=True)
    )
    db.session.commit()
    return earlier, later


def assert_by_score_unscored_last(ids: list[int]) -> None:
    """The queue's score sort: lowest effective score first, unscored ones after."""
    assert len(ids) >= 2
    scores = [db.session.get(Inspection, i).effective_score for i in ids]
    known = [s for s in scores if s is not None]
    assert known == sorted(known)
    assert scores[: len(known)] == known  # unscored last
