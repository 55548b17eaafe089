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

from monitor.errors import InputError
from monitor.event_columns import ParseRules
from monitor.events import EventRejected, Label, Prediction, parse_label, parse_prediction
from monitor.storage.db import Connection, Engine
from monitor.storage.dead_letters import (
    DeadLetterRow,
    NewReason,
    missing_ids,
    next_chunk,
    replay_transaction,
    settle_replayed,
)
from monitor.storage.writes import write_batch

CHUNK = 500

ACCEPTED, REJECTED, TRUNCATED = "accepted", "rejected", "truncated"


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


def _parser(topic: str, rules: ParseRules) -> Callable[..., Prediction | Label]:
    """As the consumer decides: the labels topic holds labels, any other topic predictions."""
    return parse_label if topic == rules.labels_topic else parse_prediction


def judge(row: DeadLetterRow, rules: ParseRules) -> tuple[ReplayOutcome, Prediction | Label | None]:
    """Validate one stored message again; pure."""

    def outcome(outcome: str, reason: str | None, detail: str | None) -> ReplayOutcome:
        return ReplayOutcome(
            id=row.id,
            topic=row.topic,
            partition=row.partition,
            offset=row.offset,
            outcome=outcome,
            old_reason=row.reason,
            reason=reason,
            detail=detail,
        )

    try:
        event = _parser(row.topic, rules)(
            row.raw, max_bytes=rules.max_bytes, known_models=rules.known_models
        )
    except EventRejected as exc:
        if len(row.raw) >= rules.dead_letter_raw_bytes:
            detail = f"stored prefix is {len(row.raw)} bytes (ingest.dead_letter_raw_bytes)"
            return outcome(TRUNCATED, row.reason, detail), None
        # Postgres text cannot hold NUL
        return outcome(REJECTED, exc.reason, exc.detail.replace("\x00", "\\x00")), None
    return outcome(ACCEPTED, None, None), event


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
        with replay_transaction(engine) as conn:
            rows = next_chunk(conn, last_id, reason, wanted, chunk, lock=not dry_run)
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
    missing = missing_ids(engine, wanted)
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        raise InputError(f"no dead letter with id {shown}")


def _apply(
    conn: Connection,
    judged: list[tuple[ReplayOutcome, Prediction | Label | None]],
    now: datetime,
) -> tuple[int, int, int]:
    """Store what parses and delete its rows; give what still fails its new reason."""
    preds = [e for _, e in judged if isinstance(e, Prediction)]
    labels = [e for _, e in judged if isinstance(e, Label)]
    accepted = [o.id for o, _ in judged if o.outcome == ACCEPTED]
    changed = [NewReason(o.id, o.reason, o.detail) for o, _ in judged if o.outcome == REJECTED]
    result = write_batch(conn, preds, labels, [], now)
    settle_replayed(conn, accepted, changed)
    return result.predictions_inserted, result.labels_inserted, result.duplicates


__all__ = [
    "ACCEPTED",
    "REJECTED",
    "TRUNCATED",
    "DeadLetterRow",
    "ParseRules",
    "ReplayOutcome",
    "ReplayReport",
    "judge",
    "replay_dead_letters",
]
