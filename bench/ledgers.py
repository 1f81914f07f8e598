"""Ledger exports (台账) at 100 000 rows: speed and peak memory, each against a bare
openpyxl write-only export of the same rows in the same run (a plain SELECT of the
columns, fetched in batches, appended without styles, links, names or scope). SQLite
always; PostgreSQL too when TEST_DATABASE_URL is set.

Lines (each with "backend"):
- ledger_100k_rows_s: rows per second of the rectification ledger (整改台账) as the
  city office, written by `reports.ledger.write_ledger` from the task list's statement;
  baseline: the bare export. `seconds` says how long the 100 000 rows took.
- ledger_peak_mb: how far the process's resident memory rose while writing that ledger
  (each export runs in a fresh process: the app made, then the export; RSS sampled);
  baseline: the bare export's. Target < 100 MB.
- inspection_ledger_100k_rows_s, inspection_ledger_peak_mb: the same for 检查台账.

The request writes an export of up to LEDGER_SYNC_MAX_ROWS rows itself; the default
(5 000) keeps a request inside gunicorn's 30 s timeout at the slowest rate measured here
(docs/reports.md).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import insert, select

from bench._postgres import temporary_database

ROWS = int(os.environ.get("BENCH_LEDGER_ROWS", "100000"))
UNITS = 200
CHUNK = 10_000


def _app(url: str, tmp: Path):
    from api import create_app

    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "STORAGE_URL": f"file://{tmp / 'photos'}",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    logging.getLogger().setLevel(logging.WARNING)
    return app


def _seed(app) -> int:
    """ROWS inspections and ROWS tasks over UNITS units, every third inspection with a
    finding, every fourth task answered; bulk inserts, not row by row."""
    from accounts import service as accounts
    from accounts.models import Role
    from core.clock import utcnow
    from core.db import db
    from inspections.models import Finding, Inspection
    from org.models import Region, RegionLevel, Sector, Unit
    from rectification.models import RectificationTask, TaskReply

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
        office = accounts.create_user(
            {"username": "bench-office", "display_name": "督查办", "role": Role.office_admin},
            actor=None,
        )
        inspector = accounts.create_user(
            {"username": "bench-inspector", "display_name": "督查员", "role": Role.inspector},
            actor=None,
        )
        db.session.flush()
        unit_ids = [u.id for u in units]
        now = utcnow()
        for start in range(0, ROWS, CHUNK):
            db.session.execute(
                insert(Inspection),
                [
                    {
                        "client_uuid": uuid.uuid4(),
                        "unit_id": unit_ids[i % UNITS],
                        "kind": "announced",
                        "inspector_id": inspector.id,
                        "status": "published",
                        "started_at": now - timedelta(minutes=i),
                        "submitted_at": now - timedelta(minutes=i),
                        "published_at": now - timedelta(minutes=i),
                        "score": 100.0 - i % 40,
                        "max_score": 100.0,
                        "grade": "合格",
                        "findings_count": 1 if i % 3 == 0 else 0,
                    }
                    for i in range(start, min(start + CHUNK, ROWS))
                ],
            )
        first = db.session.scalar(select(Inspection.id).order_by(Inspection.id).limit(1))
        db.session.execute(
            insert(Finding),
            [
                {
                    "inspection_id": first + i,
                    "unit_id": unit_ids[i % UNITS],
                    "item_code": "smoke.none",
                    "title": "服务区域有人吸烟",
                    "severity": "major",
                    "status": "confirmed",
                }
                for i in range(0, ROWS, 3)
            ],
        )
        for start in range(0, ROWS, CHUNK):
            db.session.execute(
                insert(RectificationTask),
                [
                    {
                        "inspection_id": first + i,
                        "unit_id": unit_ids[i % UNITS],
                        "item_code": "smoke.none",
                        "title": "服务区域有人吸烟",
                        "description": '=HYPERLINK("http://x","y")' if i % 97 == 0 else "吸烟",
                        "severity": ("general", "major", "severe")[i % 3],
                        "status": ("open", "responded", "closed")[i % 3],
                        "due_on": (now + timedelta(days=i % 30 - 15)).date(),
                        "due_at": now + timedelta(days=i % 30 - 15),
                        "deadline_days": 7,
                        "day_mode": "calendar",
                        "created_at": now - timedelta(minutes=i),
                        "closed_at": now if i % 3 == 2 else None,
                    }
                    for i in range(start, min(start + CHUNK, ROWS))
                ],
            )
        first_task = db.session.scalar(
            select(RectificationTask.id).order_by(RectificationTask.id).limit(1)
        )
        db.session.execute(
            insert(TaskReply),
            [
                {
                    "task_id": first_task + i,
                    "client_id": str(uuid.uuid4()),
                    "round": 1,
                    "description": "已整改",
                    "photo_ids": [],
                    "created_at": now,
                }
                for i in range(0, ROWS, 4)
            ],
        )
        db.session.commit()
        return office.id


def _bare(app, kind: str, _office_id: int, sink) -> int:
    """The floor: the same number of rows and columns, straight from a SELECT."""
    from core.db import db
    from inspections.models import Inspection
    from rectification.models import RectificationTask as T

    if kind == "rectification":
        columns = (T.id, T.unit_id, T.item_code, T.title, T.severity, T.description, T.due_on)
        columns += (T.status, T.round, T.created_at, T.closed_at, T.fixed_on_spot)
        stmt = select(*columns).order_by(T.due_at, T.id)
    else:
        I = Inspection  # noqa: E741
        columns = (I.id, I.unit_id, I.kind, I.inspector_id, I.status, I.started_at)
        columns += (I.submitted_at, I.published_at, I.score, I.max_score, I.grade)
        stmt = select(*columns).order_by(I.started_at.desc(), I.id.desc())
    book = Workbook(write_only=True)
    sheet = book.create_sheet("bare")
    rows = 0
    with app.app_context():
        result = db.session.execute(stmt.execution_options(yield_per=1000))
        for row in result:
            sheet.append([v.replace(tzinfo=None) if hasattr(v, "tzinfo") else v for v in row])
            rows += 1
        db.session.remove()
    book.save(sink)
    return rows


def _ours(app, kind: str, office_id: int, sink) -> int:
    from accounts.models import User
    from core.db import db
    from inspections import queries
    from rectification import service
    from reports import ledger

    with app.app_context():
        actor = db.session.get(User, office_id)
        build = service.tasks_query if kind == "rectification" else queries.inspections_query
        rows = ledger.write_ledger(kind, build(actor, {}), actor, "https://example.gov.cn", sink)
        db.session.remove()
    return rows


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(url: str, tmp: str, kind: str, which: str, office_id: int, queue) -> None:
    """One export in a fresh process: its time, and how far its resident memory rose above
    what it held when the export began (sampled every 20 ms)."""
    app = _app(url, Path(tmp))
    start_mb = peak_mb = _rss_mb()
    running = True

    def sample():
        nonlocal peak_mb
        while running:
            peak_mb = max(peak_mb, _rss_mb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryFile() as sink:
        start = time.perf_counter()
        export = _ours if which == "ours" else _bare
        rows = export(app, kind, office_id, sink)
        seconds = time.perf_counter() - start
    running = False
    sampler.join()
    queue.put((seconds, rows, round(max(peak_mb, _rss_mb()) - start_mb, 1)))


def _measure(url: str, tmp: Path, kind: str, which: str, office_id: int):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_child, args=(url, str(tmp), kind, which, office_id, queue))
    child.start()
    result = queue.get(timeout=3600)
    child.join()
    return result


def _run_backend(backend: str, url: str, tmp: Path) -> Iterator[dict]:
    from flask_migrate import upgrade

    from core.db import db

    app = _app(url, tmp)
    with app.app_context():
        upgrade()
        db.session.remove()
    office = _seed(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for kind, prefix in (("rectification", "ledger"), ("inspections", "inspection_ledger")):
        bare_s, bare_rows, bare_mb = _measure(url, tmp, kind, "bare", office)
        ours_s, rows, ours_mb = _measure(url, tmp, kind, "ours", office)
        assert rows == bare_rows == ROWS, (rows, bare_rows)
        yield {
            "name": f"{prefix}_100k_rows_s",
            "value": round(rows / ours_s),
            "unit": "rows/s",
            "baseline": round(bare_rows / bare_s),
            "seconds": round(ours_s, 1),
            "rows": rows,
            "backend": backend,
        }
        yield {
            "name": f"{prefix}_peak_mb",
            "value": ours_mb,
            "unit": "MB",
            "baseline": bare_mb,
            "target": "< 100",
            "rows": rows,
            "backend": backend,
        }


def run() -> Iterator[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        yield from _run_backend("sqlite", f"sqlite:///{tmp_path / 'bench.db'}", tmp_path)
        if os.environ.get("TEST_DATABASE_URL"):
            with temporary_database(os.environ["TEST_DATABASE_URL"], "bench_ledgers") as url:
                yield from _run_backend("postgresql", url, tmp_path)


if __name__ == "__main__":  # pragma: no cover
    import json

    for line in run():
        print(json.dumps(line, ensure_ascii=False), flush=True)
