"""窗口单位 in the console: the list of the reader's scope, one unit's record (profile,
scores over time, open and overdue tasks, problems that come back), the office's edit
form and the CSV/XLSX import with its row-by-row report.

Reads come from the domains' queries (org.service, inspections.queries,
rectification.service), scoped by the reader's policy: another scope's unit is a 404 like
a missing one. The edit goes through the API's schema and `org.service.update_unit`, the
import through `org.importer`, so the console and the API accept and refuse the same.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request, url_for
from marshmallow import ValidationError

from accounts.models import Role
from api.auth import OFFICE, requires
from api.errors import status_of
from api.org import UnitUpdateSchema
from api.pagination import paginate
from console.common import (
    MAX_PAGE,
    act,
    arg_choice,
    arg_int,
    check_version,
    json_ints,
)
from console.views import CONSOLE_READERS, bp
from core import errors
from core.clock import utcnow
from core.db import db
from core.geo import COORD_SYSTEM_LABELS
from inspections import queries as inspection_queries
from inspections.models import INSPECTION_STATUS_LABELS
from org import hours, importer
from org import queries as org_queries
from org import service as org
from org.models import REGION_LEVEL_LABELS, RegionLevel
from rectification import queries as task_queries
from rectification import service as rectification
from rectification.models import STATUS_LABELS, RectificationTask

UNIT_STATES = {"1": True, "0": False}
# The fields of the edit form, as the API's unit schema names them.
TEXT_FIELDS = ("name", "address", "contact_name", "contact_phone")
STALE = "该窗口单位已被他人修改，请刷新查看最新内容；您填写的内容已保留在下方，核对后可再次保存"
# Indentation of a region in a select, by its level (the tree is four levels deep).
REGION_DEPTH = {level: i for i, level in enumerate(RegionLevel)}
OPEN_TASKS = 50  # the unit page lists at most this many open tasks (overdue first)


@bp.get("/units")
@requires(*CONSOLE_READERS)
def units():
    """The units the reader may see (org.policy), with filters offering only those."""
    filters: dict[str, Any] = {"q": request.args.get("q", "").strip()[:50] or None}
    for key in ("sector_id", "region_id"):
        value = arg_int(key)
        if value:
            filters[key] = value
    active = arg_choice("active", UNIT_STATES)
    if active is not None:
        filters["active"] = UNIT_STATES[active]
    page = arg_int("page", hi=MAX_PAGE) or 1
    result = paginate(org.units_query(g.user, filters), page, 50)
    return render_template(
        "console/units.html",
        result=result,
        sectors=org_queries.sector_choices(g.user),
        regions=org_queries.region_choices(g.user),
        region_depth=REGION_DEPTH,
        filters=filters | {"active": active},
        imports=g.user.role == Role.office_admin,
    )


def sparkline(months: list[dict[str, Any]], width: int = 240, height: int = 48) -> dict | None:
    """Points of a small line of the monthly averages, for an inline SVG (no chart
    library for one line). The scale spans the averages with a margin (at least ten
    points), so a change of a few points shows; None below two months."""
    if len(months) < 2:
        return None
    averages = [m["average"] for m in months]
    lo, hi = max(0.0, min(averages) - 5), min(100.0, max(averages) + 5)
    if hi - lo < 10:
        lo, hi = max(0.0, hi - 10), max(hi, 10.0)
    pad = 4
    step = (width - 2 * pad) / (len(months) - 1)
    points = [
        (round(pad + i * step, 1), round(pad + (hi - a) * (height - 2 * pad) / (hi - lo), 1))
        for i, a in enumerate(averages)
    ]
    return {
        "width": width,
        "height": height,
        "points": " ".join(f"{x},{y}" for x, y in points),
        "last": points[-1],
        "low": round(lo),
        "high": round(hi),
    }


def _open_tasks(unit_id: int) -> tuple[list[RectificationTask], dict[str, Any]]:
    """The unit's tasks not yet closed, overdue first, and the counts by status."""
    tasks = task_queries.open_tasks_of_unit(g.user, unit_id, OPEN_TASKS)
    return tasks, rectification.count_tasks(g.user, {"unit_id": unit_id})


@bp.get("/units/<int:unit_id>")
@requires(*CONSOLE_READERS)
def unit(unit_id: int):
    found = org.get_unit(unit_id, actor=g.user)
    inspections = inspection_queries.unit_inspections(g.user, found.id)
    months = inspection_queries.scores_by_month(inspections)
    tasks, counts = _open_tasks(found.id)
    return render_template(
        "console/unit.html",
        unit=found,
        service_hours=hours.as_text(found.service_hours),
        coord_labels=COORD_SYSTEM_LABELS,
        inspections=inspections,
        percent_of=inspection_queries.percent_of,
        months=months,
        spark=sparkline(months),
        tasks=tasks,
        counts=counts,
        now=utcnow(),
        status_labels=STATUS_LABELS,
        inspection_status_labels=INSPECTION_STATUS_LABELS,
        repeats=inspection_queries.repeat_problems(g.user, found.id),
        edits=g.user.role in OFFICE,
        links_inspection=g.user.is_office,
    )


# -- edit ---------------------------------------------------------------------------------


def _edit_choices() -> dict[str, Any]:
    """What the form's selects offer: every sector and lead unit (city-wide reference
    data), and the regions the office may put a unit in (a scoped office: its subtree)."""
    regions = org_queries.assignable_regions(g.user)
    return {
        "sectors": org.list_sectors(),
        "lead_units": org.list_lead_units(),
        "regions": list(regions),
        "region_depth": REGION_DEPTH,
        "region_levels": REGION_LEVEL_LABELS,
        "coord_labels": COORD_SYSTEM_LABELS,
    }


@bp.get("/units/<int:unit_id>/edit")
@requires(*OFFICE)
def edit_unit(unit_id: int):
    found = org.get_unit(unit_id, actor=g.user)
    return render_template(
        "console/unit_edit.html",
        unit=found,
        service_hours=hours.as_text(found.service_hours) if found.service_hours else "",
        **_edit_choices(),
    )


def _unit_form() -> dict[str, Any]:
    """The form as the API's unit update body: ids as integers, empty coordinates and
    lead unit as null, 办公时间 as written (parsed as the import parses it; empty: the
    default hours). Then the API's schema validates it, so both accept the same."""
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in TEXT_FIELDS}
    problems: dict[str, list[str]] = {}
    for key in ("sector_id", "region_id", "lead_unit_id"):
        data[key] = request.form.get(key, "").strip() or None  # the schema judges the id
    for key in ("sector_id", "region_id"):
        if data[key] is None:
            problems[key] = ["必填字段"]
    for key in ("latitude", "longitude"):
        data[key] = request.form.get(key, "").strip() or None
    data["coord_system"] = request.form.get("coord_system", "")
    data["active"] = request.form.get("active") == "1"
    written = request.form.get("service_hours", "").strip()
    data["service_hours"] = None
    if written:
        try:
            data["service_hours"] = hours.parse_text(written)
        except errors.InvalidInput as exc:
            problems.update(exc.errors)
    try:
        loader = UnitUpdateSchema()
        loaded = loader.load(
            json_ints(loader, {k: v for k, v in data.items() if k not in problems})
        )
    except ValidationError as exc:
        problems.update({k: v for k, v in exc.normalized_messages().items() if k not in problems})
        loaded = {}
    if problems:
        raise errors.InvalidInput("请按提示修改后再保存", errors=problems)
    return loaded


# Its own path: GET and POST rules on one path answer 405, not 404, for a too-large id.
@bp.post("/units/<int:unit_id>/save")
@requires(*OFFICE)
def update_unit(unit_id: int):
    found = org.get_unit(unit_id, actor=g.user)

    def change():
        check_version(found.version, message=STALE)
        org.update_unit(found, _unit_form(), actor=g.user)

    return act(
        change,
        done="已保存窗口单位信息",
        back=url_for("console.unit", unit_id=found.id),
        form="unit",
        refused_back=url_for("console.edit_unit", unit_id=found.id),
    )


# -- import -------------------------------------------------------------------------------


@bp.get("/units/import")
@requires(Role.office_admin)
def import_units_form():
    return render_template(
        "console/unit_import.html", columns=_columns(), max_rows=importer.MAX_ROWS
    )


def _columns() -> list[tuple[str, bool]]:
    """The import's columns as its header names them (one name each), required first."""
    labels: dict[str, str] = {}
    for label, column in importer.COLUMNS.items():
        labels.setdefault(column, label)
    return [(labels[c], c in importer.REQUIRED) for c in labels]


@bp.post("/units/import")
@requires(Role.office_admin)
def import_units():
    """The same reading and checks as the API's import: all rows or none. A refusal
    answers the page again with every bad row (its line, column and problem)."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise errors.InvalidInput("请选择要导入的文件", errors={"file": ["请选择文件"]})
        rows = importer.read_rows(upload.filename, upload.stream)
        report = importer.import_units(rows, actor=g.user)
    except (errors.InvalidInput, errors.UnsupportedMedia, errors.PayloadTooLarge) as exc:
        db.session.rollback()
        details = exc.errors or {}
        page = render_template(
            "console/unit_import.html",
            columns=_columns(),
            max_rows=importer.MAX_ROWS,
            message=exc.message,
            rows=details.get("rows", []),
            notes=[m for key, ms in details.items() if key != "rows" for m in ms],
            filename=(upload.filename or "")[:200] if upload else "",
        )
        return page, status_of(exc)
    return act(
        lambda: None,
        done=f"已导入 {report.created} 个窗口单位",
        back=url_for("console.units"),
    )


def init_app(app: Flask) -> None:
    """The 窗口单位 entry is in the navigation from console.views; nothing to add."""
    del app
