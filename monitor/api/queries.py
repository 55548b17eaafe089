"""The API's page cursors, and (until they move into storage) the alert and dead-letter reads.

Pages are keyset pages: newest first, and the cursor is the (sort key, id) of the last row
returned, so a page never repeats or skips a row when new runs arrive between requests. The
cursor is opaque to clients: URL-safe base64 of a JSON list, checked when it comes back.
Run reads live in monitor.storage.run_reads.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, select

from monitor.errors import InputError
from monitor.storage.db import storage_errors
from monitor.storage.tables import (
    alert_events,
    alerts,
    dead_letters,
    notifications,
)

# --- cursors -------------------------------------------------------------------------------


def encode_cursor(*parts: Any) -> str:
    """An opaque cursor holding `parts` (JSON values)."""
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    """The parts of a cursor we issued; InputError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = orjson.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError
        out: list[Any] = []
        for kind, part in zip(kinds, parts, strict=True):
            if kind is datetime:
                when = datetime.fromisoformat(part)
                if when.tzinfo is None:
                    raise ValueError
                out.append(when)
            elif kind is int and type(part) is int and 0 < part < 2**63:
                out.append(part)
            else:
                raise ValueError
        return out
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InputError("invalid cursor (pass back the next_cursor of a previous page)") from None


# --- alerts --------------------------------------------------------------------------------


def _acked(conn: Any, ids: list[int]) -> dict[int, datetime]:
    """Newest acknowledgement per alert (alert_events rows with state 'acknowledged')."""
    if not ids:
        return {}
    e = alert_events.c
    stmt = (
        select(e.alert_id, func.max(e.at))
        .where(e.alert_id.in_(ids), e.state == "acknowledged")
        .group_by(e.alert_id)
    )
    return {int(a): at for a, at in conn.execute(stmt)}


def _with_ack(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    acked = _acked(conn, [row["id"] for row in rows])
    for row in rows:
        row["acknowledged_at"] = acked.get(row["id"])
    return rows


def alerts_page(
    engine: Engine,
    *,
    state: str | None,
    monitor: str | None,
    severity: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Alerts newest first (by id). `state` "open" means pending or firing."""
    a = alerts.c
    stmt = select(alerts)
    if monitor is not None:
        stmt = stmt.where(a.monitor == monitor)
    if state == "open":
        stmt = stmt.where(a.resolved_at.is_(None))
    elif state is not None:
        stmt = stmt.where(a.state == state)
    if severity is not None:
        stmt = stmt.where(a.severity == severity)
    if cursor is not None:
        (last_id,) = decode_cursor(cursor, (int,))
        stmt = stmt.where(a.id < last_id)
    stmt = stmt.order_by(a.id.desc()).limit(limit + 1)
    with storage_errors(engine, "list alerts"), engine.connect() as conn:
        rows = [dict(m) for m in conn.execute(stmt).mappings()]
        more = len(rows) > limit
        rows = _with_ack(conn, rows[:limit])
    return rows, encode_cursor(rows[-1]["id"]) if more else None


def alert_detail(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    a, e, n = alerts.c, alert_events.c, notifications.c
    with storage_errors(engine, "load alert"), engine.connect() as conn:
        row = conn.execute(select(alerts).where(a.id == alert_id)).mappings().first()
        if row is None:
            return None
        (out,) = _with_ack(conn, [dict(row)])
        out["history"] = [
            dict(m)
            for m in conn.execute(
                select(e.id, e.state, e.at, e.run_id, e.detail)
                .where(e.alert_id == alert_id)
                .order_by(e.at, e.id)
            ).mappings()
        ]
        out["deliveries"] = [
            dict(m)
            for m in conn.execute(
                select(
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
                .where(n.alert_id == alert_id)
                .order_by(n.created_at, n.id)
            ).mappings()
        ]
    return out


def acknowledge(
    engine: Engine, alert_id: int, now: datetime, by: str | None, comment: str | None
) -> str:
    """Record an acknowledgement as an alert_events row; returns the alert's state.

    InputError for a resolved alert (nothing left to acknowledge); LookupError when absent.
    """
    a = alerts.c
    with storage_errors(engine, "acknowledge alert"), engine.begin() as conn:
        state = conn.execute(select(a.state).where(a.id == alert_id)).scalar()
        if state is None:
            raise LookupError(alert_id)
        if state == "resolved":
            raise InputError(f"alert {alert_id} is resolved; there is nothing to acknowledge")
        conn.execute(
            insert(alert_events).values(
                alert_id=alert_id,
                state="acknowledged",
                at=now,
                run_id=None,
                detail={"by": by, "comment": comment, "state": state},
            )
        )
    return state


# --- dead letters --------------------------------------------------------------------------


def dead_letter_samples(engine: Engine, limit: int) -> list[dict[str, Any]]:
    d = dead_letters.c
    stmt = (
        select(
            d.id,
            d.topic,
            d.kafka_partition.label("partition"),
            d.kafka_offset.label("offset"),
            d.reason,
            d.detail,
            d.raw,
            d.received_at,
        )
        .order_by(d.id.desc())
        .limit(limit)
    )
    with storage_errors(engine, "read dead letters"), engine.connect() as conn:
        return [dict(m) for m in conn.execute(stmt).mappings()]
