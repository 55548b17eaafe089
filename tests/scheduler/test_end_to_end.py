"""End to end on real components: events produced to Kafka -> the real consumer stores them
(and their bucket sketches) in Postgres -> scheduled runs -> alert -> one signed webhook and
one Slack message, each exactly once -> resolved when traffic returns to normal."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import orjson
import pytest
from kafka import KafkaProducer
from scheduler_support import T0, traffic, training

from monitor.bucketing import BucketSketcher
from monitor.demo_receivers import Receivers
from monitor.ingest.consumer import build_ingestor
from monitor.ingest.topics import create_topics
from monitor.notify.delivery import deliver_due
from monitor.notify.signing import verify
from monitor.reference import materialise
from monitor.scheduler.ticks import tick
from monitor.settings import parse_settings
from monitor.storage.event_frames import EventFilter, count_events

HOUR = timedelta(hours=1)
SECRET = "e2e-" + uuid.uuid4().hex


def _event(p) -> bytes:
    return orjson.dumps(
        {
            "event_id": p.event_id,
            "model": p.model,
            "model_version": p.model_version,
            "timestamp": p.ts.isoformat(),
            "features": p.features,
            "prediction": p.prediction,
            "prediction_proba": p.prediction_proba,
        }
    )


@pytest.mark.slow
def test_drift_fires_one_signed_webhook_and_one_slack_message_then_resolves(
    kafka_bootstrap, pg_engine, tmp_path
) -> None:
    uid = uuid.uuid4().hex[:8]
    receivers = Receivers(SECRET.encode()).start()
    url = pg_engine.url.render_as_string(hide_password=False)
    settings = parse_settings(
        {
            "kafka": {
                "bootstrap_servers": [kafka_bootstrap],
                "group_id": f"e2e-{uid}",
                "predictions_topic": f"pred-{uid}",
                "labels_topic": f"lab-{uid}",
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "poll_timeout_ms": 200,
            },
            "database": {"url": url},
            "monitors": [
                {
                    "name": "mon",
                    "model": "m",
                    "reference": str(training(tmp_path / "ref.parquet")),
                    "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                    "rules": [
                        {"name": "dataset", "condition": "dataset_drift", "severity": "critical"}
                    ],
                }
            ],
            "alerting": {
                "routes": {
                    "slack": {"type": "slack", "webhook_url": f"{receivers.base}/slack"},
                    "retrain": {
                        "type": "webhook",
                        "url": f"{receivers.base}/retrain",
                        "secret": SECRET,
                        "min_severity": "critical",
                        "cooldown": "6h",
                    },
                }
            },
            "reports": {"directory": str(tmp_path / "reports"), "max_rows": 1000},
        }
    )
    monitor = settings.monitors[0]
    materialise(pg_engine, monitor)
    kafka = settings.kafka
    create_topics(kafka, [kafka.predictions_topic, kafka.labels_topic], 2)
    normal, drifted, back = (
        traffic(1200, T0, HOUR, seed=31),
        traffic(1200, T0 + HOUR, HOUR, seed=32, shift=1.0),
        traffic(1200, T0 + 2 * HOUR, HOUR, seed=33),
    )
    producer = KafkaProducer(bootstrap_servers=[kafka_bootstrap], linger_ms=5)
    for p in normal + drifted + back:
        producer.send(kafka.predictions_topic, _event(p), key=p.event_id.encode())
    producer.flush()
    producer.close()

    ingestor = build_ingestor(settings, pg_engine, sketcher=BucketSketcher(pg_engine, settings))
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    flt = EventFilter("m")
    try:
        deadline = time.monotonic() + 60
        while count_events(pg_engine, flt, T0, T0 + 3 * HOUR) < 3600:
            assert time.monotonic() < deadline, "the consumer did not store every event"
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(20)

    try:
        seen = []
        for i in (1, 2, 3):
            at = T0 + i * HOUR + timedelta(seconds=1)
            outcomes = tick(pg_engine, settings, monitor, now=at)
            assert len(outcomes) == 1 and outcomes[0].status == "succeeded"
            assert not outcomes[0].rebuilt_sketches  # ingestion's deltas covered the window
            seen.append(outcomes[0])
            stats = deliver_due(pg_engine, settings.alerting, now=at + timedelta(seconds=1))
            assert stats.failed == 0, (seen[-1], _errors(pg_engine))
        assert [o.dataset_drift for o in seen] == [False, True, False]
        assert seen[1].report_path is not None and seen[0].report_path is None
    finally:
        receivers.stop()

    hooks = [r for r in receivers.got if r.path == "/retrain"]
    slack = [r for r in receivers.got if r.path == "/slack"]
    assert [r.json()["event"] for r in hooks] == ["drift.detected", "drift.resolved"]
    assert len(slack) == 2
    for r in hooks:
        assert verify(r.body, r.headers["X-Monitor-Signature"], SECRET.encode())
        assert r.headers["X-Monitor-Event"] == r.json()["event"]
    fired = hooks[0].json()
    assert fired["monitor"] == "mon" and fired["model"] == "m" and fired["dataset_drift"]
    assert fired["window"] == {
        "start": (T0 + HOUR).isoformat(),
        "end": (T0 + 2 * HOUR).isoformat(),
    }
    assert {f["name"] for f in fired["drifted_features"]} >= {"x", "c"}
    assert fired["report_url"] and fired["report_url"].endswith(".html")
    assert "Drift detected" in slack[0].json()["text"]
    assert "resolved" in slack[1].json()["text"].lower()
    assert hooks[0].headers["X-Monitor-Delivery"] != hooks[1].headers["X-Monitor-Delivery"]


def _errors(engine) -> list:
    from sqlalchemy import select

    from monitor.storage.tables import notifications

    with engine.connect() as conn:
        return conn.execute(select(notifications.c.route, notifications.c.last_error)).all()
