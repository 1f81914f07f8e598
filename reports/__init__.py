"""Reports the office issues: rankings (考核排名), the circular (通报) and one inspection's
report (检查报告). They read published inspections only, within the reader's scope.

Modules: `periods` (the span a report covers), `rankings` (figures by unit, sector and
region), `circular` and `inspection_report` (.docx through `documents.layout`, the
GB/T 9704-2012 page). The HTTP routes are `api/reports_documents.py`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register yet besides the API routes (wired by the factory)."""
