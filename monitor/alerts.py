"""Alerts in storage: rule hits of one run -> lifecycle steps -> rows, history, outbox.

`apply_run` runs inside the caller's transaction (the scheduler stores the run and its alert
changes atomically). One alert row per episode: opened (pending or firing) when a condition
first holds, closed (`state = resolved`, `resolved_at` set) when it stops; closed rows are
history. The unique partial index on open fingerprints keeps one open alert per
(monitor, rule, subject); the scheduler runs a monitor's windows one at a time, so the
transaction is all the locking needed.

A subject without a hit this run keeps its state (no data), except when its rule did report
other subjects: then the subject left the run (e.g. a feature was removed) and resolves.
Alerts of rules no longer configured are left untouched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from monitor.drift.result import json_safe
from monitor.errors import InputError
from monitor.lifecycle import Alert, AlertEvent, AlertState, Decision, step
from monitor.notify import routing
from monitor.rules import RuleHit, RunFacts, event_family
from monitor.settings import AlertingSettings, RuleSettings
from monitor.storage import alerts as store
from monitor.storage.alerts import alert_detail, alert_history
from monitor.storage.db import Connection, Engine
from monitor.storage.silences import active_silences

_EVENT_SUFFIX = {"firing": "detected", "repeat": "repeated", "resolved": "resolved"}
_STATE_NAME = {"inactive": "resolved", "pending": "pending", "firing": "firing"}
STATES = ("pending", "firing", "resolved")


def fingerprint(monitor: str, rule: str, subject: str) -> str:
    """Stable id of what an alert is about; unambiguous for any names (JSON-encoded triple)."""
    return hashlib.sha256(orjson.dumps([monitor, rule, subject])).hexdigest()[:32]


@dataclass(frozen=True)
class AlertChange:
    """What one run did to one alert (returned only when something changed or was sent)."""

    alert_id: int
    fingerprint: str
    rule: str
    subject: str
    before: str  # inactive | pending | firing
    after: str  # pending | firing | resolved
    notify: str | None  # firing | repeat | resolved
    event: str | None  # e.g. drift.detected, when notify is set
    delivery_ids: tuple[str, ...]


def apply_run(
    conn: Connection,
    facts: RunFacts,
    hits: list[RuleHit],
    rules: Sequence[RuleSettings],
    alerting: AlertingSettings,
    now: datetime,
    *,
    keep_unreported: bool = False,
) -> list[AlertChange]:
    """Step every alert this run has a verdict for; store states, history and notifications.

    `keep_unreported`: open subjects without a hit keep their state even when their rule
    reported other subjects (performance rules judge one window per subject)."""
    open_rows = store.open_alerts(conn, facts.monitor)
    by_name = {r.name: r for r in rules}
    verdicts: dict[str, RuleHit] = {}
    for hit in hits:
        verdicts[fingerprint(facts.monitor, hit.rule.name, hit.subject)] = hit
    reported = {h.rule.name for h in hits}
    for fp, open_row in () if keep_unreported else open_rows.items():
        rule = by_name.get(open_row.rule)
        if fp not in verdicts and rule is not None and rule.name in reported:
            summary = f"{open_row.subject or 'subject'} is no longer evaluated"
            verdicts[fp] = RuleHit(rule, open_row.subject, False, {"summary": summary})

    silenced = active_silences(conn, facts.monitor, now)
    changes = []
    for fp, hit in verdicts.items():
        row = open_rows.get(fp)
        if row is None and not hit.condition:
            continue  # nothing open, nothing holds: no row to write
        change = _step_one(conn, facts, hit, fp, row, silenced.covers(hit.rule.name), alerting, now)
        if change is not None:
            changes.append(change)
    return changes


def _step_one(
    conn: Connection,
    facts: RunFacts,
    hit: RuleHit,
    fp: str,
    row: Alert | None,
    silenced: bool,
    alerting: AlertingSettings,
    now: datetime,
) -> AlertChange | None:
    """One alert's step: its row, its history entry, its notification."""
    rule = hit.rule
    state = AlertState() if row is None else row.lifecycle_state()
    decision = step(
        state,
        hit.condition,
        now,
        for_runs=rule.for_runs,
        repeat_interval=rule.repeat_interval or alerting.repeat_interval,
        silenced=silenced,
    )
    after = _STATE_NAME[decision.state.status]
    write = _write(facts, hit, state, decision, after, now)
    alert_id = _store(conn, facts, hit, fp, row, write, now)
    if decision.transition is not None:
        detail = {
            "from": decision.transition[0],
            "notify": decision.notify,
            "silenced": silenced,
            "summary": hit.details.get("summary"),
        }
        store.add_alert_event(conn, alert_id, after, now, facts.run_id, json_safe(detail))
    event: str | None = None
    delivery_ids: list[str] = []
    if decision.notify is not None:
        event = f"{event_family(rule.condition)}.{_EVENT_SUFFIX[decision.notify]}"
        payload = build_payload(
            event=event,
            alert_id=alert_id,
            fingerprint=fp,
            facts=facts,
            hit=hit,
            fired_at=decision.state.fired_at or state.fired_at or now,
            resolved_at=now if after == "resolved" else None,
        )
        delivery_ids = routing.enqueue(conn, payload=payload, rule=rule, alerting=alerting, now=now)
    if decision.transition is None and decision.notify is None:
        return None
    return AlertChange(
        alert_id=alert_id,
        fingerprint=fp,
        rule=rule.name,
        subject=hit.subject,
        before=state.status,
        after=after,
        notify=decision.notify,
        event=event,
        delivery_ids=tuple(delivery_ids),
    )


def _store(
    conn: Connection,
    facts: RunFacts,
    hit: RuleHit,
    fp: str,
    row: Alert | None,
    write: store.AlertWrite,
    now: datetime,
) -> int:
    """Open the episode's row (first step) or update it; the alert id."""
    if row is not None:
        store.update_alert(conn, row.id, write)
        return row.id
    return store.insert_alert(
        conn,
        fingerprint=fp,
        monitor=facts.monitor,
        rule=hit.rule.name,
        subject=hit.subject,
        created_at=now,
        write=write,
    )


def _write(
    facts: RunFacts,
    hit: RuleHit,
    state: AlertState,
    decision: Decision,
    after: str,
    now: datetime,
) -> store.AlertWrite:
    """The alert row after this step; a resolved one keeps its episode's fired_at and
    last_notified_at as history (the latter moves to `now` when the resolution is sent)."""
    fired_at, notified_at, resolved_at = (
        decision.state.fired_at,
        decision.state.last_notified_at,
        None,
    )
    if after == "resolved":
        fired_at, notified_at, resolved_at = state.fired_at, state.last_notified_at, now
        if decision.notify == "resolved":
            notified_at = now
    return store.AlertWrite(
        state=after,
        severity=hit.rule.severity,
        consecutive=decision.state.consecutive,
        last_run_id=facts.run_id,
        details=json_safe(hit.details),
        fired_at=fired_at,
        last_notified_at=notified_at,
        last_seen_at=now if hit.condition else None,
        resolved_at=resolved_at,
    )


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def build_payload(
    *,
    event: str,
    alert_id: int,
    fingerprint: str,
    facts: RunFacts,
    hit: RuleHit,
    fired_at: datetime,
    resolved_at: datetime | None,
) -> dict[str, Any]:
    """The notification body shared by every channel (the webhook contract)."""
    payload = {
        "event": event,
        "alert_id": alert_id,
        "fingerprint": fingerprint,
        "monitor": facts.monitor,
        "model": facts.model,
        "model_version": facts.model_version,
        "rule": hit.rule.name,
        "condition": hit.rule.condition,
        "subject": hit.subject,
        "severity": hit.rule.severity,
        "window": {"start": _iso(facts.window_start), "end": _iso(facts.window_end)},
        "run_id": facts.run_id,
        "dataset_drift": None if facts.dataset_drift is None else bool(facts.dataset_drift),
        "drift_share": facts.drift_share,
        "drift_share_threshold": _share_threshold(facts, hit),
        "drifted_features": facts.drifted_features(),
        "report_url": facts.report_url,
        "fired_at": _iso(fired_at),
        "resolved_at": _iso(resolved_at),
        "summary": str(hit.details.get("summary") or f"{hit.rule.name}: {event}"),
        "performance": hit.details.get("performance"),
        "new_categories": _new_categories(hit.details),
        # issue 14: the corrected dataset decision (auto thresholds), else None
        "correction": hit.details.get("correction"),
    }
    if "retraining" in hit.details:  # retraining_ineffective: the episode it judged
        payload["retraining"] = hit.details["retraining"]
    if facts.baseline is not None:  # what the window was compared with (issue 14 item 4)
        payload["baseline"] = dict(facts.baseline)
    if hit.rule.condition == "sequential_drift":  # the CUSUM, its bound, the expected delay
        payload["sequential"] = hit.details.get("sequential")
    return json_safe(payload)


def _share_threshold(facts: RunFacts, hit: RuleHit) -> float | None:
    """The drift-share threshold the rule compared with (dataset_drift: the engine's
    `drift_share`; drift_share: the rule's own), else the run's dataset threshold."""
    if hit.rule.condition in ("dataset_drift", "drift_share"):
        return hit.details.get("threshold")
    return facts.drift_share_threshold


def _new_categories(details: dict[str, Any]) -> dict[str, Any] | None:
    """A new_category hit's count, total share and largest categories, largest first (at most
    `listed_max`; a list, since JSONB does not keep an object's key order)."""
    if "new_category_count" not in details:
        return None
    listed = details.get("new_categories") or {}
    return {
        "count": details["new_category_count"],
        "share": details.get("new_category_share"),
        "categories": [{"name": k, "share": v} for k, v in listed.items()],
        "listed_max": details.get("new_categories_listed_max"),
    }


# --- resolution by a deployment (monitor.deployments) --------------------------------------

SUPERSEDED = "superseded"
SUPERSEDED_FAMILIES = (
    "drift",
    "performance",
    "retraining",
)  # alerts about the model, not about the data feed


def supersede(
    conn: Connection,
    row: Alert,
    rule: RuleSettings,
    facts: RunFacts,
    alerting: AlertingSettings,
    now: datetime,
    *,
    by: dict[str, Any],
) -> AlertChange:
    """Resolve an open alert of a version that a deployment replaced (reason `superseded`).

    `facts`: the alert's monitor, model, old version and last window. A firing alert people
    were told about gets a resolved notification whose payload carries `reason` and
    `superseded_by` (`by`: the deployment's id and version)."""
    owed = row.state == "firing" and row.last_notified_at is not None
    summary = f"superseded by {facts.model} version {by.get('version')}"
    write = store.AlertWrite(
        state="resolved",
        severity=row.severity,
        consecutive=0,
        last_run_id=row.last_run_id,
        details=row.details,
        fired_at=row.fired_at,
        last_notified_at=now if owed else row.last_notified_at,
        resolved_at=now,
    )
    store.update_alert(conn, row.id, write)
    detail: dict[str, Any] = {"from": row.state, "notify": "resolved" if owed else None}
    detail |= {"silenced": False, "summary": summary, "reason": SUPERSEDED, "superseded_by": by}
    store.add_alert_event(conn, row.id, "resolved", now, None, json_safe(detail))
    event: str | None = None
    delivery_ids: list[str] = []
    if owed:
        event = f"{event_family(rule.condition)}.resolved"
        payload = build_payload(
            event=event,
            alert_id=row.id,
            fingerprint=row.fingerprint,
            facts=facts,
            hit=RuleHit(rule, row.subject, False, {"summary": summary}),
            fired_at=row.fired_at or now,
            resolved_at=now,
        )
        payload |= json_safe({"reason": SUPERSEDED, "superseded_by": by})
        delivery_ids = routing.enqueue(conn, payload=payload, rule=rule, alerting=alerting, now=now)
    return AlertChange(
        alert_id=row.id,
        fingerprint=row.fingerprint,
        rule=row.rule,
        subject=row.subject,
        before=row.state,
        after="resolved",
        notify="resolved" if owed else None,
        event=event,
        delivery_ids=tuple(delivery_ids),
    )


# --- reads for the CLI (the API reads monitor.storage.alerts directly) -----------------------


def list_alerts(
    engine: Engine,
    monitor: str | None = None,
    state: str | None = None,
    severity: str | None = None,
    limit: int = 100,
) -> list[Alert]:
    """Newest alerts first. `state`: pending, firing, resolved, or "open" (pending or firing)."""
    page = store.list_alerts(engine, monitor=monitor, state=state, severity=severity, limit=limit)
    return page.alerts


def acknowledge(
    engine: Engine, alert_id: int, now: datetime, by: str | None, comment: str | None
) -> str:
    """Record that someone has seen an open alert (an alert_events row); the alert's state.

    InputError for a resolved alert (nothing left to acknowledge); LookupError when absent.
    """
    state = store.acknowledge(engine, alert_id, now, by, comment)
    if state is None:
        raise LookupError(alert_id)
    if state == "resolved":
        raise InputError(f"alert {alert_id} is resolved; there is nothing to acknowledge")
    return state


__all__ = [
    "STATES",
    "SUPERSEDED",
    "Alert",
    "AlertChange",
    "AlertEvent",
    "acknowledge",
    "alert_detail",
    "alert_history",
    "apply_run",
    "build_payload",
    "fingerprint",
    "list_alerts",
    "supersede",
]
