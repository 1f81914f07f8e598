"""Console pages for checklists: the templates, and any version as inspectors see it.

Reading here; a city-wide office admin drafts, edits and publishes in the builder
(`console.checklist_editor`), through the same services as the API (/api/v1/checklist-*).
"""

from __future__ import annotations

from flask import Flask, g, render_template

from api.auth import OFFICE_READERS, requires
from api.pagination import paginate
from checklists import content as fmt
from checklists import policy
from checklists import queries as checklist_queries
from checklists import service as checklists
from checklists.models import STATUS_LABELS
from console.common import MAX_PAGE, arg_int, may_open
from console.views import add_nav, bp

LABELS = {
    "kind": fmt.KIND_LABELS,
    "photo": fmt.PHOTO_LABELS,
    "severity": fmt.SEVERITY_LABELS,
    "status": STATUS_LABELS,
}


@bp.get("/checklists")
@requires(*OFFICE_READERS)
def checklist_templates():
    page = arg_int("page", hi=MAX_PAGE) or 1
    result = paginate(checklists.list_templates(), page, 50)
    ids = [template.id for template in result["items"]]
    versions = checklist_queries.version_rows(ids)  # without their content: one query
    return render_template(
        "console/checklists.html",
        result=result,
        versions=versions,
        labels=LABELS,
        may_author=may_author(),
    )


@bp.get("/checklists/versions/<int:version_id>")
@requires(*OFFICE_READERS)
def checklist_version(version_id: int):
    version = checklists.get_version(version_id, actor=g.user)
    return render_template(
        "console/checklist_version.html",
        version=version,
        template=version.template,
        content=version.content,
        labels=LABELS,
        may_author=may_author(),
        has_draft=any(v.is_draft for v in checklists.list_versions(version.template)),
    )


def may_author() -> bool:
    """Whether the reader may use the builder: the routes' role and the service's rule."""
    return may_open("console.checklist_draft", g.user) and policy.can_author(g.user)


def init_app(app: Flask) -> None:
    add_nav(app, "console.checklist_templates", "检查表")
