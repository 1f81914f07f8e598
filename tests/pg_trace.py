"""Round trips to PostgreSQL, counted from libpq's own trace of the protocol: each one
ends with the server's ReadyForQuery (a simple query's, or a pipeline's sync)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine


class RoundTrips:
    def __init__(self) -> None:
        self.traces: list = []
        self.lines: list[str] = []

    def trace(self, dbapi_connection) -> None:
        import psycopg

        file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `stop`)
        dbapi_connection.pgconn.trace(file.fileno())
        dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        self.traces.append((dbapi_connection, file))

    def stop(self) -> None:
        for dbapi_connection, file in self.traces:
            with contextlib.suppress(Exception):  # (closed meanwhile)
                dbapi_connection.pgconn.untrace()
            file.seek(0)
            self.lines += file.read().decode(errors="replace").splitlines()
            file.close()
        self.traces = []

    @property
    def messages(self) -> list[str]:
        lines = list(self.lines)
        for _, file in self.traces:
            file.seek(0)
            lines += file.read().decode(errors="replace").splitlines()
        return lines

    @property
    def count(self) -> int:
        return sum(1 for line in self.messages if "\tReadyForQuery\t" in line)


@contextlib.contextmanager
def round_trips(engine: Engine, *connections) -> Iterator[RoundTrips]:
    """Count the round trips of `connections` (DBAPI connections already in use) and of
    every connection `engine`'s pool hands out meanwhile (after the pool's own ping)."""
    counted = RoundTrips()
    for connection in connections:
        counted.trace(connection)

    def checkout(dbapi_connection, record, proxy):
        counted.trace(dbapi_connection)

    event.listen(engine.pool, "checkout", checkout)
    try:
        yield counted
    finally:
        event.remove(engine.pool, "checkout", checkout)
        counted.stop()
