"""Claim a row before doing the work it stands for: the race of overlapping retries.

A phone on a bad network resends a create while the first copy is still running. Reading
"is there a row with this client id?" first cannot tell them apart (both read nothing), so
the row is claimed by the INSERT itself: INSERT … ON CONFLICT DO NOTHING. On PostgreSQL
the second INSERT waits for the first transaction and then inserts nothing; on SQLite the
write lock serialises them the same way. The loser reads the winner's committed row and
answers with it; only the winner goes on to write bytes, audit events and notifications.
"""

from __future__ import annotations

import functools

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from core.db import db


@functools.cache
def _statement(table, dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def claim(obj) -> bool:
    """Insert `obj` (a new ORM object) unless a unique constraint already holds such a
    row, perhaps one another transaction is still writing (this waits for it). True when
    `obj` went in: it is then in the session as if just loaded; False when another row won
    (find it by its client id; `obj` stays out of the session)."""
    mapper = inspect(type(obj))
    table = mapper.local_table
    # What the object has; columns it lacks get their defaults from the INSERT.
    values = {
        attr.columns[0].key: obj.__dict__[attr.key]
        for attr in mapper.column_attrs
        if attr.key in obj.__dict__
    }
    row = db.session.execute(_statement(table, db.engine.dialect.name), values).first()
    if row is None:
        return False
    for column, value in zip(table.primary_key.columns, row, strict=True):
        setattr(obj, mapper.get_property_by_column(column).key, value)
    make_transient_to_detached(obj)  # a loaded row now; unset columns load on first use
    db.session.add(obj)
    return True
