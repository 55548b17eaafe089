"""Dead letters in storage: list and count them, and the reads and writes of a replay.

A replay runs chunk by chunk, each chunk in one transaction (`replay_transaction`): read the
next rows (`next_chunk`, locked with SKIP LOCKED on Postgres so two replays never handle the
same row), store what now parses (`monitor.storage.writes.write_batch` on the same
connection), then `settle_replayed` deletes the accepted rows and gives the others their new
reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from monitor.events import DeadLetter
from monitor.storage.db import storage_errors
from monitor.storage.tables import dead_letters as dead_letters_table

d = dead_letters_table.c


@dataclass(frozen=True)
class DeadLetterRow:
    """One stored dead letter with its id."""

    id: int
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    raw: bytes
    received_at: datetime


@dataclass(frozen=True)
class NewReason:
    """A replayed dead letter that still fails: its new reason and detail."""

    id: int
    reason: str | None
    detail: str | None


def _row(m: Any) -> DeadLetterRow:
    return DeadLetterRow(
        id=int(m["id"]),
        topic=m["topic"],
        partition=int(m["kafka_partition"]),
        offset=int(m["kafka_offset"]),
        reason=m["reason"],
        detail=m["detail"],
        raw=bytes(m["raw"]),
        received_at=m["received_at"],
    )


def list_dead_letters(
    engine: Engine, reason: str | None = None, limit: int = 50
) -> list[DeadLetterRow]:
    """The newest dead letters (by id), optionally of one reason."""
    stmt = select(dead_letters_table).order_by(d.id.desc()).limit(limit)
    if reason is not None:
        stmt = stmt.where(d.reason == reason)
    with storage_errors(engine, "read dead letters"), engine.connect() as conn:
        return [_row(m) for m in conn.execute(stmt).mappings()]


def newest_dead_letters(engine: Engine, limit: int = 10) -> list[DeadLetter]:
    """The `limit` most recently stored dead letters as events, newest first."""
    stmt = (
        select(d.topic, d.kafka_partition, d.kafka_offset, d.reason, d.detail, d.raw, d.received_at)
        .order_by(d.id.desc())
        .limit(limit)
    )
    with storage_errors(engine, "read dead letters"), engine.connect() as conn:
        return [DeadLetter(*row) for row in conn.execute(stmt)]


def count_dead_letters(engine: Engine) -> int:
    stmt = select(func.count()).select_from(dead_letters_table)
    with storage_errors(engine, "count"), engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def dead_letter_counts(engine: Engine) -> dict[str, int]:
    """Rejected events per reason, as stored (survives restarts, unlike in-process counters)."""
    stmt = select(d.reason, func.count()).group_by(d.reason)
    with storage_errors(engine, "count dead letters"), engine.connect() as conn:
        return {reason: n for reason, n in conn.execute(stmt)}


def dead_letter_counts_since(engine: Engine, since: datetime) -> dict[str, int]:
    """Dead letters stored at or after `since`, per reason (by the time they were stored)."""
    stmt = select(d.reason, func.count()).where(d.received_at >= since).group_by(d.reason)
    with storage_errors(engine, "count dead letters"), engine.connect() as conn:
        return {reason: int(n) for reason, n in conn.execute(stmt)}


def missing_ids(engine: Engine, ids: Sequence[int]) -> list[int]:
    """The ids of `ids` that name no stored dead letter (in the given order)."""
    with storage_errors(engine, "read dead letters"), engine.connect() as conn:
        found = set(conn.execute(select(d.id).where(d.id.in_(ids))).scalars())
    return [i for i in ids if i not in found]


@contextlib.contextmanager
def replay_transaction(engine: Engine) -> Iterator[Connection]:
    """One replay chunk's transaction; storage errors are translated."""
    with storage_errors(engine, "replay dead letters"), engine.begin() as conn:
        yield conn


def next_chunk(
    conn: Connection,
    last_id: int,
    reason: str | None,
    ids: Sequence[int] | None,
    chunk: int,
    *,
    lock: bool,
) -> list[DeadLetterRow]:
    """Up to `chunk` dead letters after `last_id` in id order (locked when `lock`, on Postgres)."""
    stmt = select(dead_letters_table).where(d.id > last_id).order_by(d.id).limit(chunk)
    if reason is not None:
        stmt = stmt.where(d.reason == reason)
    if ids is not None:
        stmt = stmt.where(d.id.in_(ids))
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [_row(m) for m in conn.execute(stmt).mappings()]


def settle_replayed(
    conn: Connection, accepted: Sequence[int], changed: Sequence[NewReason]
) -> None:
    """Delete the accepted dead letters; give the ones that still fail their new reason."""
    if accepted:
        conn.execute(delete(dead_letters_table).where(d.id.in_(accepted)))
    if changed:
        conn.execute(
            update(dead_letters_table)
            .where(d.id == bindparam("row_id"))
            .values(reason=bindparam("new_reason"), detail=bindparam("new_detail")),
            [{"row_id": c.id, "new_reason": c.reason, "new_detail": c.detail} for c in changed],
        )
