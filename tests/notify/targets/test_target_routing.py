"""Retraining routes in the outbox: firing events only by default, cooldown per alert subject."""

from __future__ import annotations

from datetime import timedelta

from notify_support import T0
from sqlalchemy import select

from monitor.notify.routing import enqueue
from monitor.settings import AlertingSettings, RuleSettings
from monitor.storage.tables import notifications

RULE = RuleSettings(name="drift", condition="dataset_drift", severity="warning")


def airflow(**kw: object) -> AlertingSettings:
    route = {"type": "airflow2", "url": "http://127.0.0.1:9", "dag_id": "retrain", **kw}
    return AlertingSettings.model_validate({"routes": {"retrain": route}})


def send(engine, al: AlertingSettings, event: str, at=T0, fp: str = "fp1") -> list[str]:
    payload = {"event": event, "alert_id": None, "fingerprint": fp, "severity": "warning"}
    with engine.begin() as conn:
        return enqueue(conn, payload=payload, rule=RULE, alerting=al, now=at)


def test_resolved_and_repeated_do_not_trigger_by_default(engine) -> None:
    al = airflow()
    [did] = send(engine, al, "drift.detected")
    assert send(engine, al, "drift.repeated") == []
    assert send(engine, al, "drift.resolved") == []
    with engine.connect() as conn:
        rows = conn.execute(select(notifications.c.delivery_id, notifications.c.channel)).all()
    assert [tuple(r) for r in rows] == [(did, "airflow2")]


def test_cooldown_makes_one_episode_one_training(engine) -> None:
    al = airflow(cooldown="1d")
    assert len(send(engine, al, "drift.detected")) == 1
    assert send(engine, al, "drift.detected", at=T0 + timedelta(hours=3)) == []
    assert len(send(engine, al, "drift.detected", at=T0 + timedelta(hours=3), fp="fp2")) == 1
    assert len(send(engine, al, "drift.detected", at=T0 + timedelta(days=1, seconds=1))) == 1
