"""The default checklist library: versioned JSON files beside this module.

`install_default()` loads `library/window_service.json` and publishes it. It is idempotent:
when the published version already has the file's content hash nothing happens; when the
file changed (a new release of the library), a new version is published and the old one
retires, so inspections filled with it still render.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from checklists import content as fmt
from checklists import service, transfer
from checklists.models import ChecklistTemplate, ChecklistVersion
from core.db import db

LIBRARY = Path(__file__).parent / "library"
DEFAULT_FILE = LIBRARY / "window_service.json"


def read_default_document() -> dict:
    return json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))


def install_default() -> ChecklistVersion:
    document = read_default_document()
    fields, content = transfer.read_document(document)
    template = db.session.scalar(
        db.select(ChecklistTemplate).where(ChecklistTemplate.code == fields["code"])
    )
    if template is None:
        template = service.create_template(fields, actor=None, content=content)
        return service.publish(service.list_versions(template)[0], actor=None)
    current = service.published_version_of(template)
    if current is not None and current.content_hash == fmt.content_hash(content):
        return current
    draft = next((v for v in service.list_versions(template) if v.is_draft), None)
    if draft is None:
        draft = service.create_draft(template, actor=None, content=content)
    else:
        draft.content, draft.content_hash = content, fmt.content_hash(content)
    return service.publish(draft, actor=None)


checklists_cli = AppGroup("checklists", help="Checklist templates and the default library.")


@checklists_cli.command("install-default")
def install_default_command() -> None:
    """Load and publish the default 窗口服务明察暗访检查表 (idempotent)."""
    version = install_default()
    db.session.commit()
    click.echo(
        f"{version.content['name']}: version {version.number}, {version.item_count} items, "
        f"sha256 {version.content_hash[:12]}"
    )
