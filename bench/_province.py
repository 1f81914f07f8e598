"""A province's history in a PostgreSQL database, made by the database itself.

`grow(to)` adds inspections until the database holds `to` of them, each with one finding
and one photo, as `bench/console.py` measured them before: over the units given, five
minutes apart going back in time (a million reach about ten years back), 2% still
waiting for review (the rest published), a check-in far from the unit every 97th, the
photo of every 7th without EXIF, and a rectification task (open, responded or closed in
turn, due 5 to 34 days after it was issued) for every fifth. Rows are made with
`INSERT … SELECT … FROM generate_series`, a hundred thousand at a time, never one by one
in Python; a column the statement does not name gets the model's own default, so the
rows are those the application would write.

Call `grow` with increasing counts to measure the same pages at each size in one run.
PostgreSQL only (`generate_series`, `gen_random_uuid`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Table,
    case,
    func,
    insert,
    literal,
    select,
    text,
)

STEP = 100_000
SPACING = timedelta(minutes=5)


def _value(table: Table, name: str, value: Any) -> ColumnElement:
    return literal(value, type_=table.c[name].type)


def _insert(table: Table, values: dict[str, Any], source, now: datetime) -> None:
    """INSERT INTO table (…) SELECT values FROM source; columns not named take the model's
    default (a callable one, such as the clock, reads as `now`)."""
    from core.db import db

    columns = dict(values)
    for column in table.columns:
        if column.name in columns or column.primary_key or column.server_default is not None:
            continue
        default = column.default
        if default is None:
            continue
        if default.is_callable:  # the clock; no other column this fills has a callable
            assert isinstance(column.type, DateTime), (table.name, column.name)
            value = now
        else:
            value = default.arg
        columns[column.name] = literal(value, type_=column.type)
    stmt = insert(table).from_select(
        list(columns),
        select(*(c.label(name) for name, c in columns.items())).select_from(source),
    )
    db.session.execute(stmt)


def grow(to: int, *, unit_ids: list[int], inspector_id: int, office_id: int) -> None:
    """Add inspections (with their finding, photo and every fifth's task) up to `to`."""
    from core.clock import utcnow
    from core.db import db
    from inspections.models import Finding, Inspection, InspectionStatus
    from media.models import Photo, PhotoStatus
    from rectification.models import RectificationTask, TaskStatus

    assert unit_ids == list(range(unit_ids[0], unit_ids[0] + len(unit_ids))), "units in a run"
    first_unit, units = unit_ids[0], len(unit_ids)
    made = db.session.scalar(select(func.count()).select_from(Inspection))
    now = utcnow()
    I, F, P, T = (m.__table__ for m in (Inspection, Finding, Photo, RectificationTask))  # noqa: E741
    while made < to:
        upto = min(made + STEP, to)
        last_id = db.session.scalar(select(func.coalesce(func.max(I.c.id), 0)))
        series = func.generate_series(made, upto - 1).table_valued("n").render_derived(name="g")
        n = series.c.n
        started = literal(now, DateTime) - n * literal(SPACING)
        waiting = n % 50 == 0
        submitted = started + literal(timedelta(minutes=30))
        status = case(
            (waiting, _value(I, "status", InspectionStatus.submitted)),
            else_=_value(I, "status", InspectionStatus.published),
        )
        _insert(
            I,
            {
                "client_uuid": func.gen_random_uuid(),
                "unit_id": literal(first_unit) + n % units,
                "kind": _value(I, "kind", "unannounced"),
                "ad_hoc": literal(True, Boolean),
                "inspector_id": literal(inspector_id),
                "status": status,
                "started_at": started,
                "submitted_at": submitted,
                "published_at": case((waiting, None), else_=submitted + text("interval '1 day'")),
                "checkin_far": n % 97 == 0,
                "checkin_distance_m": case((n % 97 == 0, 900.0), else_=40.0),
                "answers": _value(I, "answers", {}),
                "photos": _value(I, "photos", {}),
                "fixed_on_spot": _value(I, "fixed_on_spot", []),
                "score": 60 + n % 40,
                "grade": literal("良好"),
                "critical_failed": literal(False, Boolean),
                "findings_count": literal(1),
                "created_at": started,
                "version": literal(1),
            },
            series,
            now,
        )
        new = select(I).where(I.c.id > last_id).subquery()
        pending = new.c.status == _value(I, "status", InspectionStatus.submitted)
        _insert(
            F,
            {
                "inspection_id": new.c.id,
                "unit_id": new.c.unit_id,
                "item_code": literal("hygiene.counter"),
                "title": literal("台面堆放杂物"),
                "severity": _value(F, "severity", "general"),
                "description": literal(""),
                "status": case(
                    (pending, _value(F, "status", "pending")),
                    else_=_value(F, "status", "confirmed"),
                ),
                "fixed_on_spot": literal(False, Boolean),
                "critical": literal(False, Boolean),
                "photos": _value(F, "photos", []),
                "created_at": new.c.submitted_at,
                "version": literal(1),
            },
            new,
            now,
        )
        _insert(
            P,
            {
                "client_id": func.gen_random_uuid().cast(P.c.client_id.type),
                "status": _value(P, "status", PhotoStatus.stored),
                "owner_type": literal("inspection"),
                "owner_id": new.c.id,
                "item_code": literal("hygiene.counter"),
                "evidence_group": literal("inspection:") + new.c.id.cast(P.c.key.type),
                "unit_id": new.c.unit_id,
                "key": literal("photos/bench/") + func.gen_random_uuid().cast(P.c.key.type),
                "uploaded_by_id": literal(inspector_id),
                "created_at": new.c.started_at,
                "flag_exif_missing": new.c.id % 7 == 0,
            },
            new,
            now,
        )
        new = select(I).where(I.c.id > last_id, I.c.id % 5 == 0).subquery()
        task_status = case(
            *(
                (new.c.id % 3 == k, _value(T, "status", s))
                for k, s in enumerate((TaskStatus.open, TaskStatus.responded))
            ),
            else_=_value(T, "status", TaskStatus.closed),
        )
        # Due 5 to 34 days after the task was issued, as deadlines are set: old open
        # tasks are long overdue, and only recent ones have their deadline ahead.
        due = new.c.submitted_at + (new.c.id % 30 + 5) * literal(timedelta(days=1))
        _insert(
            T,
            {
                "inspection_id": new.c.id,
                "unit_id": new.c.unit_id,
                "title": literal("台面堆放杂物"),
                "description": literal(""),
                "severity": _value(T, "severity", "general"),
                "status": task_status,
                "fixed_on_spot": literal(False, Boolean),
                "due_on": func.date(due),
                "due_at": due,
                "deadline_days": literal(15),
                "day_mode": _value(T, "day_mode", "calendar"),
                "round": literal(1),
                "rejections": literal(0),
                "extension_pending": literal(False, Boolean),
                "created_at": new.c.submitted_at,
                "created_by_id": literal(office_id),
                "item_code": literal("hygiene.counter"),
                "version": literal(1),
            },
            new,
            now,
        )
        db.session.commit()
        made = upto
    # Statistics and the visibility map as autovacuum keeps them on a live database.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def people() -> tuple[dict, str]:
    """An office admin and an inspector for a bench database (in an app context), and a
    bearer token of the admin's; committed."""
    from accounts import service as accounts
    from accounts.models import Role
    from core.db import db

    made = {
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
    raw, _ = accounts.issue_token(made[Role.office_admin], "password")
    db.session.commit()
    return made, raw
