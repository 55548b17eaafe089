"""monitor.deployments on Postgres: which open alerts a deployment supersedes and which
notifications that sends, with alert rows written through storage as a run would.

Firing and notified performance alert: resolved, `performance.resolved` queued with the
reason. Pending drift alert (nobody was told): resolved silently. Data-quality alert: stays
open (it is about the feed). Another model's alert: untouched. The effective version
follows the newest deployment, a rollback included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.scheduler_support import training
from sqlalchemy import select

from monitor.alerts import fingerprint
from monitor.deployments import deploy, effective_monitor
from monitor.settings import parse_settings
from monitor.storage import make_engine
from monitor.storage.alerts import AlertWrite, insert_alert, list_alerts
from monitor.storage.tables import notifications

T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _settings(url: str, ref: Path):
    rules = [
        {"name": "acc", "condition": "performance", "metric": "accuracy", "threshold": 0.8},
        {"name": "dataset", "condition": "dataset_drift", "for": 3},
        {"name": "nulls", "condition": "missing_share", "threshold": 0.5},
    ]
    monitor = {"model": "m", "model_version": "1", "reference": str(ref), "rules": rules}
    return parse_settings(
        {
            "database": {"url": url},
            "monitors": [
                {"name": "mon", **monitor},
                {"name": "other", **monitor, "model": "q"},
            ],
            "alerting": {
                "routes": {
                    "hook": {"type": "webhook", "url": "http://127.0.0.1:9/h", "secret": "s" * 32}
                }
            },
        }
    )


def _alert(engine, monitor: str, rule: str, state: str, notified: bool) -> int:
    with engine.begin() as conn:
        return insert_alert(
            conn,
            fingerprint=fingerprint(monitor, rule, ""),
            monitor=monitor,
            rule=rule,
            subject="",
            created_at=T0,
            write=AlertWrite(
                state=state,
                severity="warning",
                consecutive=1,
                last_run_id=None,
                details={"summary": rule},
                fired_at=T0 if state == "firing" else None,
                last_notified_at=T0 if notified else None,
                last_seen_at=T0,
            ),
        )


def test_superseded_families_and_notifications(migrated_pg, tmp_path) -> None:
    engine = make_engine(migrated_pg("deploy_domain"))
    ref1, ref2 = training(tmp_path / "v1.parquet"), training(tmp_path / "v2.parquet", seed=2)
    settings = _settings(engine.url.render_as_string(hide_password=False), ref1)
    perf = _alert(engine, "mon", "acc", "firing", notified=True)
    drift = _alert(engine, "mon", "dataset", "pending", notified=False)
    nulls = _alert(engine, "mon", "nulls", "firing", notified=True)
    other = _alert(engine, "other", "acc", "firing", notified=True)
    mon = settings.monitor("mon")
    assert effective_monitor(engine, mon).model_version == "1"

    now = T0 + timedelta(hours=5)
    outcome = deploy(engine, settings, model="m", version="2", reference=str(ref2), now=now)
    assert outcome.created and sorted(outcome.deployment.superseded) == sorted([perf, drift])
    by_id = {c.alert_id: c for c in outcome.changes}
    assert by_id[perf].notify == "resolved" and by_id[perf].event == "performance.resolved"
    assert by_id[drift].notify is None and by_id[drift].delivery_ids == ()
    still_open = {a.id for a in list_alerts(engine, state="open").alerts}
    assert still_open == {nulls, other}
    with engine.connect() as conn:
        rows = conn.execute(
            select(notifications.c.alert_id, notifications.c.payload).where(
                notifications.c.event == "performance.resolved"
            )
        ).all()
    [(alert_id, payload)] = rows
    assert alert_id == perf and payload["reason"] == "superseded"
    assert payload["model_version"] == "1" and payload["resolved_at"] == now.isoformat()
    assert payload["superseded_by"]["version"] == "2"
    assert effective_monitor(engine, mon).model_version == "2"
    assert effective_monitor(engine, settings.monitor("other")).model_version == "1"

    back = deploy(engine, settings, model="m", version="1", reference=str(ref1), now=now)
    assert back.created and back.deployment.superseded == []  # nothing was open any more
    assert effective_monitor(engine, mon).model_version == "1"  # a rollback is a deployment
    engine.dispose()
