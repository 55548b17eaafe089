"""Which routes get a notification, written to the outbox in the caller's transaction.

The alert state change and its outbox rows commit together (or not at all); delivery reads
the outbox later and retries, so a receiver that is down never loses or blocks an alert.

Filters per route: `min_severity`, `rules` (names), and for webhooks `conditions`, `events`
and `cooldown`. The cooldown makes "one drift episode triggers one retraining": a
detected/repeated notification is skipped when the same route already queued a
detected/repeated one for the same alert fingerprint within the cooldown. Resolved
notifications always pass it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, insert, select

from monitor.errors import ConfigError
from monitor.notify.targets.base import TargetRoute
from monitor.settings import SEVERITIES, AlertingSettings, RuleSettings, WebhookRoute
from monitor.storage.tables import notifications


def is_resolved(event: str) -> bool:
    return event.endswith(".resolved")


def enqueue(
    conn: Connection,
    *,
    payload: dict[str, Any],
    rule: RuleSettings,
    alerting: AlertingSettings,
    now: datetime,
) -> list[str]:
    """Insert one pending outbox row per route that wants this notification; their delivery ids."""
    names = rule.routes or list(alerting.routes)
    event, fingerprint, severity = payload["event"], payload["fingerprint"], payload["severity"]
    ids: list[str] = []
    for name in names:
        route = alerting.routes.get(name)
        if route is None:  # settings validate this; a hand-built AlertingSettings may not
            raise ConfigError(f"rule {rule.name!r} names unknown route {name!r}")
        if SEVERITIES.index(severity) < SEVERITIES.index(route.min_severity):
            continue
        if route.rules and rule.name not in route.rules:
            continue
        if isinstance(route, WebhookRoute | TargetRoute):  # retraining triggers filter alike
            if route.conditions and rule.condition not in route.conditions:
                continue
            if route.events and event not in route.events:
                continue
            cooling = route.cooldown and not is_resolved(event)
            if cooling and _sent_within(conn, name, fingerprint, now - route.cooldown):
                continue
        delivery_id = uuid.uuid4().hex
        conn.execute(
            insert(notifications).values(
                delivery_id=delivery_id,
                alert_id=payload.get("alert_id"),
                channel=route.type,
                route=name,
                event=event,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                fingerprint=fingerprint,
                severity=severity,
            )
        )
        ids.append(delivery_id)
    return ids


def _sent_within(conn: Connection, route: str, fingerprint: str, since: datetime) -> bool:
    """Did `route` queue a detected/repeated notification for `fingerprint` after `since`?"""
    n = notifications.c
    stmt = select(
        exists().where(
            n.route == route,
            n.fingerprint == fingerprint,
            n.created_at > since,
            n.event.not_like("%.resolved"),
        )
    )
    return bool(conn.execute(stmt).scalar())
