"""Retention of raw events, and the Postgres daily partitions that make it cheap.

Policy: raw events (predictions, labels, dead letters) older than `ingest.retention_days`
are deleted by `monitor db retention` (run it from cron, or let the service run `maintain`
periodically). Age is the event timestamp for predictions and labels and the receipt time for
dead letters. Derived data (sketches, runs, alerts, notifications) is not raw and is kept.

Postgres: `predictions` is range-partitioned by `ts` into one partition per UTC day, named
`predictions_pYYYYMMDD`, plus `predictions_default` for anything outside them (backfills older
than the first partition, clock-skewed future events). `ensure_partitions` creates the days
from yesterday to a week ahead; if the DEFAULT partition already holds rows for a day being
created, they are moved into it in the same transaction. Retention drops every daily partition
that ends at or before the cutoff (no row-by-row delete, no bloat), then deletes the remainder
(the cutoff day and the DEFAULT partition) row by row. SQLite: plain deletes.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Engine, delete, text

from monitor.storage.db import storage_errors
from monitor.storage.tables import dead_letters, labels, predictions

log = logging.getLogger("monitor.storage.retention")

_PARTITION = re.compile(r"^predictions_p(\d{8})$")
DAYS_AHEAD = 7
DAYS_BEHIND = 1


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Events with a timestamp before this are past retention."""
    return now.astimezone(UTC) - timedelta(days=retention_days)


def partition_name(day: date) -> str:
    return f"predictions_p{day:%Y%m%d}"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _existing_partitions(conn: Connection) -> dict[date, str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'predictions'::regclass"
        )
    ).scalars()
    out: dict[date, str] = {}
    for name in rows:
        m = _PARTITION.match(name)
        if m:
            out[datetime.strptime(m.group(1), "%Y%m%d").date()] = name
    return out


def _create_partition(conn: Connection, day: date) -> bool:
    """Create one day's partition, moving any rows for that day out of DEFAULT first.
    Names and bounds are generated here from a date, never from event data. Returns False
    when another process created it first."""
    name = partition_name(day)
    lo, hi = _day_start(day).isoformat(), _day_start(day + timedelta(days=1)).isoformat()
    conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('monitor.partitions'))")
    if conn.exec_driver_sql(f"SELECT to_regclass('{name}')").scalar() is not None:
        return False
    conn.exec_driver_sql("LOCK TABLE predictions IN SHARE UPDATE EXCLUSIVE MODE")
    conn.exec_driver_sql("LOCK TABLE predictions_default IN SHARE ROW EXCLUSIVE MODE")
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE predictions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    moved = conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM predictions_default WHERE ts >= '{lo}' AND ts < '{hi}' "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
    ).rowcount
    conn.exec_driver_sql(
        f"ALTER TABLE predictions ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')"
    )
    log.info("partition_created", extra={"partition": name, "moved_from_default": moved})
    return True


def ensure_partitions(
    engine: Engine,
    now: datetime | None = None,
    days_ahead: int = DAYS_AHEAD,
    days_behind: int = DAYS_BEHIND,
) -> list[str]:
    """Create the missing daily partitions around `now` (Postgres only). Returns their names."""
    if engine.dialect.name != "postgresql":
        return []
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    wanted = [today + timedelta(days=d) for d in range(-days_behind, days_ahead + 1)]
    created: list[str] = []
    with storage_errors(engine, "create partitions"):
        with engine.connect() as conn:
            existing = _existing_partitions(conn)
        for day in wanted:
            if day in existing:
                continue
            with engine.begin() as conn:  # one short transaction per day
                if _create_partition(conn, day):
                    created.append(partition_name(day))
    return created


def _drop_old_partitions(conn: Connection, cutoff: datetime) -> int:
    dropped = 0
    for day, name in sorted(_existing_partitions(conn).items()):
        if _day_start(day + timedelta(days=1)) > cutoff:
            continue
        rows = conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
        conn.exec_driver_sql(f"DROP TABLE {name}")
        log.info("partition_dropped", extra={"partition": name, "rows": rows})
        dropped += rows
    return dropped


def delete_raw_events_before(engine: Engine, cutoff: datetime) -> int:
    """Delete raw events older than `cutoff` (aware datetime); returns the rows removed."""
    if cutoff.tzinfo is None:
        raise ValueError("cutoff must be timezone-aware")
    with storage_errors(engine, "retention"), engine.begin() as conn:
        removed = 0
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            removed += _drop_old_partitions(conn, cutoff)
        removed += conn.execute(delete(predictions).where(predictions.c.ts < cutoff)).rowcount
        removed += conn.execute(delete(labels).where(labels.c.ts < cutoff)).rowcount
        removed += conn.execute(
            delete(dead_letters).where(dead_letters.c.received_at < cutoff)
        ).rowcount
    log.info("retention_done", extra={"cutoff": cutoff.isoformat(), "rows_removed": removed})
    return removed


def maintain(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """The periodic job: create upcoming partitions, then enforce retention."""
    now = now or datetime.now(UTC)
    ensure_partitions(engine, now)
    return delete_raw_events_before(engine, retention_cutoff(now, retention_days))
