"""The documents an office issues, as downloads: built for the reader, named, and recorded.

A circular (通报) names units and prints their photos; an inspection report (检查报告)
carries one unit's result. Each download is an export like a ledger's: an `ExportJob`
row (done, written in the request, no stored file) and an audit event saying who took
which document with which parameters and how many units or findings it prints
(`reports.downloads.record_document`). The API and the console both come here, so the two
name and record a document the same way.
"""

from __future__ import annotations

from typing import NamedTuple

from accounts.models import User
from inspections.models import Inspection
from reports import circular, downloads, inspection_report, rankings
from reports.periods import Period


class Download(NamedTuple):
    content: bytes
    filename: str  # Chinese, for `filename*`
    fallback: str  # ASCII, for `filename`


def circular_download(
    actor: User,
    period: Period,
    *,
    finding_ids: list[int] | None = None,
    top: int = rankings.DEFAULT_TOP,
    issuer: str | None = None,
) -> Download:
    built = circular.build_circular(actor, period, finding_ids=finding_ids, top=top, issuer=issuer)
    download = Download(
        built.content,
        f"通报-{period.label.strip('“”')}.docx",
        f"circular-{period.slug}.docx",
    )
    params = {
        "period": period.kind,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "plan_id": period.plan.id if period.plan is not None else None,
        "finding_ids": finding_ids or None,
        "top": top,
        "issuer": issuer,
    }
    downloads.record_document(actor, "circular", params, built, download.filename)
    return download


def report_download(actor: User, inspection: Inspection) -> Download:
    built = inspection_report.build_report(inspection, actor=actor)
    download = Download(
        built.content,
        f"检查报告-{inspection.unit.name}-{inspection.id}.docx",
        f"inspection-{inspection.id}.docx",
    )
    params = {"inspection_id": inspection.id}
    downloads.record_document(actor, "inspection_report", params, built, download.filename)
    return download
