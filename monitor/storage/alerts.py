"""Alerts in storage: open episodes of a monitor, their writes and history, the list and detail
read by the CLI and the API, acknowledgements.

One alert row per episode (closed rows, `resolved_at` set, are history); `alert_events` holds
state changes and acknowledgements (state "acknowledged"). Writes take the caller's
connection: the scheduler stores a run and its alert changes in one transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from monitor.lifecycle import Alert, AlertEvent
from monitor.storage.db import storage_errors
from monitor.storage.tables import alert_events, alerts, notifications

a, e, n = alerts.c, alert_events.c, notifications.c
DELIVERY_COLUMNS = (
    n.delivery_id,
    n.channel,
    n.route,
    n.event,
    n.status,
    n.attempts,
    n.last_error,
    n.created_at,
    n.next_attempt_at,
    n.delivered_at,
    n.external_id,
    n.answer,
)


@dataclass(frozen=True)
class AlertWrite:
    """What a run stores on an alert row. `last_seen_at`/`resolved_at` None: left as is."""

    state: str
    severity: str
    consecutive: int
    last_run_id: int | None
    details: Any
    fired_at: datetime | None
    last_notified_at: datetime | None
    last_seen_at: datetime | None = None
    resolved_at: datetime | None = None

    def values(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("last_seen_at", "resolved_at"):
            if out[key] is None:
                del out[key]
        return out


@dataclass(frozen=True)
class AlertList:
    """One page of alerts, newest first, with the newest acknowledgement of each."""

    alerts: list[Alert]
    acknowledged: dict[int, datetime]
    more: bool  # rows beyond `limit` match the filters

    def rows(self) -> list[dict[str, Any]]:
        """The alerts as JSON rows (the API's and the dashboard's shape): the columns, then
        `acknowledged_at`."""
        return [{**asdict(a), "acknowledged_at": self.acknowledged.get(a.id)} for a in self.alerts]


def open_alerts(conn: Connection, monitor: str) -> dict[str, Alert]:
    """The monitor's open (pending or firing) alerts by fingerprint."""
    stmt = select(alerts).where(a.monitor == monitor, a.resolved_at.is_(None))
    return {r["fingerprint"]: Alert(**r) for r in conn.execute(stmt).mappings()}


def insert_alert(
    conn: Connection,
    *,
    fingerprint: str,
    monitor: str,
    rule: str,
    subject: str,
    created_at: datetime,
    write: AlertWrite,
) -> int:
    """A new episode's row; its id."""
    stmt = insert(alerts).values(
        fingerprint=fingerprint,
        monitor=monitor,
        rule=rule,
        subject=subject,
        created_at=created_at,
        **write.values(),
    )
    key = conn.execute(stmt).inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


def update_alert(conn: Connection, alert_id: int, write: AlertWrite) -> None:
    conn.execute(update(alerts).where(a.id == alert_id).values(**write.values()))


def add_alert_event(
    conn: Connection,
    alert_id: int,
    state: str,
    at: datetime,
    run_id: int | None,
    detail: dict[str, Any],
) -> None:
    """One entry of the alert's history."""
    conn.execute(
        insert(alert_events).values(
            alert_id=alert_id, state=state, at=at, run_id=run_id, detail=detail
        )
    )


def list_alerts(
    engine: Engine,
    *,
    monitor: str | None = None,
    state: str | None = None,
    severity: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> AlertList:
    """Alerts newest first (by id), below `before_id` when given (keyset pages).
    `state`: pending, firing, resolved, or "open" (pending or firing)."""
    stmt = select(alerts)
    if monitor is not None:
        stmt = stmt.where(a.monitor == monitor)
    if state == "open":
        stmt = stmt.where(a.resolved_at.is_(None))
    elif state is not None:
        stmt = stmt.where(a.state == state)
    if severity is not None:
        stmt = stmt.where(a.severity == severity)
    if before_id is not None:
        stmt = stmt.where(a.id < before_id)
    stmt = stmt.order_by(a.id.desc()).limit(limit + 1)
    with storage_errors(engine, "list alerts"), engine.connect() as conn:
        rows = [Alert(**m) for m in conn.execute(stmt).mappings()]
        acked = _acknowledged(conn, [row.id for row in rows[:limit]])
    return AlertList(rows[:limit], acked, len(rows) > limit)


def _acknowledged(conn: Connection, ids: list[int]) -> dict[int, datetime]:
    """Newest acknowledgement per alert (alert_events rows with state 'acknowledged')."""
    if not ids:
        return {}
    stmt = (
        select(e.alert_id, func.max(e.at))
        .where(e.alert_id.in_(ids), e.state == "acknowledged")
        .group_by(e.alert_id)
    )
    return {int(alert_id): at for alert_id, at in conn.execute(stmt)}


def alert_history(engine: Engine, alert_id: int) -> list[AlertEvent]:
    """An alert's state transitions and acknowledgements, oldest first."""
    stmt = select(alert_events).where(e.alert_id == alert_id).order_by(e.at, e.id)
    with storage_errors(engine, "alert history"), engine.connect() as conn:
        return [AlertEvent(**m) for m in conn.execute(stmt).mappings()]


def alert_detail(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    """The alert's columns, `acknowledged_at`, `history` (oldest first) and `deliveries`
    (every outbox row of it, oldest first); None when there is no such alert."""
    with storage_errors(engine, "load alert"), engine.connect() as conn:
        row = conn.execute(select(alerts).where(a.id == alert_id)).mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["acknowledged_at"] = _acknowledged(conn, [alert_id]).get(alert_id)
        history = (
            select(e.id, e.state, e.at, e.run_id, e.detail)
            .where(e.alert_id == alert_id)
            .order_by(e.at, e.id)
        )
        out["history"] = [dict(m) for m in conn.execute(history).mappings()]
        deliveries = (
            select(*DELIVERY_COLUMNS).where(n.alert_id == alert_id).order_by(n.created_at, n.id)
        )
        out["deliveries"] = [dict(m) for m in conn.execute(deliveries).mappings()]
    return out


def acknowledge(
    engine: Engine, alert_id: int, now: datetime, by: str | None, comment: str | None
) -> str | None:
    """Record an acknowledgement of an open alert as an alert_events row. Returns the alert's
    state (a resolved alert is returned unchanged, nothing stored); None when absent."""
    with storage_errors(engine, "acknowledge alert"), engine.begin() as conn:
        state = conn.execute(select(a.state).where(a.id == alert_id)).scalar()
        if state is None or state == "resolved":
            return state
        detail = {"by": by, "comment": comment, "state": state}
        add_alert_event(conn, alert_id, "acknowledged", now, None, detail)
    return str(state)
