"""Wiring: every cross-package hook, page, panel, attachment kind, demo hook and worker job
is registered on the app by the factory (each package's `init_app`), never by importing
a module. Removing an "unused" import can no longer switch a feature off silently."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import select

from accounts.models import Role
from core.db import db
from inspections import findings as findings_service
from rectification.models import RectificationTask, TaskStatus
from tests.inspection_helpers import ALL_PASS, make_visit, publish_checklist, submitted
from tests.rectification_support import photo

ROOT = Path(__file__).resolve().parent.parent

NAV = [
    ("console.dashboard", "工作台"),
    ("console.review_queue", "证据审核"),
    ("console.published_inspections", "检查结果"),
    ("console.tasks", "整改复查"),
    ("console.plan_list", "督查计划"),
    ("console.rankings_page", "考核排名"),
    ("console.units", "窗口单位"),
    ("console.users", "人员"),
    ("console.checklist_templates", "检查表"),
    ("console.exports", "我的导出"),
]


def registries(app) -> dict:
    """What the factory registered, by name (comparable across apps and processes)."""
    ext = app.extensions
    return {
        "nav": [list(entry) for entry in ext["console_nav"]],
        "panels": [f.__name__ for f in ext["console_panels"]],
        "figures": [f.__name__ for f in ext["console_figures"]],
        "media_kinds": sorted(ext["media_kinds"]),
        "published": [f"{f.__module__}.{f.__name__}" for f in ext["inspection_published"]],
        "demo_hooks": [f"{f.__module__}.{f.__name__}" for f in ext["demo_hooks"]],
        "worker_jobs": [f"{f.__module__}.{f.__name__}" for f in ext["worker_jobs"]],
        "commands": sorted(app.cli.commands),
        "ledger_sources": sorted(ext["ledger_sources"]),
    }


def test_a_fresh_app_has_every_registration(make_app):
    found = registries(make_app())
    assert [tuple(e[:2]) for e in found["nav"]] == NAV
    assert found["figures"] == ["inspection_figures", "task_figures"]
    assert found["panels"] == [
        "average_score_by_sector",
        "open_tasks_by_sector",
        "open_tasks_by_region",
        "inspections_by_sector",
    ]
    assert {"inspection", "rectification_task"} <= set(found["media_kinds"])
    assert found["published"] == ["rectification.opening.on_published"]
    assert found["demo_hooks"] == [  # each builds on the ones before it
        "checklists.library.install_default",
        "inspections.demo.load_demo",
        "rectification.demo.load_demo_tasks",
        "demo.evidence.load_demo_evidence",
    ]
    assert "rectification.reminders.scan_deadlines" in found["worker_jobs"]
    assert "reports.downloads.run_export_jobs" in found["worker_jobs"]
    assert found["ledger_sources"] == [
        "console.review_queue",
        "console.tasks",
        "inspections",
        "rectification",
    ]
    assert {"demo", "media", "worker", "checklists"} <= set(found["commands"])


def test_two_apps_do_not_share_or_double_their_registrations(make_app):
    first, second = make_app(), make_app()
    assert registries(first) == registries(second)
    for key in ("console_nav", "console_panels", "media_kinds", "inspection_published"):
        assert first.extensions[key] is not second.extensions[key]
    assert len(first.extensions["inspection_published"]) == 1


def test_importing_modules_registers_nothing(tmp_path):
    """In a fresh interpreter: the app made first, then every module of every package
    imported; the registries are what the factory put there, and a second app equals it."""
    script = textwrap.dedent(
        """
        import importlib, json, pkgutil, sys
        sys.path.insert(0, ".")
        from api import create_app
        from tests.test_wiring import registries
        config = {"APP_ENV": "testing", "SECRET_KEY": "x" * 40,
                  "SQLALCHEMY_DATABASE_URI": "sqlite://", "STORAGE_URL": "file://%s"}
        app = create_app(config)
        before = registries(app)
        for package in ("accounts", "checklists", "console", "core", "demo", "inspections",
                        "media", "notifications", "org", "rectification", "reports", "wechat"):
            module = importlib.import_module(package)
            for info in pkgutil.walk_packages(module.__path__, package + "."):
                importlib.import_module(info.name)
        importlib.import_module("tests.media_kinds")
        print(json.dumps([before, registries(app), registries(create_app(config))]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script % (tmp_path / "photos")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    before, after, again = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == after == again
    assert "test_unit" not in before["media_kinds"]  # the test kind is opt-in, per app


def test_a_publication_through_the_service_alone_opens_tasks(app, world, make_user):
    """No HTTP request, no route module involved: the app from create_app carries the
    hand-off to rectification."""
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)], starts_in_days=-1)
    answers = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴工作牌"}}
    inspection = submitted(visit, inspector, answers)
    photo("inspection", inspection.id, world.unit_a.id, inspector.id, "video.working")
    for finding in inspection.findings:
        finding.status = "confirmed"
    findings_service.publish_inspection(inspection, actor=world.users[Role.office_admin])
    db.session.commit()
    tasks = db.session.scalars(
        select(RectificationTask).where(RectificationTask.inspection_id == inspection.id)
    ).all()
    assert [(t.item_code, t.status) for t in tasks] == [("dress.badge", TaskStatus.open)]


def test_an_app_without_the_rectification_hook_says_so(app, world, make_user, monkeypatch):
    """The hooks are the app's: take them away and publication opens nothing (the
    registry, not an import, decides)."""
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)], starts_in_days=-1)
    answers = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴工作牌"}}
    inspection = submitted(visit, inspector, answers)
    photo("inspection", inspection.id, world.unit_a.id, inspector.id, "video.working")
    for finding in inspection.findings:
        finding.status = "confirmed"
    seen = []
    monkeypatch.setitem(app.extensions, "inspection_published", [lambda i, a: seen.append(i.id)])
    findings_service.publish_inspection(inspection, actor=world.users[Role.office_admin])
    assert seen == [inspection.id]
    assert not db.session.scalars(select(RectificationTask)).all()
