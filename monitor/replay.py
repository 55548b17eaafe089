"""Dead letters for operators: list them, count them, and replay them after a fix.

Replay sends each stored message back through the consumer's validation (the same
`ParseRules`, built from the current settings), so a message rejected as `unknown_model`
is accepted once its model has a monitor. What now parses is stored as an event (the
idempotent batch write) and its dead-letter row is deleted in the same transaction; what
still fails keeps its row with the new reason and detail.

Only a bounded prefix of each rejected message is stored (`ingest.dead_letter_raw_bytes`).
A row whose raw bytes fill that prefix and still fail to parse was (most likely) cut short:
it is reported as truncated and left exactly as it is, since its new reason would only
describe the cut. Rows are processed in id order, in chunks of one transaction each; on
Postgres the chunk is locked with SKIP LOCKED so two replays never handle the same row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from monitor.errors import InputError
from monitor.event_columns import ParseRules
from monitor.events import EventRejected, Label, Prediction, parse_label, parse_prediction
from monitor.storage.db import storage_errors
from monitor.storage.tables import dead_letters
from monitor.storage.writes import write_batch

d = dead_letters.c
CHUNK = 500

ACCEPTED, REJECTED, TRUNCATED = "accepted", "rejected", "truncated"


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    raw: bytes
    received_at: datetime


@dataclass(frozen=True)
class ReplayOutcome:
    """What replay did (or, dry, would do) with one dead letter."""

    id: int
    topic: str
    partition: int
    offset: int
    outcome: str  # accepted | rejected | truncated
    old_reason: str
    reason: str | None  # the new reason (rejected), the kept one (truncated), None (accepted)
    detail: str | None


@dataclass(frozen=True)
class ReplayReport:
    dry_run: bool
    outcomes: tuple[ReplayOutcome, ...]
    predictions_stored: int  # new rows (an event already stored counts as a duplicate)
    labels_stored: int
    duplicates: int

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)


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
    stmt = select(dead_letters).order_by(d.id.desc()).limit(limit)
    if reason is not None:
        stmt = stmt.where(d.reason == reason)
    with storage_errors(engine, "read dead letters"), engine.connect() as conn:
        return [_row(m) for m in conn.execute(stmt).mappings()]


def dead_letter_counts_since(engine: Engine, since: datetime) -> dict[str, int]:
    """Dead letters stored at or after `since`, per reason (by the time they were stored)."""
    stmt = select(d.reason, func.count()).where(d.received_at >= since).group_by(d.reason)
    with storage_errors(engine, "count dead letters"), engine.connect() as conn:
        return {reason: int(n) for reason, n in conn.execute(stmt)}


def _parser(topic: str, rules: ParseRules) -> Callable[..., Prediction | Label]:
    """As the consumer decides: the labels topic holds labels, any other topic predictions."""
    return parse_label if topic == rules.labels_topic else parse_prediction


def judge(row: DeadLetterRow, rules: ParseRules) -> tuple[ReplayOutcome, Prediction | Label | None]:
    """Validate one stored message again; pure."""
    base = {"id": row.id, "topic": row.topic, "partition": row.partition, "offset": row.offset}
    try:
        event = _parser(row.topic, rules)(
            row.raw, max_bytes=rules.max_bytes, known_models=rules.known_models
        )
    except EventRejected as exc:
        if len(row.raw) >= rules.dead_letter_raw_bytes:
            detail = f"stored prefix is {len(row.raw)} bytes (ingest.dead_letter_raw_bytes)"
            return ReplayOutcome(
                **base, outcome=TRUNCATED, old_reason=row.reason, reason=row.reason, detail=detail
            ), None
        return ReplayOutcome(
            **base,
            outcome=REJECTED,
            old_reason=row.reason,
            reason=exc.reason,
            detail=exc.detail.replace("\x00", "\\x00"),  # Postgres text cannot hold NUL
        ), None
    return ReplayOutcome(
        **base, outcome=ACCEPTED, old_reason=row.reason, reason=None, detail=None
    ), event


def replay_dead_letters(
    engine: Engine,
    rules: ParseRules,
    *,
    reason: str | None = None,
    ids: Sequence[int] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    chunk: int = CHUNK,
) -> ReplayReport:
    """Replay the dead letters selected by `reason` and/or `ids` (all when neither is given).

    InputError when an id in `ids` does not exist (nothing is changed then).
    """
    now = now or datetime.now(UTC)
    wanted = sorted(set(ids)) if ids else None
    if wanted:
        _check_ids(engine, wanted)
    outcomes: list[ReplayOutcome] = []
    stored = [0, 0, 0]
    last_id = 0
    while True:
        with storage_errors(engine, "replay dead letters"), engine.begin() as conn:
            rows = _next_chunk(conn, last_id, reason, wanted, chunk, lock=not dry_run)
            if not rows:
                break
            last_id = rows[-1].id
            judged = [judge(row, rules) for row in rows]
            outcomes.extend(o for o, _ in judged)
            if not dry_run:
                result = _apply(conn, judged, now)
                stored = [a + b for a, b in zip(stored, result, strict=True)]
        if len(rows) < chunk:
            break
    return ReplayReport(dry_run, tuple(outcomes), *stored)


def _check_ids(engine: Engine, wanted: list[int]) -> None:
    with storage_errors(engine, "read dead letters"), engine.connect() as conn:
        found = set(conn.execute(select(d.id).where(d.id.in_(wanted))).scalars())
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise InputError(f"no dead letter with id {shown}")


def _next_chunk(
    conn: Connection,
    last_id: int,
    reason: str | None,
    ids: list[int] | None,
    chunk: int,
    *,
    lock: bool,
) -> list[DeadLetterRow]:
    stmt = select(dead_letters).where(d.id > last_id).order_by(d.id).limit(chunk)
    if reason is not None:
        stmt = stmt.where(d.reason == reason)
    if ids is not None:
        stmt = stmt.where(d.id.in_(ids))
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [_row(m) for m in conn.execute(stmt).mappings()]


def _apply(
    conn: Connection,
    judged: list[tuple[ReplayOutcome, Prediction | Label | None]],
    now: datetime,
) -> tuple[int, int, int]:
    """Store what parses and delete its rows; give what still fails its new reason."""
    preds = [e for _, e in judged if isinstance(e, Prediction)]
    labels = [e for _, e in judged if isinstance(e, Label)]
    accepted = [o.id for o, _ in judged if o.outcome == ACCEPTED]
    changed = [
        {"row_id": o.id, "new_reason": o.reason, "new_detail": o.detail}
        for o, _ in judged
        if o.outcome == REJECTED
    ]
    result = write_batch(conn, preds, labels, [], now)
    if accepted:
        conn.execute(delete(dead_letters).where(d.id.in_(accepted)))
    if changed:
        conn.execute(
            update(dead_letters)
            .where(d.id == bindparam("row_id"))
            .values(reason=bindparam("new_reason"), detail=bindparam("new_detail")),
            changed,
        )
    return result.predictions_inserted, result.labels_inserted, result.duplicates


__all__ = [
    "ACCEPTED",
    "REJECTED",
    "TRUNCATED",
    "DeadLetterRow",
    "ReplayOutcome",
    "ReplayReport",
    "dead_letter_counts_since",
    "judge",
    "list_dead_letters",
    "replay_dead_letters",
]
