"""Which routes get a notification, written to the outbox in the caller's transaction.

The alert state change and its outbox rows commit together (or not at all); delivery reads
the outbox later and retries, so a receiver that is down never loses or blocks an alert.

Filters per route: `min_severity`, `rules` (names), and for webhooks `conditions` and
`events`: a notification they filter out is not for that route (no row). Two more checks
decide per (route, alert fingerprint), and what they hold back is recorded as an outbox row
with status `suppressed` and the reason (in `last_error`), never sent:

- cooldown (webhooks): a detected/repeated notification is suppressed when the same route
  was sent (queued, not suppressed) a detected/repeated one for the same fingerprint (the
  monitor, rule and subject: any episode) within the cooldown. "One drift episode triggers
  one retraining"; suppressed rows do not extend the cooldown.
- no orphan resolves (every route): a resolved notification goes only to a route that was
  sent this alert's (this episode's) detected or repeated notification; otherwise the
  receiver would get a resolution for an alert it never saw fire.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from monitor.errors import ConfigError
from monitor.settings import SEVERITIES, AlertingSettings, RuleSettings
from monitor.storage import outbox
from monitor.storage.db import Connection

log = logging.getLogger("monitor.notify.routing")


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
    """One outbox row per route that wants this notification: pending, or suppressed with
    the reason; returns the delivery ids of the pending ones."""
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
        conditions = getattr(route, "conditions", None)  # route types that filter (webhooks,
        events = getattr(route, "events", None)  # retraining targets): empty means every one
        if conditions and rule.condition not in conditions:
            continue
        if events and event not in events:
            continue
        reason = _suppression(conn, name, route, payload, now)
        delivery_id = uuid.uuid4().hex
        outbox.add_notification(
            conn,
            outbox.NewNotification(
                delivery_id=delivery_id,
                alert_id=payload.get("alert_id"),
                channel=route.type,
                route=name,
                event=event,
                payload=payload,
                status="suppressed" if reason else "pending",
                created_at=now,
                fingerprint=fingerprint,
                severity=severity,
                last_error=reason,
            ),
        )
        if reason:
            log.info(
                "notification_suppressed",
                extra={
                    "delivery_id": delivery_id,
                    "route": name,
                    "notify_event": event,
                    "alert_id": payload.get("alert_id"),
                    "reason": reason,
                },
            )
            continue
        ids.append(delivery_id)
    return ids


def _suppression(
    conn: Connection, name: str, route: Any, payload: dict[str, Any], now: datetime
) -> str | None:
    """Why this route must not be sent this notification (None: send it)."""
    event, alert_id = payload["event"], payload.get("alert_id")
    if is_resolved(event):
        if alert_id is not None and not outbox.announced(conn, name, int(alert_id)):
            return (
                f"not sent: route {name!r} never got this alert's detected notification "
                "(cooldown, or a newer route), so no resolution either"
            )
        return None
    cooldown = getattr(route, "cooldown", None)
    if not cooldown:
        return None
    last = outbox.last_sent(conn, name, payload["fingerprint"], now - cooldown)
    if last is None:
        return None
    return (
        f"cooldown: route {name!r} was sent {last.event} for this alert subject at "
        f"{last.created_at.isoformat()} (alert {last.alert_id}); cooldown {cooldown}"
    )
