"""`routes test NAME`: one test notification through a route's sender, outside the outbox.

Checks a channel (URL, credentials, DAG/workflow names, declared inputs) before an alert
needs it. The test is sent once and not retried or stored: its result is the answer. The
payload has every field of a real notification, with `event` = "route.test" so a retraining
pipeline can tell a test trigger from a real one (Airflow `conf.event`, a workflow input...).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.errors import ConfigError
from monitor.notify.channels import Outgoing, Sender, SendResult
from monitor.notify.registry import default_senders
from monitor.settings import AlertingSettings

TEST_EVENT = "route.test"


@dataclass(frozen=True)
class RouteTest:
    route: str
    channel: str
    delivery_id: str
    result: SendResult

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {
            "route": self.route,
            "channel": self.channel,
            "delivery_id": self.delivery_id,
            "outcome": r.outcome,
            "error": r.error,
            "external_id": r.external_id,
            "answer": None if r.answer is None else dict(r.answer),
        }


def test_payload(now: datetime) -> dict[str, Any]:
    """A notification of the same shape as `monitor.alerts.build_payload`'s, marked as a test."""
    iso = now.astimezone(UTC).isoformat()
    return {
        "event": TEST_EVENT,
        "alert_id": None,
        "fingerprint": "route-test",
        "monitor": "route-test",
        "model": "route-test",
        "model_version": None,
        "rule": "route-test",
        "condition": "dataset_drift",
        "subject": "",
        "severity": "info",
        "window": {"start": (now - timedelta(hours=1)).astimezone(UTC).isoformat(), "end": iso},
        "run_id": None,
        "dataset_drift": None,
        "drift_share": None,
        "drifted_features": [],
        "report_url": None,
        "fired_at": iso,
        "resolved_at": None,
        "summary": "test notification from `monitor routes test` (no alert)",
        "performance": None,
    }


def send_test(
    alerting: AlertingSettings,
    name: str,
    *,
    now: datetime | None = None,
    senders: Mapping[str, Sender] | None = None,
) -> RouteTest:
    """Send one test notification over route `name`; ConfigError for an unknown route."""
    route = alerting.routes.get(name)
    if route is None:
        known = ", ".join(sorted(alerting.routes)) or "none"
        raise ConfigError(f"no route named {name!r} in alerting.routes (configured: {known})")
    senders = default_senders() if senders is None else senders
    sender = senders.get(route.type)
    if sender is None:
        raise ConfigError(f"no sender for route type {route.type!r}")
    now = now or datetime.now(UTC)
    note = Outgoing(
        delivery_id="test" + uuid.uuid4().hex[:28],
        channel=route.type,
        route=name,
        event=TEST_EVENT,
        payload=test_payload(now),
        attempt=1,
    )
    return RouteTest(name, route.type, note.delivery_id, sender.send(note, route))
