"""What a spreadsheet program makes of a ledger with formula-looking unit names: the
sheet, converted by LibreOffice to CSV (what it computes and shows), holds the literal
text, never a formula's result. Skipped when LibreOffice (`soffice`) is not installed."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import uuid

import pytest

from accounts.models import Role
from core.clock import utcnow
from core.db import db
from inspections.models import Inspection, InspectionStatus, VisitKind
from tests import test_ledgers
from tests.report_support import libreoffice_convert
from tests.test_ledgers import EVIL, INSPECTIONS, TASKS

# The ledger tests' fixtures, used here too.
records, long_records = test_ledgers.records, test_ledgers.long_records

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed"),
]


def test_libreoffice_shows_formula_looking_names_as_text(world, make_unit, office, tmp_path):
    for name in EVIL:
        unit = make_unit(name=name, sector_id=world.sector_a.id)
        db.session.add(
            Inspection(
                client_uuid=uuid.uuid4(),
                unit_id=unit.id,
                kind=VisitKind.announced,
                inspector_id=world.users[Role.inspector].id,
                status=InspectionStatus.submitted,
                started_at=utcnow(),
                score=88.5,
            )
        )
    db.session.commit()
    response = office.get(INSPECTIONS)
    assert response.status_code == 200
    book = tmp_path / "ledger.xlsx"
    book.write_bytes(response.get_data())
    csv_filter = "csv:Text - txt - csv (StarCalc):44,34,76"  # comma, quote, UTF-8
    converted = libreoffice_convert(book, csv_filter)
    with converted.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["检查编号", "被检查单位"]
    assert sorted(row[1] for row in rows[1:]) == sorted("'" + name for name in EVIL)
    assert {row[12] for row in rows[1:]} == {"88.5"}  # numbers stay numbers


def test_libreoffice_prints_the_ledger_on_landscape_pages_one_page_wide(
    world, records, long_records, office, tmp_path
):
    """The rectification ledger (21 columns) printed to PDF: A4 landscape, every column on
    the one page (it used to run over five portrait pages across, in column fragments),
    and the status 待复查（逾期） whole."""
    response = office.get(TASKS)
    assert response.status_code == 200
    book = tmp_path / "ledger.xlsx"
    book.write_bytes(response.get_data())
    pdf = libreoffice_convert(book, "pdf")
    data = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page\b", data)
    assert len(pages) == 1  # ten rows, one page: no column cut off to a page of its own
    boxes = {tuple(map(float, b.split())) for b in re.findall(rb"/MediaBox\s*\[([^\]]+)\]", data)}
    assert boxes
    assert all(round(w) == 842 and round(h) == 595 for _, _, w, h in boxes)  # A4 landscape
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "待复查（逾期）" in text.replace(" ", "")
        assert "整改任务" in text  # the last columns are there
        assert "检查记录与照片" in text
