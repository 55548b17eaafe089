"""Store and read performance runs: one row per window and revision.

History is kept: the first computation of a window is revision 1; recomputing after late
labels changed what the window holds (prediction count, labelled count, or the newest label
write, which also moves when a label is replaced by a newer one) inserts revision n+1 and
keeps the earlier rows, so the run history says both what was known at the time and what the
revision says. An unchanged recomputation stores nothing. Two schedulers storing the same
revision at once: the unique key lets one win, the other returns its row. The result and row
types are pure: `performance/result.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy.exc as sa_exc
from sqlalchemy import Connection, Engine, and_, func, insert, select

from monitor.jsonsafe import json_safe
from monitor.performance.result import PerformanceResult, StoredRun
from monitor.storage.db import storage_errors
from monitor.storage.tables import performance_runs


def _stored(row: Any, created: bool = False) -> StoredRun:
    return StoredRun(
        row.id,
        row.monitor,
        row.window_start,
        row.window_end,
        row.revision,
        row.status,
        row.predictions,
        row.labelled,
        row.metrics,
        row.segments,
        row.computed_at,
        created,
    )


def _latest_revision(conn: Connection, monitor: str, start: datetime, end: datetime) -> Any:
    t = performance_runs
    return conn.execute(
        select(t)
        .where(t.c.monitor == monitor, t.c.window_start == start, t.c.window_end == end)
        .order_by(t.c.revision.desc())
        .limit(1)
    ).first()


def _unchanged(row: Any, result: PerformanceResult, doc: Mapping[str, Any]) -> bool:
    before = (row.metrics or {}).get("labels_received_max")
    return (
        row.predictions == result.predictions
        and row.labelled == result.labelled
        and before == doc["labels_received_max"]
    )


def store_window(
    engine: Engine, monitor_name: str, result: PerformanceResult, now: datetime
) -> StoredRun:
    """Store `result` as the window's next revision unless nothing changed (module doc)."""
    doc = json_safe(result.metrics_doc())
    segs = json_safe(result.segments_doc())
    start, end = result.window_start, result.window_end
    with storage_errors(engine, "store performance run"):
        try:
            with engine.begin() as conn:
                prev = _latest_revision(conn, monitor_name, start, end)
                if prev is not None and _unchanged(prev, result, doc):
                    return _stored(prev)
                revision = 1 if prev is None else prev.revision + 1
                new_id = conn.execute(
                    insert(performance_runs)
                    .values(
                        monitor=monitor_name,
                        window_start=start,
                        window_end=end,
                        revision=revision,
                        status=result.status,
                        predictions=result.predictions,
                        labelled=result.labelled,
                        metrics=doc,
                        segments=segs,
                        computed_at=now,
                    )
                    .returning(performance_runs.c.id)
                ).scalar_one()
                row = conn.execute(
                    select(performance_runs).where(performance_runs.c.id == new_id)
                ).one()
                return _stored(row, created=True)
        except sa_exc.IntegrityError:
            with engine.connect() as conn:  # a concurrent writer stored this revision
                row = _latest_revision(conn, monitor_name, start, end)
            if row is None:
                raise
            return _stored(row)


def run_history(
    engine: Engine, monitor_name: str, start: datetime, end: datetime
) -> list[StoredRun]:
    """Every revision of one window, oldest first."""
    t = performance_runs
    with storage_errors(engine, "read performance runs"), engine.connect() as conn:
        rows = conn.execute(
            select(t)
            .where(t.c.monitor == monitor_name, t.c.window_start == start, t.c.window_end == end)
            .order_by(t.c.revision)
        ).all()
    return [_stored(r) for r in rows]


def latest_runs(engine: Engine, monitor_name: str, *, limit: int = 50) -> list[StoredRun]:
    """The newest revision of each of the monitor's last `limit` windows, newest window
    first (what alert rules over N consecutive windows and reports read)."""
    t = performance_runs
    newest = (
        select(t.c.window_start, t.c.window_end, func.max(t.c.revision).label("revision"))
        .where(t.c.monitor == monitor_name)
        .group_by(t.c.window_start, t.c.window_end)
        .subquery()
    )
    stmt = (
        select(t)
        .join(
            newest,
            and_(
                t.c.window_start == newest.c.window_start,
                t.c.window_end == newest.c.window_end,
                t.c.revision == newest.c.revision,
            ),
        )
        .where(t.c.monitor == monitor_name)
        .order_by(t.c.window_end.desc(), t.c.window_start.desc())
        .limit(limit)
    )
    with storage_errors(engine, "read performance runs"), engine.connect() as conn:
        return [_stored(r) for r in conn.execute(stmt).all()]


def last_evaluated(engine: Engine, monitor_name: str) -> datetime | None:
    """When the monitor's newest performance run was computed (None: never)."""
    stmt = select(func.max(performance_runs.c.computed_at)).where(
        performance_runs.c.monitor == monitor_name
    )
    with storage_errors(engine, "find last performance run"), engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def window_evaluated(engine: Engine, monitor_name: str, start: datetime, end: datetime) -> bool:
    """Whether any revision of the window [start, end) is stored."""
    t = performance_runs.c
    stmt = select(t.id).where(
        t.monitor == monitor_name, t.window_start == start, t.window_end == end
    )
    with storage_errors(engine, "find performance run"), engine.connect() as conn:
        return conn.execute(stmt.limit(1)).first() is not None


__all__ = ["last_evaluated", "latest_runs", "run_history", "store_window", "window_evaluated"]
