"""The tests' copy of the demo city (`demo_city` in conftest) is what `flask demo` wrote:
every row, the photos it stored, and ids that carry on after the copy's."""

from __future__ import annotations

import hashlib
import shutil

from sqlalchemy import func, select

from core.db import db
from org.models import Sector
from tests.conftest import _restore_demo, _take_demo, _wipe


def _files(root) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }


def test_the_copy_of_the_demo_is_what_the_command_wrote(app, runner, tmp_path_factory):
    root = app.extensions["storage"].root
    shutil.rmtree(root, ignore_errors=True)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    written = _take_demo(root, tmp_path_factory)
    photos = _files(root)
    assert photos
    assert all(written.rows[name] for name in ("photo", "inspection", "audit_event"))
    last_sector = max(row["id"] for row in written.rows["sector"])

    db.session.remove()
    _wipe(app)
    shutil.rmtree(root)
    _restore_demo(written, root)

    assert _take_demo(root, tmp_path_factory).rows == written.rows
    assert _files(root) == photos
    verified = runner.invoke(args=["evidence", "verify"])  # seals, chains, stored originals
    assert verified.exit_code == 0, verified.output
    sector = Sector(code="after_the_copy", name="复制之后")
    db.session.add(sector)
    db.session.commit()
    assert sector.id == last_sector + 1
    assert db.session.scalar(select(func.count()).select_from(Sector)) == last_sector + 1
