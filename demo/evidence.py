"""Demo photo evidence and rectification replies for `flask demo`.

Runs after the inspections and rectification demo hooks, through the real services, so a
fresh `make run` shows the office what a working day looks like: inspections waiting for
review with real stored photos (one of each evidence flag among them), and rectification
tasks with before and after photos, replies waiting for verification and an extension
request. The pictures are drawn here with Pillow: no files ship with the repository.
"""

from __future__ import annotations

import io
import random
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from accounts.models import Role, User
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from core.geo import to_wgs84
from inspections import checklist
from inspections import findings as findings_service
from inspections import service as inspections
from inspections.demo import failing_answer, passing_answer
from inspections.models import FindingStatus, Inspection, InspectionStatus
from media import service as media
from org.models import Unit
from rectification import service as rectification
from rectification.models import RectificationTask, TaskStatus

QUEUE_INSPECTIONS = 12  # inspections in the review queue that get photos
FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
SIGNS = ["政务服务", "禁止吸烟", "办事指南", "3号窗口", "暂停服务", "好差评", "监督电话"]
PALETTES = [
    ((233, 228, 214), (120, 86, 60)),
    ((214, 226, 233), (60, 80, 110)),
    ((226, 233, 214), (70, 100, 60)),
    ((236, 220, 220), (130, 60, 60)),
    ((222, 222, 236), (80, 70, 120)),
]


def _font(size: int):
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def scene(seed: int, width: int = 800, height: int = 600) -> Image.Image:
    """A service hall as a child would draw it: wall, counters, signs, people. Each seed
    gives a different picture (and perceptual hash)."""
    rng = random.Random(seed)
    wall, wood = PALETTES[seed % len(PALETTES)]
    image = Image.new("RGB", (width, height), wall)
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(height // 2, height * 2 // 3)
    draw.rectangle([0, horizon, width, height], fill=tuple(c - 40 for c in wall))
    for _ in range(rng.randint(6, 14)):  # tiles, shadows, windows: what makes hashes differ
        x, y = rng.randint(0, width), rng.randint(0, height)
        w, h = rng.randint(40, 260), rng.randint(30, 200)
        shade = tuple(max(0, min(255, c + rng.randint(-70, 70))) for c in wall)
        draw.rectangle([x, y, x + w, y + h], fill=shade)
    for n in range(rng.randint(2, 4)):  # counters
        x = 40 + n * (width - 80) // 4 + rng.randint(-20, 20)
        draw.rectangle([x, horizon - 90, x + 150, horizon + 30], fill=wood, outline=(40, 30, 20))
        draw.rectangle([x + 10, horizon - 150, x + 140, horizon - 110], fill=(178, 34, 34))
        label = rng.choice(SIGNS)
        draw.text((x + 18, horizon - 146), label, fill=(255, 255, 255), font=_font(26))
    for _ in range(rng.randint(1, 4)):  # people
        x = rng.randint(30, width - 60)
        colour = (rng.randint(20, 200), rng.randint(20, 200), rng.randint(20, 200))
        draw.ellipse([x, horizon - 40, x + 40, horizon], fill=(240, 205, 170))
        draw.rectangle([x - 6, horizon, x + 46, horizon + 110], fill=colour)
    return image


def jpeg(seed: int, *, taken_at: datetime | None, gps: tuple[float, float] | None) -> bytes:
    """The picture as a phone would store it: JPEG, with EXIF time and position when given."""
    exif = Image.Exif()
    if taken_at is not None:
        exif.get_ifd(0x8769)[0x9003] = local(taken_at).strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8769)[0x9011] = "+08:00"
    if gps is not None:
        exif.get_ifd(0x8825).update({1: "N", 2: _dms(gps[0]), 3: "E", 4: _dms(gps[1])})
    out = io.BytesIO()
    scene(seed).save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 3))


def _upload(owner_type, owner_id, actor, *, seed, item_code=None, taken_at, near, exif=True):
    data = {
        "client_id": str(uuid.uuid4()),
        "owner_type": owner_type,
        "owner_id": owner_id,
        "item_code": item_code,
        "taken_at": taken_at,
        "latitude": near[0],
        "longitude": near[1],
        "declared_type": "image/jpeg",
    }
    content = jpeg(seed, taken_at=taken_at if exif else None, gps=near if exif else None)
    photo, _ = media.upload_photo(data, io.BytesIO(content), actor=actor)
    return photo


def _position(unit: Unit, rng: random.Random, far: bool = False) -> tuple[float, float]:
    # A phone's GPS reading (WGS-84) of the unit's spot, whatever system the unit's numbers use.
    lat, lng = to_wgs84(unit.latitude or 23.3, unit.longitude or 116.17, unit.coord_system)
    if far:
        return lat + 0.03, lng + 0.02  # about 4 km away
    return lat + rng.uniform(-0.0004, 0.0004), lng + rng.uniform(-0.0004, 0.0004)


REPLIES = [
    "已当场整改，并在晨会上通报，安排值班长每日巡查。",
    "已重新张贴并拍照留存，后续纳入每周自查。",
    "已对相关人员批评教育，修订了窗口管理制度。",
    "问题已整改到位，附整改后照片，请复查。",
]


def _local_at(day, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=DISPLAY_TZ)


def _after_photo_time(opened: datetime, now: datetime, n: int) -> datetime:
    """When an after-photo was taken: in office hours (09:00–17:00 local) no later than
    `now`, the last working hour before the reply was sent, and never before its task
    opened (`opened`): an older photo is rightly flagged."""
    today = local(now).date()
    at = _local_at(today, 9 + n % 3, 20 + 7 * n % 30)
    if at > now:
        at = _local_at(today - timedelta(days=1), 15 + n % 2, 10 + 7 * n % 40)
    return max(at, opened)


def load_demo_evidence() -> None:
    rng = random.Random(7)
    queue = list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.status == InspectionStatus.submitted)
            .order_by(Inspection.submitted_at, Inspection.id)
            .limit(QUEUE_INSPECTIONS)
        )
    )
    shown = 0
    first_seed = None
    for n, inspection in enumerate(queue):
        codes = list(
            dict.fromkeys([f.item_code for f in inspection.findings] + list(inspection.photos))
        )
        for k, code in enumerate(codes[:5]):
            shown += 1
            seed = 100 + shown
            taken = inspection.started_at + timedelta(minutes=5 + 3 * k)
            far = stripped = False
            if shown == 2:  # taken days before the visit window opened
                taken = inspection.visit.window_start - timedelta(days=3)
            elif shown == 3:  # taken two hours before the inspectors checked in
                taken = inspection.started_at - timedelta(hours=2)
            elif shown == 4:
                far = True
            elif shown == 5:
                stripped = True  # sent without EXIF, as WeChat's compression does
            if n == 2 and k == 0 and first_seed is not None:
                seed = first_seed  # the same picture handed in for a second unit
            first_seed = first_seed or seed
            _upload(
                "inspection",
                inspection.id,
                inspection.inspector,
                seed=seed,
                item_code=code,
                taken_at=taken,
                near=_position(inspection.unit, rng, far),
                exif=not stripped,
            )
    _rectification_demo(rng)


def _rectification_demo(rng: random.Random) -> None:
    """An ad hoc inspection at each unit that has staff, published, and its tasks answered."""
    staff = list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.unit_staff, User.unit_id.is_not(None))
            .order_by(User.id)
        )
    )[:2]
    admin = db.session.scalar(select(User).where(User.role == Role.office_admin).limit(1))
    inspectors = list(
        db.session.scalars(select(User).where(User.role == Role.inspector).order_by(User.id))
    )
    if not staff or admin is None or not inspectors:
        return
    for s, person in enumerate(staff):
        unit = db.session.get(Unit, person.unit_id)
        inspector = next(i for i in inspectors if i.unit_id != unit.id)
        _, content = checklist.version_for(None, unit)
        items = checklist.items_of(content)
        failing = [c for c, item in items.items() if item["kind"] == "pass_fail"][
            2 + s * 3 : 5 + s * 3
        ]
        answers = {}
        for code, item in items.items():
            answers[code] = passing_answer(item)
        for code in failing:
            answers[code] = failing_answer(items[code], rng)
        # Photos of every failed item, as a careful inspector takes them.
        required = list(dict.fromkeys(checklist.required_photo_codes(content, answers) + failing))
        # Six days ago, mid-morning in the city (inspectors come in office hours).
        at = _local_at(local(utcnow()).date() - timedelta(days=6), 10 + s, 15)
        inspection = inspections.submit_offline(
            {
                "client_uuid": uuid.uuid4(),
                "unit_id": unit.id,
                "check_in": {
                    **dict(zip(("latitude", "longitude"), _position(unit, rng), strict=True)),
                    "accuracy_m": 10.0,
                    "at": at,
                },
                "answers": answers,
                "photos": {code: [str(uuid.uuid4())] for code in required},
            },
            actor=inspector,
        ).inspection
        before_seeds = {}
        for k, code in enumerate(required):
            before_seeds[code] = 300 + 10 * s + k
            _upload(
                "inspection",
                inspection.id,
                inspector,
                seed=before_seeds[code],
                item_code=code,
                taken_at=at + timedelta(minutes=4 + k),
                near=_position(unit, rng),
            )
        for finding in inspection.findings:
            findings_service.review_finding(
                finding, {"status": FindingStatus.confirmed, "reason": ""}, actor=admin
            )
        findings_service.publish_inspection(inspection, actor=admin)
        tasks = list(
            db.session.scalars(
                select(RectificationTask)
                .where(RectificationTask.inspection_id == inspection.id)
                .order_by(RectificationTask.id)
            )
        )
        # The office published the day after the visit: the tasks opened then, so the unit's
        # after-photos (taken in office hours before today's reply) come after it, at
        # whatever hour the demo is loaded.
        opened = _local_at(local(at).date() + timedelta(days=1), 14, 0)
        for task in tasks:
            task.created_at = opened
        for t, task in enumerate(tasks):
            if task.status != TaskStatus.open:
                continue
            if t == 2:
                rectification.request_extension(
                    task,
                    {
                        "client_id": uuid.uuid4(),
                        "due_on": task.due_on + timedelta(days=10),
                        "reason": "需采购新设备，供应商到货需要时间",
                    },
                    actor=person,
                )
                continue
            # The second unit's first reply re-sends the photo taken at the inspection.
            seed = before_seeds.get(task.item_code, 0) if (s == 1 and t == 0) else 500 + 10 * s + t
            photo = _upload(
                "rectification_task",
                task.id,
                person,
                seed=seed,
                taken_at=_after_photo_time(task.created_at, utcnow(), t),
                near=_position(unit, rng),
            )
            rectification.respond(
                task,
                {
                    "client_id": uuid.uuid4(),
                    "description": REPLIES[(s + t) % len(REPLIES)],
                    "photo_ids": [photo.id],
                },
                actor=person,
            )
    db.session.flush()
