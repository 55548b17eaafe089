"""Routing into the outbox: route filters and the webhook cooldown, on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from db_support import empty_tables, migrated_sqlite
from sqlalchemy import Engine, insert, select

from monitor.errors import ConfigError
from monitor.notify.routing import enqueue
from monitor.settings import AlertingSettings, RuleSettings
from monitor.storage import make_engine
from monitor.storage.tables import alerts, notifications

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def routing_pg_engine(migrated_pg) -> Iterator[Engine]:
    eng = make_engine(migrated_pg("routing"))
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(migrated_sqlite(tmp_path / "routing.db"))
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("routing_pg_engine")
    empty_tables(eng, "notifications, alerts")  # = TRUNCATE ... RESTART IDENTITY CASCADE
    yield eng


def alerting(**routes) -> AlertingSettings:
    return AlertingSettings.model_validate({"routes": routes})


def slack(**kw):
    return {"type": "slack", "webhook_url": "http://127.0.0.1:9/s", **kw}


def hook(**kw):
    return {"type": "webhook", "url": "http://127.0.0.1:9/h", "secret": "s", **kw}


def send(
    engine, al, *, rule=None, event="drift.detected", severity="warning", fp="fp1", at=T0,
    alert_id=None,
):  # fmt: skip
    """Route one notification; a new alert row (episode) unless `alert_id` names one."""
    rule = rule or RuleSettings(name="r1", condition="dataset_drift", severity=severity)
    with engine.begin() as conn:
        if alert_id is None:
            alert_id = conn.execute(
                insert(alerts).values(
                    fingerprint=fp,
                    monitor="m",
                    rule=rule.name,
                    subject="",
                    state="resolved",  # closed rows: any number per fingerprint
                    severity=severity,
                    created_at=at,
                    resolved_at=at,
                )
            ).inserted_primary_key[0]
        payload = {"event": event, "alert_id": alert_id, "fingerprint": fp, "severity": severity}
        ids = enqueue(conn, payload=payload, rule=rule, alerting=al, now=at)
    return ids


def alert_of(engine, ids) -> int:
    n = notifications.c
    with engine.connect() as conn:
        return conn.execute(select(n.alert_id).where(n.delivery_id == ids[0])).scalar_one()


def suppressed(engine) -> list[tuple[str, str, str]]:
    """(route, event, reason) of every suppressed row, oldest first."""
    n = notifications.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(n.route, n.event, n.last_error).where(n.status == "suppressed").order_by(n.id)
        )
        return [tuple(r) for r in rows]


def routes_of(engine, ids) -> list[str]:
    n = notifications.c
    with engine.connect() as conn:
        rows = conn.execute(select(n.delivery_id, n.route).where(n.delivery_id.in_(ids)))
        return sorted(route for _, route in rows)


def test_every_route_or_the_rules_own(engine) -> None:
    al = alerting(a=slack(), b=hook(), c=slack())
    assert routes_of(engine, send(engine, al)) == ["a", "b", "c"]
    rule = RuleSettings(name="r1", condition="dataset_drift", routes=["c", "b"])
    assert routes_of(engine, send(engine, al, rule=rule)) == ["b", "c"]


def test_outbox_row(engine) -> None:
    [delivery_id] = send(engine, alerting(hook=hook()), severity="critical", at=T0)
    with engine.connect() as conn:
        row = conn.execute(select(notifications)).mappings().one()
    assert row["delivery_id"] == delivery_id and len(delivery_id) == 32
    assert (row["channel"], row["route"], row["event"], row["status"]) == (
        "webhook",
        "hook",
        "drift.detected",
        "pending",
    )
    assert row["attempts"] == 0 and row["next_attempt_at"] == T0 == row["created_at"]
    assert (row["fingerprint"], row["severity"]) == ("fp1", "critical")
    assert row["payload"]["alert_id"] == row["alert_id"]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("info", ["all"]), ("warning", ["all", "warn"]), ("critical", ["all", "crit", "warn"])],
)
def test_min_severity(engine, severity, expected) -> None:
    al = alerting(
        all=slack(), warn=slack(min_severity="warning"), crit=hook(min_severity="critical")
    )
    assert routes_of(engine, send(engine, al, severity=severity)) == expected


def test_route_rule_names_conditions_and_events(engine) -> None:
    al = alerting(
        only_r2=slack(rules=["r2"]),
        drift_only=hook(conditions=["dataset_drift", "feature_drift"]),
        detected_only=hook(events=["drift.detected", "performance.detected"]),
    )
    r1 = RuleSettings(name="r1", condition="dataset_drift")
    r2 = RuleSettings(name="r2", condition="missing_share", threshold=0.1)
    assert routes_of(engine, send(engine, al, rule=r1)) == ["detected_only", "drift_only"]
    assert routes_of(engine, send(engine, al, rule=r2, event="data_quality.detected")) == [
        "only_r2"
    ]
    fired = send(engine, al, rule=r1)
    resolved = send(engine, al, rule=r1, event="drift.resolved", alert_id=alert_of(engine, fired))
    assert routes_of(engine, resolved) == ["drift_only"]


def test_webhook_cooldown_one_trigger_per_episode(engine) -> None:
    """Per route and fingerprint: a second episode within the cooldown is suppressed (a
    recorded row with the reason), and so is its resolution; after the cooldown: sent."""
    al = alerting(retrain=hook(cooldown="6h"), chat=slack())
    first = send(engine, al, at=T0)
    assert routes_of(engine, first) == ["chat", "retrain"]
    a1 = alert_of(engine, first)
    resolved = send(engine, al, event="drift.resolved", at=T0 + timedelta(hours=1), alert_id=a1)
    assert routes_of(engine, resolved) == ["chat", "retrain"]
    at = T0 + timedelta(hours=2)
    second = send(engine, al, at=at)  # new episode, cooling down
    assert routes_of(engine, second) == ["chat"]
    a2 = alert_of(engine, second)
    assert routes_of(engine, send(engine, al, event="drift.repeated", at=at, alert_id=a2)) == [
        "chat"
    ]
    assert routes_of(engine, send(engine, al, fp="other", at=at)) == ["chat", "retrain"]
    at = T0 + timedelta(hours=5)
    resolved = send(engine, al, event="drift.resolved", at=at, alert_id=a2)
    assert routes_of(engine, resolved) == ["chat"]  # retrain never saw episode 2 fire
    assert [(r, e) for r, e, _ in suppressed(engine)] == [
        ("retrain", "drift.detected"),
        ("retrain", "drift.repeated"),
        ("retrain", "drift.resolved"),
    ]
    reasons = [why for _, _, why in suppressed(engine)]
    assert reasons[0].startswith("cooldown: route 'retrain' was sent drift.detected")
    assert T0.isoformat() in reasons[0] and "cooldown 6:00:00" in reasons[0]
    assert reasons[2].startswith("not sent: route 'retrain' never got this alert's detected")
    # exactly one cooldown after the last trigger: no longer within it (suppressed rows
    # do not extend it)
    at = T0 + timedelta(hours=6)
    third = send(engine, al, at=at)
    assert routes_of(engine, third) == ["chat", "retrain"]
    assert routes_of(engine, send(engine, al, at=at + timedelta(minutes=1))) == ["chat"]
    a3 = alert_of(engine, third)
    resolved = send(engine, al, event="drift.resolved", at=at + timedelta(hours=1), alert_id=a3)
    assert routes_of(engine, resolved) == ["chat", "retrain"]


def test_a_repeat_after_the_cooldown_opens_the_route_for_the_resolution(engine) -> None:
    """An episode held back by the cooldown reaches the route with a later repeat; then its
    resolution is sent too."""
    al = alerting(retrain=hook(cooldown="6h"))
    a1 = alert_of(engine, send(engine, al, at=T0))
    send(engine, al, event="drift.resolved", at=T0 + timedelta(hours=1), alert_id=a1)
    held = send(engine, al, at=T0 + timedelta(hours=2))
    assert held == []
    with engine.connect() as conn:
        a2 = conn.execute(select(alerts.c.id).order_by(alerts.c.id.desc())).scalars().first()
    later = T0 + timedelta(hours=7)
    assert routes_of(engine, send(engine, al, event="drift.repeated", at=later, alert_id=a2)) == [
        "retrain"
    ]
    resolved = send(engine, al, event="drift.resolved", at=later, alert_id=a2)
    assert routes_of(engine, resolved) == ["retrain"]


def test_unknown_route_is_a_config_error(engine) -> None:
    rule = RuleSettings(name="r1", condition="dataset_drift", routes=["nope"])
    with pytest.raises(ConfigError, match="unknown route 'nope'"):
        send(engine, alerting(a=slack()), rule=rule)
