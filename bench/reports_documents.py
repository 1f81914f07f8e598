"""The circular (通报) as .docx with 20 photos: 20 units, each with a published inspection
whose most severe finding has one photo, its ~1000 px JPEG preview in folder storage.

Line: circular_docx_ms (median of ROUNDS builds through the API), with baseline = the same
circular whose findings have no photos (what the photos cost on top), and its size in KB.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

ROUNDS = 5
UNITS = 20


def _fill(unit_ids: list[int], inspector_id: int) -> list[int]:
    from core.clock import utcnow
    from core.db import db
    from inspections.models import Finding, Inspection

    now = utcnow()
    rows = [
        {
            "client_uuid": uuid.uuid4(),
            "unit_id": unit_id,
            "kind": "unannounced",
            "ad_hoc": True,
            "inspector_id": inspector_id,
            "status": "published",
            "started_at": now - timedelta(minutes=n),
            "submitted_at": now - timedelta(minutes=n),
            "published_at": now,
            "answers": {},
            "photos": {},
            "fixed_on_spot": [],
            "score": 80.0,
            "max_score": 100.0,
            "grade": "良好",
            "critical_failed": False,
            "findings_count": 1,
            "created_at": now,
            "version": 1,
        }
        for n, unit_id in enumerate(unit_ids)
    ]
    ids = db.session.scalars(
        insert(Inspection).returning(Inspection.id, sort_by_parameter_order=True), rows
    ).all()
    db.session.execute(
        insert(Finding),
        [
            {
                "inspection_id": i,
                "unit_id": r["unit_id"],
                "item_code": "hygiene.counter",
                "title": "台面堆放杂物",
                "severity": "major",
                "description": "服务台面堆放私人物品",
                "status": "confirmed",
                "fixed_on_spot": False,
                "critical": False,
                "photos": [],
                "created_at": now,
                "version": 1,
            }
            for i, r in zip(ids, rows, strict=True)
        ],
    )
    db.session.commit()
    return list(ids)


def _photos(inspection_ids: list[int], unit_ids: list[int], inspector_id: int) -> None:
    from bench.photos import realistic_jpeg
    from core.clock import utcnow
    from core.db import db
    from media.models import Photo
    from media.storage import current_storage

    storage = current_storage()
    rows = []
    for n, (inspection_id, unit_id) in enumerate(zip(inspection_ids, unit_ids, strict=True)):
        key = f"photos/bench/{uuid.uuid4().hex}"
        preview = realistic_jpeg(1000, 750, seed=n, quality=85)
        storage.put(key + "-preview", io.BytesIO(preview), content_type="image/jpeg")
        rows.append(
            {
                "client_id": str(uuid.uuid4()),
                "status": "stored",
                "owner_type": "inspection",
                "owner_id": inspection_id,
                "item_code": "hygiene.counter",
                "evidence_group": f"inspection:{inspection_id}",
                "unit_id": unit_id,
                "key": key,
                "preview_key": key + "-preview",
                "sha256": uuid.uuid4().hex * 2,
                "uploaded_by_id": inspector_id,
                "created_at": utcnow(),
                "received_at": utcnow(),
            }
        )
    db.session.execute(insert(Photo), rows)
    db.session.commit()


def _median_ms(client, headers) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(ROUNDS):
        began = time.perf_counter()
        response = client.get("/api/v1/reports/circular", headers=headers)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        size = len(response.get_data())
    return round(statistics.median(times), 1), size


def run() -> Iterator[dict]:
    from flask_migrate import upgrade

    from accounts import service as accounts
    from accounts.models import Role
    from api import create_app
    from core.db import db
    from org.models import Region, RegionLevel, Sector, Unit

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "APP_ENV": "testing",
                "SECRET_KEY": "bench-secret-key-long-enough-for-anything-at-all",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "STORAGE_URL": f"file://{Path(tmp) / 'photos'}",
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context():
            upgrade()
            sector = Sector(code="s", name="政务服务")
            region = Region(code="r", name="街道", level=RegionLevel.township)
            db.session.add_all([sector, region])
            db.session.flush()
            units = [
                Unit(name=f"窗口单位{n}", sector_id=sector.id, region_id=region.id, address="",
                     latitude=23.3, longitude=116.17)
                for n in range(UNITS)
            ]  # fmt: skip
            db.session.add_all(units)
            db.session.flush()
            people = {
                role: accounts.create_user(
                    {"username": role.value, "display_name": role.value, "role": role,
                     "password": "bench password 123"},
                    actor=None,
                )
                for role in (Role.office_admin, Role.inspector)
            }  # fmt: skip
            raw, _ = accounts.issue_token(people[Role.office_admin], "password")
            db.session.commit()
            unit_ids = [u.id for u in units]
            inspector = people[Role.inspector].id
            inspections = _fill(unit_ids, inspector)
            client, headers = app.test_client(), {"Authorization": f"Bearer {raw}"}
            _median_ms(client, headers)  # warm up
            without, _ = _median_ms(client, headers)
            _photos(inspections, unit_ids, inspector)
            _median_ms(client, headers)
            with_photos, size = _median_ms(client, headers)
            db.session.remove()
            db.engine.dispose()
    yield {
        "name": "circular_docx_ms",
        "value": with_photos,
        "unit": f"ms per circular with {UNITS} photos (median; {size // 1024} KB)",
        "baseline": without,
        "backend": "sqlite",
    }
