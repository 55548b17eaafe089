"""The outbox in storage: notification rows written with alert changes, claimed, settled.

Rows are written in the caller's transaction (the alert change and its notifications commit
together). Delivery claims due rows with a lease (`FOR UPDATE SKIP LOCKED` on Postgres, one
atomic UPDATE on SQLite) and records each outcome fenced by the claimed `attempts` value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, func, insert, select, update

from monitor.storage.db import storage_errors
from monitor.storage.tables import alerts as A
from monitor.storage.tables import notifications as N

SENT = ("pending", "delivered", "failed")  # rows that went (or go) to the receiver


@dataclass(frozen=True)
class NewNotification:
    """One outbox row to write: `status` pending, or suppressed with the reason."""

    delivery_id: str
    alert_id: int | None
    channel: str
    route: str
    event: str
    payload: dict[str, Any]
    status: str
    created_at: datetime
    fingerprint: str | None
    severity: str | None
    last_error: str | None = None


@dataclass(frozen=True)
class Claimed:
    """A due row leased to this caller."""

    id: int
    delivery_id: str
    channel: str
    route: str
    event: str
    payload: dict[str, Any]
    attempts: int  # after the claim's increment: the fencing token
    created_at: datetime
    fingerprint: str | None


@dataclass(frozen=True)
class SentBefore:
    """The newest detected/repeated notification a route was sent for a fingerprint."""

    event: str
    created_at: datetime
    alert_id: int | None


def add_notification(conn: Connection, row: NewNotification) -> None:
    """Write one outbox row, due at its creation time."""
    conn.execute(
        insert(N).values(
            delivery_id=row.delivery_id,
            alert_id=row.alert_id,
            channel=row.channel,
            route=row.route,
            event=row.event,
            payload=row.payload,
            status=row.status,
            attempts=0,
            next_attempt_at=row.created_at,
            created_at=row.created_at,
            fingerprint=row.fingerprint,
            severity=row.severity,
            last_error=row.last_error,
        )
    )


def announced(conn: Connection, route: str, alert_id: int) -> bool:
    """Was `route` sent a detected/repeated notification of this alert (episode)?"""
    n = N.c
    stmt = select(
        exists().where(
            n.route == route,
            n.alert_id == alert_id,
            n.status.in_(SENT),
            n.event.not_like("%.resolved"),
        )
    )
    return bool(conn.execute(stmt).scalar())


def last_sent(conn: Connection, route: str, fingerprint: str, since: datetime) -> SentBefore | None:
    """The newest detected/repeated notification `route` was sent for `fingerprint` after
    `since`, if any."""
    n = N.c
    stmt = (
        select(n.event, n.created_at, n.alert_id)
        .where(
            n.route == route,
            n.fingerprint == fingerprint,
            n.created_at > since,
            n.status.in_(SENT),
            n.event.not_like("%.resolved"),
        )
        .order_by(n.created_at.desc(), n.id.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return SentBefore(row[0], row[1], row[2]) if row is not None else None


def claim(engine: Engine, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Lease up to `limit` due pending rows (oldest due first) to this caller."""
    due = (
        select(N.c.id)
        .where(N.c.status == "pending", N.c.next_attempt_at <= now)
        .order_by(N.c.next_attempt_at, N.c.id)
        .limit(limit)
    )
    stmt = update(N).values(next_attempt_at=now + lease, attempts=N.c.attempts + 1)
    if engine.dialect.name == "postgresql":
        # A MATERIALIZED CTE runs the locking SELECT exactly once. As `id IN (subquery)` it
        # is not guaranteed to (the outer scan waits on rows another claimer locked and then
        # re-evaluates): one claimer took all 10 rows with batch_size 2 and the other none in
        # test_two_concurrent_claimers_never_send_a_row_twice.
        locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        stmt = stmt.where(N.c.id == locked.c.id)
    else:  # SQLite: one UPDATE statement is atomic (the database has one writer)
        stmt = stmt.where(N.c.id.in_(due.scalar_subquery()))
    stmt = stmt.where(N.c.status == "pending", N.c.next_attempt_at <= now).returning(
        N.c.id,
        N.c.delivery_id,
        N.c.channel,
        N.c.route,
        N.c.event,
        N.c.payload,
        N.c.attempts,
        N.c.created_at,
        N.c.fingerprint,
    )
    with storage_errors(engine, "claim notifications"), engine.begin() as conn:
        rows = [Claimed(**r._mapping) for r in conn.execute(stmt)]
    rows.sort(key=lambda r: r.id)  # RETURNING order is unspecified; creation order is fair
    return rows


def thread_id(engine: Engine, row: Claimed) -> str | None:
    """external_id of the latest delivered firing/repeat message of the same alert and route
    (what a resolution follows up); None for other events."""
    if not row.event.endswith(".resolved") or not row.fingerprint:
        return None
    stmt = (
        select(N.c.external_id)
        .where(
            N.c.route == row.route,
            N.c.fingerprint == row.fingerprint,
            N.c.status == "delivered",
            N.c.external_id.is_not(None),
            N.c.id != row.id,
            N.c.created_at <= row.created_at,
            ~N.c.event.like("%.resolved"),
        )
        .order_by(N.c.created_at.desc(), N.c.id.desc())
        .limit(1)
    )
    with storage_errors(engine, "find thread"), engine.connect() as conn:
        return conn.execute(stmt).scalar()


def record(engine: Engine, row: Claimed, **values: Any) -> bool:
    """Write an outcome (column values) if this caller still holds the row's claim."""
    stmt = (
        update(N)
        .where(and_(N.c.id == row.id, N.c.attempts == row.attempts, N.c.status == "pending"))
        .values(**values)
    )
    with storage_errors(engine, "record delivery"), engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def outbox_counts(engine: Engine) -> dict[str, int]:
    """Rows per status ('pending', 'delivered', 'failed'): for health checks and the CLI."""
    stmt = select(N.c.status, func.count()).group_by(N.c.status)
    with storage_errors(engine, "count notifications"), engine.connect() as conn:
        return {status: int(n) for status, n in conn.execute(stmt)}


# --- keeping Alertmanager's firing alerts alive (monitor.notify.alertmanager) --------------


def firing_to_resend(
    conn: Connection, route: str, cutoff: datetime
) -> list[tuple[int, str, str, dict[str, Any]]]:
    """(alert_id, fingerprint, severity, payload) of each firing alert whose newest row on
    `route` was sent (not pending, not suppressed), is not a resolution, and is older than
    `cutoff`."""
    n2 = N.alias("newest")
    newest_id = (
        select(func.max(n2.c.id))
        .where(n2.c.route == route, n2.c.fingerprint == A.c.fingerprint, n2.c.alert_id == A.c.id)
        .scalar_subquery()
    )
    stmt = (
        select(N.c.alert_id, N.c.fingerprint, N.c.severity, N.c.payload)
        .select_from(A.join(N, N.c.id == newest_id))
        .where(
            A.c.state == "firing",
            A.c.resolved_at.is_(None),
            N.c.status.not_in(("pending", "suppressed")),
            ~N.c.event.like("%.resolved"),
            N.c.created_at <= cutoff,
        )
        .order_by(A.c.id)
    )
    return [(int(r[0]), r[1], r[2], r[3]) for r in conn.execute(stmt).all()]


def hold_resolutions(conn: Connection, channel: str) -> None:
    """A pending resolution on `channel` is not due before an older pending firing row of its
    alert on the same route."""
    older = N.alias("older")
    firing_due = (
        select(func.max(older.c.next_attempt_at))
        .where(
            older.c.route == N.c.route,
            older.c.fingerprint == N.c.fingerprint,
            older.c.status == "pending",
            older.c.id < N.c.id,
            ~older.c.event.like("%.resolved"),
        )
        .scalar_subquery()
    )
    conn.execute(
        update(N)
        .where(
            N.c.channel == channel,
            N.c.status == "pending",
            N.c.event.like("%.resolved"),
            firing_due > N.c.next_attempt_at,
        )
        .values(next_attempt_at=firing_due)
    )
