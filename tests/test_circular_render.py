"""A circular with photos opens in LibreOffice: converted to PDF by `soffice --headless`, its
first page rendered to PNG by `pdftoppm` into test-artifacts/ for a person to look at.

Skips with a clear message when LibreOffice or poppler is missing; CI installs them and
sets REQUIRE_LIBREOFFICE=1, which turns the skip into a failure (like REQUIRE_BROWSER for
the console's browser tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from accounts.models import Role
from tests.report_support import CRITICAL, SMOKE, Scene, libreoffice_convert, this_month_day

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.libreoffice


def _tools() -> tuple[str, str]:
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if soffice and pdftoppm:
        return soffice, pdftoppm
    message = "LibreOffice (soffice) or poppler (pdftoppm) not found: apt-get install -y "
    message += "libreoffice-writer-nogui poppler-utils"
    if os.environ.get("REQUIRE_LIBREOFFICE"):
        pytest.fail(message)
    pytest.skip(message)


def test_a_circular_with_photos_renders_in_libreoffice(world, make_unit, client_for, tmp_path):
    soffice, pdftoppm = _tools()
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    scene.inspect(world.unit_a, SMOKE, at=this_month_day(3), photo_items=("smoke.none",))
    scene.inspect(a2, CRITICAL, at=this_month_day(4), photo_items=("video.working",))
    response = client_for(world.users[Role.office_admin]).get("/api/v1/reports/circular")
    assert response.status_code == 200
    source = tmp_path / "circular.docx"
    source.write_bytes(response.get_data())

    pdf = libreoffice_convert(source, "pdf", soffice)
    assert pdf.read_bytes().startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / f"circular-{world.unit_a.id}"
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-f", "1", "-l", "2", str(pdf), str(target)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pages = sorted(ARTIFACTS.glob(f"{target.name}-*.png"))
    assert pages, "pdftoppm rendered nothing"
    # text made it through: the PDF's fonts include a CJK face for the Chinese text
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    assert fonts.count("\n") > 2, fonts
