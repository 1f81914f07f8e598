"""Reports the office issues from the records: rankings (考核排名), the circular (通报) and
one inspection's report (检查报告) as .docx, and the 台账 ledgers in Excel. They read within
the reader's scope; rankings and circulars count published inspections only.

Modules: `periods` (the span a report covers), `rankings` (figures by unit, sector and
region), `circular` and `inspection_report` (.docx through `documents.layout`, the
GB/T 9704-2012 page), `ledger` and `xlsx` (the Excel ledgers), `downloads` (export jobs).
The HTTP routes are `api/reports.py` and `api/reports_documents.py`; docs/reports.md and
docs/reports-documents.md describe them. Importing a module registers nothing: the app
factory calls `init_app`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from reports import downloads, rollups

    downloads.init_app(app)  # ledger sources, the export worker job and its sweep
    rollups.init_app(app)  # unit × month rollups kept on commit, `flask reports`
