"""The baseline: a bare Flask app doing the least the real endpoints must do.

POST /rows inserts one row per answer (30) in one transaction; GET /page counts a table
and reads a page of it. Same database, same SQLite tuning (core.db's connect hook), same
gunicorn workers as the real app. Served by bench/submit.py only.
"""

from __future__ import annotations

import functools
import os

from flask import Flask, request
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
    text,
)

import core.db  # noqa: F401 - the same SQLite pragmas as the app (WAL, synchronous=NORMAL)
from api.config import normalise_database_url

metadata = MetaData()
rows = Table(
    "bench_row",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("inspection_key", String(36), nullable=False),
    Column("code", String(40), nullable=False),
    Column("result", String(10), nullable=False),
    Column("note", Text, nullable=False),
)

app = Flask(__name__)


@functools.cache
def engine():
    """One engine per worker process, made after gunicorn forks."""
    return create_engine(normalise_database_url(os.environ["DATABASE_URL"]))


@app.post("/rows")
def insert_rows():
    body = request.get_json()
    values = [
        {
            "inspection_key": body["client_uuid"],
            "code": code,
            "result": answer.get("result", ""),
            "note": answer.get("note", ""),
        }
        for code, answer in body["answers"].items()
    ]
    with engine().begin() as conn:
        conn.execute(insert(rows), values)
    return {"inserted": len(values)}, 201


@app.get("/page")
def page():
    with engine().connect() as conn:
        total = conn.scalar(select(func.count()).select_from(text("inspection")))
        items = conn.execute(
            text(
                "SELECT id, unit_id, status, score, grade, started_at FROM inspection "
                "ORDER BY started_at DESC, id DESC LIMIT 20"
            )
        ).mappings()
        return {"total": total, "items": [dict(r) for r in items]}


@app.get("/ping")
def ping():
    return {"ok": True}
