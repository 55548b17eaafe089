"""Per-bucket sketch deltas: appended by ingestion, merged by runs, compacted when closed.

Rows are append-only deltas keyed by (reference version, feature, bucket start): concurrent
consumers never update the same row, and a delta is written only for events the batch really
inserted, so a redelivered batch adds nothing. A window's sketch is the merge of its buckets'
deltas; `sketched_rows` lets a run check the deltas cover every stored event of the window
(and rebuild the window from raw events when they do not).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, delete, func, insert, select

from monitor.drift.sketch import Sketch, from_bytes, merge_all, to_bytes
from monitor.storage.bulk import copy_sketch_rows
from monitor.storage.db import storage_errors
from monitor.storage.tables import feature_sketches

fs = feature_sketches.c


class DeltaRow(NamedTuple):
    """A delta as stored: the sketch already serialised (ingestion builds these in bulk)."""

    monitor: str
    reference_id: int
    feature: str
    bucket_start: datetime
    row_count: int
    sketch: bytes


@dataclass(frozen=True)
class Delta:
    monitor: str
    reference_id: int
    feature: str
    bucket_start: datetime
    row_count: int
    sketch: Sketch

    def row(self) -> DeltaRow:
        return DeltaRow(
            self.monitor,
            self.reference_id,
            self.feature,
            self.bucket_start,
            self.row_count,
            to_bytes(self.sketch),
        )


def write_delta_rows(conn: Connection, rows: list[DeltaRow], now: datetime | None = None) -> int:
    """Insert serialised deltas in the caller's transaction: COPY on Postgres."""
    now = now or datetime.now(UTC)
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        copy_sketch_rows(conn, ((*r, False, now) for r in rows))
    else:
        conn.execute(
            insert(feature_sketches),
            [r._asdict() | {"compacted": False, "created_at": now} for r in rows],
        )
    return len(rows)


def append(conn: Connection, deltas: Iterable[Delta], now: datetime | None = None) -> int:
    """Insert deltas in the caller's transaction; returns how many rows were written."""
    now = now or datetime.now(UTC)
    rows = [
        {
            "monitor": d.monitor,
            "reference_id": d.reference_id,
            "feature": d.feature,
            "bucket_start": d.bucket_start,
            "row_count": d.row_count,
            "sketch": to_bytes(d.sketch),
            "compacted": False,
            "created_at": now,
        }
        for d in deltas
    ]
    if rows:
        conn.execute(insert(feature_sketches), rows)
    return len(rows)


def append_deltas(engine: Engine, deltas: list[Delta]) -> int:
    with storage_errors(engine, "store sketches"), engine.begin() as conn:
        return append(conn, deltas)


def sketched_rows(engine: Engine, reference_id: int, start: datetime, end: datetime) -> int:
    """Events covered by the window's deltas (per feature; every feature sees every event)."""
    per_feature = (
        select(func.sum(fs.row_count).label("n"))
        .where(fs.reference_id == reference_id, fs.bucket_start >= start, fs.bucket_start < end)
        .group_by(fs.feature)
        .subquery()
    )
    with storage_errors(engine, "count sketched rows"), engine.connect() as conn:
        return int(conn.execute(select(func.max(per_feature.c.n))).scalar_one() or 0)


def window_sketches(
    engine: Engine, reference_id: int, start: datetime, end: datetime
) -> dict[str, Sketch]:
    """Each feature's merged sketch over the buckets in [start, end)."""
    stmt = select(fs.feature, fs.sketch).where(
        fs.reference_id == reference_id, fs.bucket_start >= start, fs.bucket_start < end
    )
    parts: dict[str, list[Sketch]] = defaultdict(list)
    with storage_errors(engine, "load sketches"), engine.connect() as conn:
        for feature, blob in conn.execute(stmt):
            parts[feature].append(from_bytes(blob))
    return {name: merge_all(items) for name, items in parts.items()}


def replace_window(
    engine: Engine,
    reference_id: int,
    start: datetime,
    end: datetime,
    deltas: Iterable[Delta],
) -> int:
    """Swap a window's deltas for ones rebuilt from raw events, in one transaction."""
    with storage_errors(engine, "rebuild sketches"), engine.begin() as conn:
        conn.execute(
            delete(feature_sketches).where(
                fs.reference_id == reference_id, fs.bucket_start >= start, fs.bucket_start < end
            )
        )
        return append(conn, deltas)


def compact(engine: Engine, reference_id: int, before: datetime) -> int:
    """Merge the deltas of each closed bucket (start < before) into one row; returns rows
    removed. Safe beside ingestion: late deltas for a compacted bucket are simply added."""
    stmt = (
        select(fs.id, fs.monitor, fs.feature, fs.bucket_start, fs.row_count, fs.sketch)
        .where(fs.reference_id == reference_id, fs.bucket_start < before)
        .where(
            fs.bucket_start.in_(
                select(fs.bucket_start)
                .where(fs.reference_id == reference_id, fs.bucket_start < before)
                .group_by(fs.bucket_start, fs.feature)
                .having(func.count() > 1)
            )
        )
    )
    removed = 0
    with storage_errors(engine, "compact sketches"), engine.begin() as conn:
        groups: dict[tuple[str, datetime], list] = defaultdict(list)
        for row in conn.execute(stmt):
            groups[(row.feature, row.bucket_start)].append(row)
        merged: list[Delta] = []
        ids: list[int] = []
        for (feature, bucket), rows in groups.items():
            if len(rows) < 2:
                continue
            ids.extend(r.id for r in rows)
            merged.append(
                Delta(
                    rows[0].monitor,
                    reference_id,
                    feature,
                    bucket,
                    sum(r.row_count for r in rows),
                    merge_all(from_bytes(r.sketch) for r in rows),
                )
            )
        for chunk in range(0, len(ids), 5000):
            conn.execute(delete(feature_sketches).where(fs.id.in_(ids[chunk : chunk + 5000])))
        append(conn, merged)
        conn.execute(
            feature_sketches.update()
            .where(fs.reference_id == reference_id, fs.bucket_start < before)
            .values(compacted=True)
        )
        removed = len(ids) - len(merged)
    return removed


def bucket_counts(engine: Engine, reference_id: int) -> Mapping[str, int]:
    """Rows per feature (diagnostics and tests)."""
    stmt = (
        select(fs.feature, func.count()).where(fs.reference_id == reference_id).group_by(fs.feature)
    )
    with storage_errors(engine, "count sketches"), engine.connect() as conn:
        return {f: n for f, n in conn.execute(stmt)}
