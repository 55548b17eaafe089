"""Batch writes of validated events: one transaction per batch, idempotent.

The consumer commits Kafka offsets only after `store_batch` returns, so a batch may be
delivered again after a crash; every insert therefore skips rows already stored
(`ON CONFLICT DO NOTHING`) and a redelivered batch stores nothing twice.

Postgres path: one `INSERT ... SELECT FROM unnest(array, ...) ON CONFLICT DO NOTHING` per
table: a single round trip with the rows as typed arrays, exact inserted counts, no temp
table. Measured (2 cores, 20-feature events, batches of 2,000): binary-array unnest ~1.25x
the rate of COPY into a temp staging table + INSERT ... SELECT; text-format arrays were 4x
slower (psycopg escapes each element with a regex), hence the `%(x)b` placeholders. SQLite path: Core
`INSERT OR IGNORE` / upsert through executemany.

Labels: a later label for the same (model, event_id) replaces the stored one only when its
timestamp is newer; a redelivered or older label changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.errors import CopyConflict
from monitor.event_columns import PredictionColumns
from monitor.events import DeadLetter, Label, Prediction
from monitor.storage.bulk import copy_predictions, json_columns
from monitor.storage.db import storage_errors
from monitor.storage.tables import dead_letters, labels, predictions


@dataclass(frozen=True, slots=True)
class StoreResult:
    predictions_inserted: int
    labels_inserted: int  # inserted, or replaced by a newer label
    dead_letters_inserted: int
    duplicates: int  # input rows not written because already stored (or an older label)


def newest_labels(batch: Sequence[Label]) -> list[Label]:
    """One label per (model, event_id): the newest; on equal ts the last one given.
    (Postgres refuses an upsert that touches the same row twice in one statement.)"""
    chosen: dict[tuple[str, str], Label] = {}
    for label in batch:
        key = (label.model, label.event_id)
        kept = chosen.get(key)
        if kept is None or label.ts >= kept.ts:
            chosen[key] = label
    return list(chosen.values())


Predictions = Sequence[Prediction] | PredictionColumns


def store_batch(
    engine: Engine,
    predictions_batch: Predictions,
    labels_batch: Sequence[Label],
    dead_letters_batch: Sequence[DeadLetter],
    *,
    received_at: datetime | None = None,
    copy: bool = True,
    also: Callable[[Connection, StoreResult], None] | None = None,
) -> StoreResult:
    """Store one consumed batch in one transaction. Raises StorageUnavailable (retry later)
    or StorageError; on any error nothing of the batch is stored.

    On Postgres the predictions go in by COPY first (`copy=False`: never); a batch that
    already has a stored row (redelivery) makes COPY fail, and the transaction is redone
    with the idempotent INSERT ... ON CONFLICT DO NOTHING. `also(conn, result)` runs last
    in the same transaction (ingestion writes its sketch deltas there)."""
    received_at = received_at or datetime.now(UTC)
    cols = PredictionColumns.of(predictions_batch)
    if copy and cols and engine.dialect.name == "postgresql":
        try:
            with storage_errors(engine, "store batch"), engine.begin() as conn:
                result = write_batch(
                    conn, cols, labels_batch, dead_letters_batch, received_at, copy=True
                )
                if also is not None:
                    also(conn, result)
                return result
        except CopyConflict:
            pass  # rolled back: store it again row by row, skipping what is there
    with storage_errors(engine, "store batch"), engine.begin() as conn:
        result = write_batch(conn, cols, labels_batch, dead_letters_batch, received_at)
        if also is not None:
            also(conn, result)
        return result


def write_batch(
    conn: Connection,
    predictions_batch: Predictions,
    labels_batch: Sequence[Label],
    dead_letters_batch: Sequence[DeadLetter],
    received_at: datetime,
    *,
    copy: bool = False,
) -> StoreResult:
    """`store_batch` inside the caller's transaction (dead-letter replay deletes the replayed
    rows in the same one). `copy`: predictions by COPY, raising CopyConflict (the caller
    must roll back) when one is already stored."""
    unique_labels = newest_labels(labels_batch)
    predictions_batch = PredictionColumns.of(predictions_batch)
    if conn.dialect.name == "postgresql":
        if copy:
            n_pred = copy_predictions(conn, predictions_batch, received_at)
        else:
            n_pred = _pg_predictions(conn, predictions_batch, received_at)
        n_lab = _pg_labels(conn, unique_labels, received_at)
        n_dead = _pg_dead_letters(conn, dead_letters_batch)
    else:
        n_pred = _sqlite_predictions(conn, predictions_batch, received_at)
        n_lab = _sqlite_labels(conn, unique_labels, received_at)
        n_dead = _sqlite_dead_letters(conn, dead_letters_batch)
    total = len(predictions_batch) + len(labels_batch) + len(dead_letters_batch)
    return StoreResult(n_pred, n_lab, n_dead, total - n_pred - n_lab - n_dead)


_PG_PREDICTIONS = """
INSERT INTO predictions (model, event_id, ts, model_version, received_at, features,
                         prediction, prediction_proba, segment)
SELECT m, e, t, v, %(received_at)b, f::json, p::json, pp::json, s::json
FROM unnest(%(m)b::text[], %(e)b::text[], %(t)b::timestamptz[], %(v)b::text[],
            %(f)b::text[], %(p)b::text[], %(pp)b::text[], %(s)b::text[])
     AS u(m, e, t, v, f, p, pp, s)
ON CONFLICT DO NOTHING
"""

_PG_LABELS = """
INSERT INTO labels (model, event_id, label, ts, received_at)
SELECT m, e, l::json, t, %(received_at)b
FROM unnest(%(m)b::text[], %(e)b::text[], %(l)b::text[], %(t)b::timestamptz[]) AS u(m, e, l, t)
ON CONFLICT (model, event_id) DO UPDATE
SET label = EXCLUDED.label, ts = EXCLUDED.ts, received_at = EXCLUDED.received_at
WHERE labels.ts < EXCLUDED.ts
"""

_PG_DEAD_LETTERS = """
INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, reason, detail, raw, received_at)
SELECT * FROM unnest(%(topic)b::text[], %(part)b::int[], %(off)b::bigint[], %(reason)b::text[],
                     %(detail)b::text[], %(raw)b::bytea[], %(at)b::timestamptz[])
ON CONFLICT DO NOTHING
"""


def _pg_predictions(conn: Connection, batch: PredictionColumns, at: datetime) -> int:
    if not batch:
        return 0
    f, p, pp, s = json_columns(batch)
    params = {
        "received_at": at,
        "m": batch.model,
        "e": batch.event_id,
        "t": batch.ts,
        "v": batch.model_version,
        "f": f,
        "p": p,
        "pp": pp,
        "s": s,
    }
    return conn.exec_driver_sql(_PG_PREDICTIONS, params).rowcount


def _pg_labels(conn: Connection, batch: Sequence[Label], at: datetime) -> int:
    if not batch:
        return 0
    params = {
        "received_at": at,
        "m": [x.model for x in batch],
        "e": [x.event_id for x in batch],
        "l": [orjson.dumps(x.label).decode() for x in batch],
        "t": [x.ts for x in batch],
    }
    return conn.exec_driver_sql(_PG_LABELS, params).rowcount


def _pg_dead_letters(conn: Connection, batch: Sequence[DeadLetter]) -> int:
    if not batch:
        return 0
    params = {
        "topic": [d.topic for d in batch],
        "part": [d.partition for d in batch],
        "off": [d.offset for d in batch],
        "reason": [d.reason for d in batch],
        "detail": [d.detail.replace("\x00", "\\x00") for d in batch],
        "raw": [bytes(d.raw) for d in batch],
        "at": [d.received_at for d in batch],
    }
    return conn.exec_driver_sql(_PG_DEAD_LETTERS, params).rowcount


def _changes(conn: Connection) -> int:
    return conn.exec_driver_sql("SELECT total_changes()").scalar_one()


def _sqlite_predictions(conn: Connection, batch: PredictionColumns, at: datetime) -> int:
    if not batch:
        return 0
    rows = [
        {
            "model": p.model,
            "event_id": p.event_id,
            "ts": p.ts,
            "model_version": p.model_version,
            "received_at": at,
            "features": p.features,
            "prediction": p.prediction,
            "prediction_proba": p.prediction_proba,
            "segment": p.segment,
        }
        for p in batch
    ]
    before = _changes(conn)
    conn.execute(sqlite_insert(predictions).on_conflict_do_nothing(), rows)
    return _changes(conn) - before


def _sqlite_labels(conn: Connection, batch: Sequence[Label], at: datetime) -> int:
    if not batch:
        return 0
    stmt = sqlite_insert(labels)
    stmt = stmt.on_conflict_do_update(
        index_elements=["model", "event_id"],
        set_={"label": stmt.excluded.label, "ts": stmt.excluded.ts, "received_at": at},
        where=labels.c.ts < stmt.excluded.ts,
    )
    rows = [
        {"model": x.model, "event_id": x.event_id, "label": x.label, "ts": x.ts, "received_at": at}
        for x in batch
    ]
    before = _changes(conn)
    conn.execute(stmt, rows)
    return _changes(conn) - before


def _sqlite_dead_letters(conn: Connection, batch: Sequence[DeadLetter]) -> int:
    if not batch:
        return 0
    rows = [
        {
            "topic": d.topic,
            "kafka_partition": d.partition,
            "kafka_offset": d.offset,
            "reason": d.reason,
            "detail": d.detail,
            "raw": bytes(d.raw),
            "received_at": d.received_at,
        }
        for d in batch
    ]
    before = _changes(conn)
    conn.execute(sqlite_insert(dead_letters).on_conflict_do_nothing(), rows)
    return _changes(conn) - before


__all__ = ["StoreResult", "newest_labels", "store_batch", "write_batch"]
