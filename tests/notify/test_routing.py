"""Routing into the outbox: route filters and the webhook cooldown, on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, text

from monitor.errors import ConfigError
from monitor.notify.routing import enqueue
from monitor.settings import AlertingSettings, RuleSettings
from monitor.storage import make_engine, upgrade
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
        eng = make_engine(f"sqlite:///{tmp_path / 'routing.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("routing_pg_engine")
    with eng.begin() as conn:
        conn.execute(text("TRUNCATE notifications, alerts RESTART IDENTITY CASCADE"))
    yield eng


def alerting(**routes) -> AlertingSettings:
    return AlertingSettings.model_validate({"routes": routes})


def slack(**kw):
    return {"type": "slack", "webhook_url": "http://127.0.0.1:9/s", **kw}


def hook(**kw):
    return {"type": "webhook", "url": "http://127.0.0.1:9/h", "secret": "s", **kw}


def send(engine, al, *, rule=None, event="drift.detected", severity="warning", fp="fp1", at=T0):
    rule = rule or RuleSettings(name="r1", condition="dataset_drift", severity=severity)
    with engine.begin() as conn:
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
    assert routes_of(engine, send(engine, al, rule=r1, event="drift.resolved")) == ["drift_only"]


def test_webhook_cooldown_one_trigger_per_episode(engine) -> None:
    """Second episode within the cooldown: skipped; after it: sent; resolved: always sent."""
    al = alerting(retrain=hook(cooldown="6h"), chat=slack())
    assert routes_of(engine, send(engine, al, at=T0)) == ["chat", "retrain"]
    assert routes_of(
        engine, send(engine, al, event="drift.resolved", at=T0 + timedelta(hours=1))
    ) == [
        "chat",
        "retrain",
    ]
    at = T0 + timedelta(hours=2)
    assert routes_of(engine, send(engine, al, at=at)) == ["chat"]  # new episode, cooling down
    assert routes_of(engine, send(engine, al, event="drift.repeated", at=at)) == ["chat"]
    assert routes_of(engine, send(engine, al, fp="other", at=at)) == ["chat", "retrain"]
    at = T0 + timedelta(hours=5)
    assert routes_of(engine, send(engine, al, event="drift.resolved", at=at)) == ["chat", "retrain"]
    # exactly one cooldown after the last trigger: no longer within it
    at = T0 + timedelta(hours=6)
    assert routes_of(engine, send(engine, al, at=at)) == ["chat", "retrain"]
    assert routes_of(engine, send(engine, al, at=at + timedelta(minutes=1))) == ["chat"]


def test_unknown_route_is_a_config_error(engine) -> None:
    rule = RuleSettings(name="r1", condition="dataset_drift", routes=["nope"])
    with pytest.raises(ConfigError, match="unknown route 'nope'"):
        send(engine, alerting(a=slack()), rule=rule)
