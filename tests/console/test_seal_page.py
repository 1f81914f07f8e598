"""The inspection page shows the seal's short form, and a late photo changes it."""

from __future__ import annotations

from core.db import db
from evidence.seal import seal_of, seal_short
from tests import images
from tests.console.support import inspection_to_review
from tests.media_helpers import multipart


def shown_seal(office_console, inspection_id: int) -> str:
    page = office_console.get(f"/console/inspections/{inspection_id}").get_data(as_text=True)
    return page.split('id="evidence-seal"', 1)[1].split(">", 1)[1].split("</code>", 1)[0]


def test_the_inspection_page_shows_the_seals_short_form(office_console, world, client_for):
    inspection = inspection_to_review(world)
    first = shown_seal(office_console, inspection.id)
    assert first == seal_short(inspection)
    assert first == seal_of(inspection)["value"][:12]
    assert len(first) == 12

    inspector = client_for(inspection.inspector)
    form = {"client_id": "5b0c9c2e-2f57-4a8e-9d4e-2d1b1f7f0a01", "owner_type": "inspection",
            "owner_id": str(inspection.id), "item_code": "video.working"}  # fmt: skip
    uploaded = inspector.post(
        "/api/v1/photos", **multipart(form, images.jpeg(64, 48, seed=7), "image/jpeg")
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    db.session.expire_all()
    assert shown_seal(office_console, inspection.id) not in ("", first)
