"""Alertmanager channel: our alerts as Alertmanager alerts, kept alive while they fire.

Each attempt POSTs a list of one alert to `{url}/api/v2/alerts`. Alertmanager identifies an
alert by its label set (alertname = rule, monitor, model, severity, rule, subject, plus the
route's labels), so a re-send or a retry updates the same alert instead of adding one.

Alertmanager resolves an alert at its `endsAt`. A firing post sets `endsAt` to send time +
the route's `resolve_timeout`, and `resend_firing` (run by every outbox pass) queues a
"*.repeated" row for each firing alert whose newest row on the route is older than
`resend_interval`; a resolution posts `endsAt` = the time it resolved. Because Alertmanager
keeps state rather than a log, order matters: a firing post that arrived after the
resolution would re-open the alert, so `resend_firing` also holds a pending resolution
back until every older pending firing row of the same alert and route has been tried.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from monitor.display import feature_label
from monitor.notify.channels import (
    USER_AGENT,
    Outgoing,
    SendResult,
)
from monitor.notify.http_post import post
from monitor.settings import (
    AlertingSettings,
    AlertmanagerRoute,
    RouteSettings,
)
from monitor.storage import outbox
from monitor.storage.db import Connection, Engine, storage_errors
from monitor.verdict import comparison, how_far

log = logging.getLogger("monitor.notify.alertmanager")

CHANNEL = "alertmanager"
DEFAULT_ALERTNAME = "MonitorDrift"
API_PATH = "/api/v2/alerts"
MAX_FEATURES = 10  # drifted features listed in the description
NAME_CHARS = 120


def _line(value: Any, limit: int = NAME_CHARS) -> str:
    """Untrusted text on one line (a name cannot add lines to the description), bounded."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ts(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, str) and value:
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def _top(features: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The MAX_FEATURES most drifted, in the Slack message's order (`verdict.how_far`)."""
    return sorted(features, key=how_far, reverse=True)[:MAX_FEATURES]


def describe(p: Mapping[str, Any]) -> str:
    """The `description` annotation: what fired, on which model and window, and why."""
    model = _line(p.get("model", ""))
    if p.get("model_version"):
        model += f" v{_line(p['model_version'], 60)}"
    window = p.get("window") or {}
    lines = [
        f"Monitor {_line(p.get('monitor', ''))} (model {model}),"
        f" window {window.get('start')} to {window.get('end')}.",
        f"Rule {_line(p.get('rule', ''))} ({_line(p.get('condition', ''), 40)})"
        + (f" on {_line(p['subject'])}" if p.get("subject") else "")
        + ".",
    ]
    if p.get("drift_share") is not None:
        share = {"statistic": p["drift_share"], "threshold": p.get("drift_share_threshold")}
        lines.append(f"Drift share {comparison(share)}.")
    features = list(p.get("drifted_features") or [])
    if features:
        shown = [
            f"{_line(feature_label(str(f.get('name', ''))))} ({_line(f.get('method', ''), 40)}"
            f" {comparison(f)})"
            for f in _top(features)
        ]
        more = f" and {len(features) - MAX_FEATURES} more" if len(features) > MAX_FEATURES else ""
        lines.append(f"Drifted features ({len(features)}): {', '.join(shown)}{more}.")
    news = p.get("new_categories")
    if isinstance(news, Mapping):
        names = [_line(c.get("name", ""), 60) for c in (news.get("categories") or [])[:10]]
        more = ", …" if isinstance(news.get("count"), int) and news["count"] > len(names) else ""
        lines.append(
            f"New categories: {_num(news.get('count'))}"
            + (f" ({news['share']:.1%} of values)" if _num(news.get("share")) != "n/a" else "")
            + (f": {', '.join(names)}{more}" if names else "")
            + "."
        )
    perf = p.get("performance")
    if isinstance(perf, Mapping):
        band = perf.get("band") if perf.get("estimated") else None
        lines.append(
            ("Estimated " if perf.get("estimated") else "")
            + f"{_line(perf.get('metric', 'metric'), 60)} {_num(perf.get('value'))}"
            + (
                f" (band {_num(band.get('lower'))} to {_num(band.get('upper'))}, "
                if isinstance(band, Mapping)
                else " ("
            )
            + f"reference {_num(perf.get('reference'))}, threshold {_num(perf.get('threshold'))})."
        )
    return "\n".join(lines)


def to_alert(p: Mapping[str, Any], route: AlertmanagerRoute, now: datetime) -> dict[str, Any]:
    """One notification payload as an Alertmanager v2 `postableAlert`."""
    labels = {
        **route.labels,
        "alertname": str(p.get("rule") or DEFAULT_ALERTNAME),
        "monitor": str(p.get("monitor", "")),
        "model": str(p.get("model", "")),
        "severity": str(p.get("severity", "")),
        "rule": str(p.get("rule", "")),
    }
    if p.get("subject"):
        labels["subject"] = str(p["subject"])
    annotations = {"summary": str(p.get("summary") or ""), "description": describe(p)}
    features = list(p.get("drifted_features") or [])
    if features:  # machine-readable: what decided each feature (annotations are strings)
        annotations["drifted_features"] = orjson.dumps(
            _top(features), option=orjson.OPT_SORT_KEYS
        ).decode()
    report_url = p.get("report_url")
    if report_url:
        annotations["report_url"] = str(report_url)
    alert: dict[str, Any] = {"labels": labels, "annotations": annotations}
    started = _ts(p.get("fired_at"))
    if started is not None:
        alert["startsAt"] = rfc3339(started)
    resolved = _ts(p.get("resolved_at")) if str(p.get("event", "")).endswith(".resolved") else None
    alert["endsAt"] = rfc3339(resolved if resolved is not None else now + route.resolve_timeout)
    link = _generator_url(p, route)
    if link:
        alert["generatorURL"] = link
    return alert


def _generator_url(p: Mapping[str, Any], route: AlertmanagerRoute) -> str | None:
    """The report when it is a web link, else the alert in the monitor's API."""
    report_url = p.get("report_url")
    if isinstance(report_url, str) and report_url.startswith(("https://", "http://")):
        return report_url
    if route.generator_url and p.get("alert_id") is not None:
        return f"{route.generator_url.rstrip('/')}/api/v1/alerts/{int(p['alert_id'])}"
    return None


def encode(p: Mapping[str, Any], route: AlertmanagerRoute, now: datetime) -> bytes:
    """The request body: a JSON list of one alert."""
    return orjson.dumps([to_alert(p, route, now)], option=orjson.OPT_SORT_KEYS)


class AlertmanagerSender:
    """POSTs one alert per attempt; `endsAt` of a firing alert is computed at send time."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))

    def send(self, note: Outgoing, route: RouteSettings) -> SendResult:
        if not isinstance(route, AlertmanagerRoute):
            return SendResult.failed(f"route {note.route!r} is not an alertmanager route")
        body = encode(note.payload, route, self._clock())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        url = route.url.rstrip("/") + API_PATH
        return post(url, body, headers, route.timeout.total_seconds())


# --- keeping firing alerts alive (run by every outbox pass) -------------------------------


def resend_firing(engine: Engine, alerting: AlertingSettings, now: datetime) -> int:
    """Queue a re-send for each firing alert an alertmanager route last heard of more than
    `resend_interval` ago; hold resolutions behind older pending firing rows. Rows queued.

    Only alerts the route was already told about are re-sent (its min_severity/rules filters
    and the rule's `routes` were applied then). While the newest row is still pending the
    outbox is retrying it (and its `endsAt` is fresh when it goes out): nothing is added.
    Two replicas may both queue a re-send; Alertmanager merges them (same labels).
    """
    routes = {n: r for n, r in alerting.routes.items() if isinstance(r, AlertmanagerRoute)}
    if not routes:
        return 0
    queued = 0
    with storage_errors(engine, "alertmanager re-send"), engine.begin() as conn:
        outbox.hold_resolutions(conn, CHANNEL)
        for name, route in routes.items():
            queued += _queue_resends(conn, name, now - route.resend_interval, now)
    if queued:
        log.debug("alertmanager_resends_queued", extra={"count": queued})
    return queued


def _queue_resends(conn: Connection, route: str, cutoff: datetime, now: datetime) -> int:
    rows = outbox.firing_to_resend(conn, route, cutoff)
    for alert_id, fingerprint, severity, payload in rows:
        family = str(payload.get("event", "drift.detected")).partition(".")[0] or "drift"
        event = f"{family}.repeated"
        outbox.add_notification(
            conn,
            outbox.NewNotification(
                delivery_id=uuid.uuid4().hex,
                alert_id=alert_id,
                channel=CHANNEL,
                route=route,
                event=event,
                payload={**payload, "event": event},
                status="pending",
                created_at=now,
                fingerprint=fingerprint,
                severity=severity,
            ),
        )
    return len(rows)
