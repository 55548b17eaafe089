"""The ingestion consumer's small storage calls besides its batch write (writes.py): the
database probe it waits on during an outage, and its sketch-delta writes."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from monitor.storage.db import storage_errors
from monitor.storage.sketch_store import DeltaRow, write_delta_rows


def ping(engine: Engine) -> None:
    """One cheap round trip (`SELECT 1`) on a pooled connection; raises StorageUnavailable
    when the database does not answer."""
    with storage_errors(engine, "database probe"), engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def write_deltas_nested(engine: Engine, conn: Connection, rows: list[DeltaRow]) -> int:
    """Store delta rows in the caller's transaction, inside a savepoint: a refused write
    raises StorageError and rolls back only the savepoint, leaving the batch's rows be."""
    with storage_errors(engine, "store sketches"), conn.begin_nested():
        return write_delta_rows(conn, rows)


def write_deltas(engine: Engine, rows: list[DeltaRow]) -> int:
    """Store delta rows in a transaction of their own."""
    with storage_errors(engine, "store sketches"), engine.begin() as conn:
        return write_delta_rows(conn, rows)


__all__ = ["ping", "write_deltas", "write_deltas_nested"]
