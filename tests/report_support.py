"""A small city for the report tests: units in two sectors, inspections published (or not)
at chosen moments, photos uploaded through the API so their previews are real files."""

from __future__ import annotations

import io
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from docx import Document

from accounts.models import Role, User
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections.models import Inspection, VisitKind
from media.models import Photo
from media.storage import current_storage
from org.models import Unit
from tests import images
from tests.inspection_helpers import (
    ALL_PASS,
    PHOTOS,
    check_in,
    make_visit,
    publish_checklist,
    published,
)
from tests.media_helpers import multipart

SMOKE = ALL_PASS | {"smoke.none": {"result": "fail", "note": "大厅内有人吸烟"}}
CRITICAL = ALL_PASS | {"video.working": {"result": "fail", "note": "监控黑屏"}}
BADGE = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴工作牌"}}


def this_month_day(day: int = 2, hour: int = 10) -> datetime:
    """A moment early in the current month on the office's clock, in UTC."""
    today = local(utcnow())
    return datetime(today.year, today.month, day, hour, tzinfo=DISPLAY_TZ).astimezone(UTC)


def previous_month_day(day: int = 10) -> datetime:
    first = local(utcnow()).replace(day=1)
    before = first - timedelta(days=1)
    return datetime(before.year, before.month, day, 10, tzinfo=DISPLAY_TZ).astimezone(UTC)


class Scene:
    def __init__(self, client_for, inspector: User, office: User):
        publish_checklist()
        db.session.commit()
        self.client_for = client_for
        self.inspector = inspector
        self.office = office

    def inspect(
        self,
        unit: Unit,
        answers: dict,
        *,
        at: datetime | None = None,
        publish: bool = True,
        photo_items: tuple[str, ...] = (),
        kind: VisitKind = VisitKind.unannounced,
        **plan,
    ) -> Inspection:
        """Submit through the API (photos too), then publish through the service; the
        inspection's day is set to `at` afterwards (the visit window is today's)."""
        visit = make_visit(unit, [self.inspector], kind=kind, **plan)
        client = self.client_for(self.inspector)
        body = {
            "client_uuid": str(uuid.uuid4()),
            "visit_id": visit.id,
            "check_in": check_in(unit),
            "answers": answers,
            "photos": PHOTOS
            | {
                code: [str(uuid.uuid4())]
                for code, answer in answers.items()
                if answer.get("result") == "fail"
            },
        }
        response = client.post("/api/v1/inspections/submissions", json=body)
        assert response.status_code == 201, response.get_json()
        inspection = db.session.get(Inspection, response.get_json()["id"])
        for n, code in enumerate(photo_items, 1):
            form = {
                "client_id": str(uuid.uuid4()),
                "owner_type": "inspection",
                "owner_id": str(inspection.id),
                "item_code": code,
            }
            content = images.jpeg(640, 480, seed=inspection.id * 10 + n)
            uploaded = client.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))
            assert uploaded.status_code == 201, uploaded.get_json()
        if publish:
            published(inspection)
        if at is not None:
            inspection.started_at = at
            db.session.commit()
        return inspection


def document(response) -> Document:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype.endswith("wordprocessingml.document")
    return Document(io.BytesIO(response.get_data()))


def text_of(doc: Document) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append("\t".join(c.text for c in row.cells))
    return "\n".join(parts)


def embedded_images(doc: Document) -> list[bytes]:
    """The image parts the document's body shows, in order of appearance."""
    blips = doc.element.body.xpath(".//a:blip/@r:embed")
    return [doc.part.related_parts[rid].blob for rid in blips]


def preview_bytes(photo: Photo) -> bytes:
    sink = io.BytesIO()
    current_storage().get_to(photo.preview_key, sink)
    return sink.getvalue()


def role_user(world, role: Role) -> User:
    return world.users[role]


def libreoffice_convert(source: Path, target: str, soffice: str = "soffice") -> Path:
    """`source` converted by LibreOffice (`target`: "pdf", or a filter such as
    "csv:…"), written beside it with a private profile (no clash with a running soffice);
    returns the converted file's path, which the caller checks exists."""
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{source.parent / 'profile'}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(source.parent),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    converted = source.with_suffix("." + target.split(":", 1)[0])
    assert converted.exists(), f"no {converted.name} (is LibreOffice installed?): {done.stderr!r}"
    return converted
