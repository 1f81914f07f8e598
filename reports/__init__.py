"""Reports: what the office issues from the records (台账 ledgers in Excel, and more).

Each part registers itself from `init_app`, which the app factory calls; importing a
module registers nothing. docs/reports.md describes the ledgers and their downloads."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from reports import downloads

    downloads.init_app(app)  # ledger sources, the export worker job and its sweep
