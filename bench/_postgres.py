"""Throwaway PostgreSQL databases for the test session and the benchmarks.

One helper, so that every run makes its database the same way and always drops it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
from sqlalchemy import make_url


@contextlib.contextmanager
def temporary_database(
    server_url: str, prefix: str, settings: dict[str, str] | None = None
) -> Iterator[str]:
    """Create a database on the server of `server_url`; yield its SQLAlchemy URL; drop it.
    `settings`: server settings that every session on the database starts with."""
    url = make_url(server_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        for setting, value in (settings or {}).items():
            conn.execute(f'ALTER DATABASE "{name}" SET {setting} = {value}')
    try:
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
