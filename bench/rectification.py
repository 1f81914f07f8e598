"""Rectification: the outbox worker and the office's task list, each against bare SQL doing
the least the same job needs, in the same run on the same database. SQLite always;
PostgreSQL too when TEST_DATABASE_URL is set.

Lines (each with "backend"):
- outbox_per_s: inbox deliveries per second by one worker (claim with lease, deliver,
  commit each); baseline: a bare loop inserting the inbox row and marking the outbox row
  sent, one commit per message — the floor for at-least-once with a commit per message.
- outbox_two_workers_per_s: two worker processes draining one outbox at once; with
  `lost` and `doubled` (both must be 0).
- task_list_p50_ms: GET /rectification/tasks?overdue=true as the office, 20k tasks;
  baseline: the bare count + page query on the same table.
- task_counts_p50_ms: GET /rectification/tasks/counts; baseline: a bare GROUP BY.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update

from bench._postgres import temporary_database

MESSAGES = 2000
TASKS = 20_000
UNITS = 50
ROUNDS = 30


def _config(url: str, tmp: Path) -> dict:
    return {
        "APP_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": url,
        "STORAGE_URL": f"file://{tmp / 'photos'}",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "OUTBOX_BATCH_SIZE": 100,
    }


def _app(url: str, tmp: Path):
    import logging

    from api import create_app

    app = create_app(_config(url, tmp))
    logging.getLogger().setLevel(logging.WARNING)
    return app


def _seed(app) -> dict:
    from accounts import service as accounts
    from accounts.models import Role
    from core.clock import utcnow
    from core.db import db
    from org.models import Region, RegionLevel, Sector, Unit
    from rectification.models import RectificationTask

    with app.app_context():
        region = Region(code="445200001", name="基准街道", level=RegionLevel.township)
        sector = Sector(code="bench", name="基准领域")
        db.session.add_all([region, sector])
        db.session.flush()
        units = [
            Unit(name=f"基准窗口{n}", sector_id=sector.id, region_id=region.id)
            for n in range(UNITS)
        ]
        db.session.add_all(units)
        db.session.flush()
        office = accounts.create_user(
            {"username": "bench-office", "display_name": "督查办", "role": Role.office_admin},
            actor=None,
        )
        now = utcnow()
        rows = []
        for n in range(TASKS):
            due = now + timedelta(days=(n % 30) - 10)  # a third of them overdue
            rows.append(
                {
                    "unit_id": units[n % UNITS].id,
                    "item_code": f"item{n % 40}",
                    "title": "入口未张贴禁烟标识",
                    "description": "",
                    "severity": ("general", "major", "severe")[n % 3],
                    "status": ("open", "responded", "closed")[n % 3],
                    "fixed_on_spot": False,
                    "due_on": due.date(),
                    "due_at": due,
                    "deadline_days": 7,
                    "day_mode": "working",
                    "round": 1,
                    "rejections": 0,
                    "extension_pending": False,
                    "created_at": now - timedelta(days=20),
                    "version": 1,
                }
            )
        db.session.execute(insert(RectificationTask), rows)
        db.session.commit()
        return {"office_id": office.id, "unit_ids": [u.id for u in units]}


def _fill_outbox(app, user_id: int, tag: str) -> None:
    from core.db import db
    from notifications.models import Notification

    with app.app_context():
        db.session.execute(
            insert(Notification),
            [
                {
                    "key": f"bench:{tag}:{n}",
                    "channel": "inbox",
                    "kind": "bench",
                    "recipient_id": user_id,
                    "subject_type": "rectification_task",
                    "subject_id": n + 1,
                    "title": "整改即将到期",
                    "body": "整改任务将于明日到期，请尽快整改并回复。",
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": _past(),
                    "created_at": _past(),
                }
                for n in range(MESSAGES)
            ],
        )
        db.session.commit()


def _past():
    from core.clock import utcnow

    return utcnow() - timedelta(seconds=1)


def _drain(app) -> int:
    from notifications.worker import run_batch

    delivered = 0
    with app.app_context():
        while True:
            result = run_batch()
            delivered += result.outcomes.get("sent", 0)
            if not result.claimed:
                return delivered


def _worker_process(url: str, tmp: str, ready, go, queue) -> None:
    app = _app(url, Path(tmp))
    ready.put(True)
    go.wait()
    queue.put(_drain(app))


def _bare_deliveries(app) -> float:
    """The floor: per message, insert the inbox row and mark the outbox row, commit."""
    from core.db import db
    from notifications.models import InboxMessage, Notification

    with app.app_context():
        rows = db.session.execute(
            select(Notification.id, Notification.recipient_id).where(
                Notification.status == "pending"
            )
        ).all()
        start = time.perf_counter()
        for note_id, user_id in rows:
            db.session.execute(
                insert(InboxMessage).values(
                    notification_id=note_id,
                    user_id=user_id,
                    kind="bench",
                    subject_type="rectification_task",
                    subject_id=1,
                    title="t",
                    body="b",
                    created_at=_past(),
                )
            )
            db.session.execute(
                update(Notification).where(Notification.id == note_id).values(status="sent")
            )
            db.session.commit()
        return len(rows) / (time.perf_counter() - start)


def _reset_outbox(app) -> None:
    from core.db import db
    from notifications.models import InboxMessage, Notification

    with app.app_context():
        db.session.execute(InboxMessage.__table__.delete())
        db.session.execute(Notification.__table__.delete())
        db.session.commit()


def _p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 2)


def _measure_lists(
    app, office_id: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    from accounts import service as accounts
    from accounts.models import User
    from core.clock import utcnow
    from core.db import db
    from org.models import Unit
    from rectification.models import RectificationTask as T

    with app.app_context():
        raw, _ = accounts.issue_token(db.session.get(User, office_id), "password")
        db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {raw}"}
        api_list, bare_list, api_counts, bare_counts = [], [], [], []
        for _ in range(ROUNDS):  # alternate: the machine is shared
            start = time.perf_counter()
            response = client.get("/api/v1/rectification/tasks?overdue=true", headers=headers)
            api_list.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)

            start = time.perf_counter()
            now = utcnow()
            stmt = (
                select(T)
                .join(Unit, Unit.id == T.unit_id)
                .where(T.status != "closed", T.due_at <= now)
            )
            db.session.scalar(select(func.count()).select_from(stmt.subquery()))
            list(db.session.scalars(stmt.order_by(T.due_at, T.id).limit(20)))
            db.session.rollback()
            bare_list.append((time.perf_counter() - start) * 1000)

            start = time.perf_counter()
            response = client.get("/api/v1/rectification/tasks/counts", headers=headers)
            api_counts.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200

            start = time.perf_counter()
            db.session.execute(select(T.status, func.count()).group_by(T.status)).all()
            db.session.rollback()
            bare_counts.append((time.perf_counter() - start) * 1000)
        return api_list, bare_list, api_counts, bare_counts


def _run_backend(backend: str, url: str, tmp: Path) -> Iterator[dict]:
    from flask_migrate import upgrade

    from core.db import db
    from notifications.models import InboxMessage, Notification

    app = _app(url, tmp)
    with app.app_context():
        upgrade()
        db.session.remove()
    seeded = _seed(app)
    office = seeded["office_id"]

    _fill_outbox(app, office, "bare")
    baseline = _bare_deliveries(app)
    _reset_outbox(app)
    _fill_outbox(app, office, "one")
    start = time.perf_counter()
    delivered = _drain(app)
    ours = delivered / (time.perf_counter() - start)
    yield {
        "name": "outbox_per_s",
        "value": round(ours),
        "unit": "messages/s",
        "baseline": round(baseline),
        "ratio": round(ours / baseline, 2),
        "backend": backend,
    }

    _reset_outbox(app)
    _fill_outbox(app, office, "two")
    context = multiprocessing.get_context("spawn")
    ready, go, queue = context.Queue(), context.Event(), context.Queue()
    workers = [
        context.Process(target=_worker_process, args=(url, str(tmp), ready, go, queue))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)  # both apps started: time the draining only
    start = time.perf_counter()
    go.set()
    counts = [queue.get(timeout=300) for _ in workers]
    elapsed = time.perf_counter() - start
    for worker in workers:
        worker.join()
    with app.app_context():
        sent = db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.status == "sent")
        )
        inbox = db.session.scalar(select(func.count(InboxMessage.id)))
        distinct = db.session.scalar(
            select(func.count(func.distinct(InboxMessage.notification_id)))
        )
    yield {
        "name": "outbox_two_workers_per_s",
        "value": round(MESSAGES / elapsed),
        "unit": "messages/s",
        "baseline": round(ours),
        "split": counts,
        "lost": MESSAGES - sent,
        "doubled": inbox - distinct,
        "backend": backend,
    }

    api_list, bare_list, api_counts, bare_counts = _measure_lists(app, office)
    yield {
        "name": "task_list_p50_ms",
        "value": _p50(api_list),
        "unit": "ms",
        "baseline": _p50(bare_list),
        "rows": TASKS,
        "backend": backend,
    }
    yield {
        "name": "task_counts_p50_ms",
        "value": _p50(api_counts),
        "unit": "ms",
        "baseline": _p50(bare_counts),
        "rows": TASKS,
        "backend": backend,
    }
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def run() -> Iterator[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        yield from _run_backend("sqlite", f"sqlite:///{tmp_path / 'bench.db'}", tmp_path)
        if os.environ.get("TEST_DATABASE_URL"):
            with temporary_database(os.environ["TEST_DATABASE_URL"], "bench_rectification") as url:
                yield from _run_backend("postgresql", url, tmp_path)


if __name__ == "__main__":  # pragma: no cover
    import json

    for line in run():
        print(json.dumps(line, ensure_ascii=False))
