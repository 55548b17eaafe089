"""Issue 11 item 4: a webhook cooldown suppresses visibly and never sends an orphan resolve.

Two drift episodes of one alert subject within the retraining route's cooldown, through
scheduled runs on Postgres and a real HTTP receiver: the route gets the first episode's
detected and resolved and nothing of the second; the second episode's rows are in the outbox
as `suppressed` with the reason, in the API's alert detail and in `monitor alerts show`.
Slack (no cooldown) gets all four.
"""

from __future__ import annotations

from datetime import timedelta

import yaml
from scheduler_support import T0, put, traffic, training
from sqlalchemy import select

from monitor.alerts import alert_detail
from monitor.cli import main
from monitor.demo_receivers import Receivers
from monitor.notify.delivery import deliver_due
from monitor.scheduler.ticks import tick
from monitor.settings import parse_settings
from monitor.storage.tables import notifications

HOUR = timedelta(hours=1)
SECRET = "cooldown-test-secret"
READ = "read-token-for-cooldown-test"


def test_second_episode_within_cooldown_is_suppressed_and_not_resolved(
    pg_engine, tmp_path, capsys
) -> None:
    receivers = Receivers(SECRET.encode()).start()
    doc = {
        "database": {"url": pg_engine.url.render_as_string(hide_password=False)},
        "reports": {"enabled": False},
        "monitors": [
            {
                "name": "mon",
                "model": "m",
                "reference": str(training(tmp_path / "ref.parquet")),
                "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                "rules": [{"name": "dataset", "condition": "dataset_drift"}],
            }
        ],
        "api": {"read_tokens": [READ]},
        "alerting": {
            "routes": {
                "slack": {"type": "slack", "webhook_url": f"{receivers.base}/slack"},
                "retrain": {
                    "type": "webhook",
                    "url": f"{receivers.base}/retrain",
                    "secret": SECRET,
                    "cooldown": "6h",
                },
            }
        },
    }
    settings = parse_settings(doc)
    monitor = settings.monitors[0]
    shifts = [0.0, 1.5, 0.0, 1.5, 0.0]  # two episodes: windows 2 and 4
    for i, shift in enumerate(shifts):
        put(pg_engine, traffic(600, T0 + i * HOUR, HOUR, seed=40 + i, shift=shift))
    try:
        for i in range(1, len(shifts) + 1):
            at = T0 + i * HOUR + timedelta(seconds=1)
            (out,) = tick(pg_engine, settings, monitor, now=at)
            assert out.dataset_drift == bool(shifts[i - 1])
            deliver_due(pg_engine, settings.alerting, now=at + timedelta(seconds=1))
    finally:
        receivers.stop()

    hooks = [r.json() for r in receivers.got if r.path == "/retrain"]
    assert [(h["event"], h["alert_id"]) for h in hooks] == [
        ("drift.detected", hooks[0]["alert_id"]),
        ("drift.resolved", hooks[0]["alert_id"]),
    ]
    assert all(r.signature_ok for r in receivers.got if r.path == "/retrain")
    assert len([r for r in receivers.got if r.path == "/slack"]) == 4

    n = notifications.c
    with pg_engine.connect() as conn:
        rows = conn.execute(
            select(n.alert_id, n.route, n.event, n.status, n.last_error).order_by(n.id)
        ).all()
    second = max(r.alert_id for r in rows)
    assert second != hooks[0]["alert_id"]
    retrain2 = [(r.event, r.status) for r in rows if r.alert_id == second and r.route == "retrain"]
    assert retrain2 == [("drift.detected", "suppressed"), ("drift.resolved", "suppressed")]

    detail = alert_detail(pg_engine, second)
    reasons = {d["event"]: d["last_error"] for d in detail["deliveries"] if d["route"] == "retrain"}
    assert "cooldown" in reasons["drift.detected"] and "6:00:00" in reasons["drift.detected"]
    assert "not sent" in reasons["drift.resolved"]
    assert {d["status"] for d in detail["deliveries"] if d["route"] == "slack"} == {"delivered"}

    from fastapi.testclient import TestClient

    from monitor.api import create_app

    with TestClient(create_app(pg_engine, settings)) as client:
        got = client.get(f"/api/v1/alerts/{second}", headers={"Authorization": f"Bearer {READ}"})
    assert got.status_code == 200
    over_http = [
        (d["event"], d["status"], d["last_error"])
        for d in got.json()["deliveries"]
        if d["route"] == "retrain"
    ]
    assert over_http == [
        ("drift.detected", "suppressed", reasons["drift.detected"]),
        ("drift.resolved", "suppressed", reasons["drift.resolved"]),
    ]

    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    assert main(["alerts", "show", str(second), "--config", str(cfg)]) == 0
    shown = capsys.readouterr().out
    lines = [line for line in shown.splitlines() if "retrain" in line]
    assert len(lines) == 2 and all("suppressed" in line for line in lines)
    assert "cooldown" in lines[0] and "not sent" in lines[1]
