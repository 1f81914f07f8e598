"""The office console with 100k inspections: each list page and the dashboard, measured
against the same page with 1k inspections in the same run (SQLite; PostgreSQL too when
TEST_DATABASE_URL is set).

Rows are inserted directly (this measures reading, not submitting): inspections over a
year across 200 units, one finding and one photo each, 2% still waiting for review, and a
rectification task for every fifth. Each line is the median of REQUESTS page loads.

Lines: console.<page>_100k_p50_ms with baseline = the same page at 1k rows, and "backend".
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench._postgres import temporary_database

ROWS = (1_000, 100_000)
REQUESTS = 15
PAGES = {
    "queue": "/console/inspections",
    "queue_all": "/console/inspections?status=all&flag=exif_missing",
    "tasks": "/console/tasks",
    "dashboard": "/console/?period=year",
}


def _fill(count: int, office_id: int, inspector_id: int, unit_ids: list[int]) -> None:
    from core.clock import utcnow
    from core.db import db
    from inspections.models import Finding, Inspection
    from media.models import Photo
    from rectification.models import RectificationTask

    now = utcnow()
    for start in range(0, count, 5_000):
        batch = range(start, min(start + 5_000, count))
        rows = [
            {
                "client_uuid": uuid.uuid4(),
                "unit_id": unit_ids[n % len(unit_ids)],
                "kind": "unannounced",
                "ad_hoc": True,
                "inspector_id": inspector_id,
                "status": "submitted" if n % 50 == 0 else "published",
                "started_at": now - timedelta(minutes=5 * n),
                "submitted_at": now - timedelta(minutes=5 * n - 30),
                "checkin_far": n % 97 == 0,
                "checkin_distance_m": 900.0 if n % 97 == 0 else 40.0,
                "answers": {},
                "photos": {},
                "fixed_on_spot": [],
                "score": 60 + n % 40,
                "grade": "良好",
                "critical_failed": False,
                "findings_count": 1,
                "created_at": now,
                "version": 1,
            }
            for n in batch
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
                    "severity": "general",
                    "description": "",
                    "status": "pending" if r["status"] == "submitted" else "confirmed",
                    "fixed_on_spot": False,
                    "critical": False,
                    "photos": [],
                    "created_at": now,
                    "version": 1,
                }
                for i, r in zip(ids, rows, strict=True)
            ],
        )
        db.session.execute(
            insert(Photo),
            [
                {
                    "client_id": str(uuid.uuid4()),
                    "status": "stored",
                    "owner_type": "inspection",
                    "owner_id": i,
                    "item_code": "hygiene.counter",
                    "evidence_group": f"inspection:{i}",
                    "unit_id": r["unit_id"],
                    "key": f"photos/bench/{uuid.uuid4().hex}",
                    "thumb_key": None,
                    "uploaded_by_id": inspector_id,
                    "created_at": now,
                    "flag_outside_window": False,
                    "flag_far_from_unit": False,
                    "flag_near_duplicate": False,
                    "flag_exif_missing": i % 7 == 0,
                }
                for i, r in zip(ids, rows, strict=True)
            ],
        )
        db.session.execute(
            insert(RectificationTask),
            [
                {
                    "inspection_id": i,
                    "unit_id": r["unit_id"],
                    "title": "台面堆放杂物",
                    "description": "",
                    "severity": "general",
                    "status": ("open", "responded", "closed")[i % 3],
                    "fixed_on_spot": False,
                    "due_on": (now + timedelta(days=i % 30 - 10)).date(),
                    "due_at": now + timedelta(days=i % 30 - 10),
                    "deadline_days": 15,
                    "day_mode": "calendar",
                    "round": 1,
                    "rejections": 0,
                    "extension_pending": False,
                    "created_at": now,
                    "created_by_id": office_id,
                    "item_code": "hygiene.counter",
                    "version": 1,
                }
                for i, r in zip(ids, rows, strict=True)
                if i % 5 == 0
            ],
        )
        db.session.commit()


def _median_ms(client, url: str) -> float:
    times = []
    for _ in range(REQUESTS):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return round(statistics.median(times), 1)


def _measure(database_url: str, backend: str) -> Iterator[dict]:
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
                "SQLALCHEMY_DATABASE_URI": database_url,
                "STORAGE_URL": f"file://{Path(tmp) / 'photos'}",
                "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )
        with app.app_context():
            upgrade()
            sectors = [Sector(code=f"s{n}", name=f"行业{n}") for n in range(8)]
            regions = [
                Region(code=f"r{n}", name=f"街道{n}", level=RegionLevel.township) for n in range(12)
            ]
            db.session.add_all(sectors + regions)
            db.session.flush()
            units = [
                Unit(name=f"窗口单位{n}", sector_id=sectors[n % 8].id,
                     region_id=regions[n % 12].id, address="", latitude=23.3, longitude=116.17)
                for n in range(200)
            ]  # fmt: skip
            db.session.add_all(units)
            db.session.flush()
            people = {
                role: accounts.create_user(
                    {
                        "username": role.value,
                        "display_name": role.value,
                        "role": role,
                        "password": "bench password 123",
                    },
                    actor=None,
                )
                for role in (Role.office_admin, Role.inspector)
            }
            raw, _ = accounts.issue_token(people[Role.office_admin], "password")
            db.session.commit()
            unit_ids = [u.id for u in units]
            office, inspector = people[Role.office_admin].id, people[Role.inspector].id
            client = app.test_client()
            with client.session_transaction() as session:
                session["token"] = raw
            made, results = 0, {}
            for rows in ROWS:
                _fill(rows - made, office, inspector, unit_ids)
                made = rows
                if db.engine.dialect.name == "postgresql":
                    with db.engine.begin() as conn:
                        conn.execute(text("ANALYZE"))
                for name, url in PAGES.items():
                    _median_ms(client, url)  # warm up
                    results[(name, rows)] = _median_ms(client, url)
            for name in PAGES:
                yield {
                    "name": f"console.{name}_100k_p50_ms",
                    "value": results[(name, ROWS[1])],
                    "unit": "ms per page (median)",
                    "baseline": results[(name, ROWS[0])],
                    "backend": backend,
                }
            db.session.remove()
            db.engine.dispose()


def run() -> Iterator[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        yield from _measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite")
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        return
    with temporary_database(server, "bench_console") as url:
        yield from _measure(url, "postgresql")
