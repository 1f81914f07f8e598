"""导出台账 from the console: the review queue's and the task list's ledgers, with the
filters the page shows (the page's own statement: `review.queue_query`,
`tasks.list_query`), and the person's own exports with their files.

A small export downloads at once; a large one is queued for the worker and the person is
sent to 我的导出, which lists their exports and links each finished file."""

from __future__ import annotations

from flask import Flask, flash, g, redirect, render_template, request, url_for

from api.auth import OFFICE_READERS, requires
from console import review, tasks
from console.views import CONSOLE_READERS, add_nav, bp
from reports import downloads, ledger
from reports.models import EXPORT_STATUS_LABELS

QUEUE, TASKS = "console.review_queue", "console.tasks"


def init_app(app: Flask) -> None:
    ledger.register_source(app, ledger.LedgerSource(QUEUE, "inspections", review.queue_query))
    ledger.register_source(app, ledger.LedgerSource(TASKS, "rectification", tasks.list_query))
    add_nav(app, "console.exports", "我的导出")


def _export(source: str, params: dict):
    job, response = downloads.export_ledger(
        source, params, actor=g.user, base_url=downloads.base_url_for(request.host_url)
    )
    if response is not None:
        return response
    flash(f"共 {job.rows} 行，已转入后台生成；完成后在「我的导出」下载", "info")
    return redirect(url_for("console.exports"), code=303)


@bp.get("/ledgers/inspections.xlsx")
@requires(*OFFICE_READERS)
def inspection_ledger():
    return _export(QUEUE, review.queue_params())


@bp.get("/ledgers/tasks.xlsx")
@requires(*tasks.READERS)
def task_ledger():
    return _export(TASKS, tasks.list_params())


@bp.get("/exports")
@requires(*CONSOLE_READERS)
def exports():
    jobs = downloads.recent_jobs(g.user)
    return render_template("console/exports.html", jobs=jobs, labels=EXPORT_STATUS_LABELS)


@bp.get("/exports/<int:export_id>/file")
@requires(*CONSOLE_READERS)
def export_file(export_id: int):
    return downloads.job_file(downloads.get_job(export_id, actor=g.user))
