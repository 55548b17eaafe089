"""The retraining loop end to end on the real stack: events through the tansu broker and the
real consumer into Postgres -> scheduled runs -> drift alert -> an Airflow 3 trigger
(`POST /api/v2/dags/{dag_id}/dagRuns`, its `conf` carrying monitor, window, drifted features
and report URL) received by a local receiver answering as Airflow's REST API does (the first
answer is lost: the outbox retries the same `dag_run_id` and Airflow's 409 counts as
delivered, one DAG run) -> the deployment posted to the API with the delivery id -> the
monitor on version 2 and its new reference -> the next windows clean -> the episode in the
API and on the monitor page (HTTP and headless Chromium) with the target's run id."""

from __future__ import annotations

import dataclasses
import json
import secrets
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer
from scheduler_support import T0, traffic, training

from monitor.api.server import ServerThread
from monitor.app import create_app
from monitor.bucketing import BucketSketcher
from monitor.ingest.consumer import build_ingestor
from monitor.ingest.topics import create_topics
from monitor.notify.delivery import deliver_due
from monitor.reference import materialise
from monitor.scheduler.ticks import tick
from monitor.settings import parse_settings
from monitor.storage.event_frames import EventFilter, count_events

TESTS = Path(__file__).resolve().parents[1]
for sub in ("notify", "notify/targets", "web", "reports"):
    sys.path.insert(0, str(TESTS / sub))
from notify_support import Receiver  # noqa: E402
from target_fakes import TOKEN, FakeAirflow  # noqa: E402

HOUR = timedelta(hours=1)
SCREENSHOTS = TESTS / "screenshots"


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


def _settings(kafka: str, db: str, ref: Path, airflow: str, tmp: Path, read: str, admin: str):
    uid = uuid.uuid4().hex[:8]
    return parse_settings(
        {
            "kafka": {
                "bootstrap_servers": [kafka],
                "group_id": f"loop-{uid}",
                "predictions_topic": f"pred-{uid}",
                "labels_topic": f"lab-{uid}",
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "poll_timeout_ms": 200,
            },
            "database": {"url": db},
            "monitors": [
                {
                    "name": "churn-prod",
                    "model": "churn",
                    "model_version": "1",
                    "reference": str(ref),
                    "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                    "rules": [
                        {"name": "dataset", "condition": "dataset_drift", "severity": "critical"},
                        {
                            "name": "ineffective",
                            "condition": "retraining_ineffective",
                            "windows": 2,
                        },
                    ],
                }
            ],
            "alerting": {
                "routes": {
                    "retrain-churn": {
                        "type": "airflow3",
                        "url": airflow,
                        "dag_id": "retrain_churn",
                        "auth": {"type": "bearer", "token_env": "LOOP_AIRFLOW_TOKEN"},
                        "cooldown": "1d",
                        "conditions": ["dataset_drift"],
                    }
                },
                "delivery": {"backoff_initial": "1s"},
            },
            "reports": {"directory": str(tmp / "reports"), "base_url": "https://monitor.test/r"},
            "api": {"read_tokens": [read], "admin_tokens": [admin]},
        }
    )


def _produce(kafka: str, topic: str, batch) -> None:
    producer = KafkaProducer(bootstrap_servers=[kafka], linger_ms=5)
    for p in batch:
        producer.send(topic, _event(p), key=p.event_id.encode())
    producer.flush()
    producer.close()


def _wait_stored(engine, flt: EventFilter, start, end, n: int) -> None:
    deadline = time.monotonic() + 90
    while count_events(engine, flt, start, end) < n:
        assert time.monotonic() < deadline, "the consumer did not store every event"
        time.sleep(0.1)


@pytest.mark.slow
def test_drift_trigger_deploy_clean_episode(kafka_bootstrap, pg_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOP_AIRFLOW_TOKEN", TOKEN)
    read, admin = "read-" + secrets.token_hex(8), "admin-" + secrets.token_hex(8)
    airflow = FakeAirflow(version=3, lose=1)  # the first answer is lost after the run started
    recv = Receiver(default=airflow)
    ref1, ref2 = training(tmp_path / "v1.parquet"), training(tmp_path / "v2.parquet", seed=2)
    db = pg_engine.url.render_as_string(hide_password=False)
    settings = _settings(kafka_bootstrap, db, ref1, recv.url, tmp_path, read, admin)
    monitor = settings.monitors[0]
    materialise(pg_engine, monitor)
    kafka = settings.kafka
    create_topics(kafka, [kafka.predictions_topic, kafka.labels_topic], 2)
    ingestor = build_ingestor(settings, pg_engine, sketcher=BucketSketcher(pg_engine, settings))
    stop = threading.Event()
    consumer = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    consumer.start()
    app = create_app(pg_engine, settings)
    try:
        # 1. version 1: a normal hour, then a drifted one -> the dataset alert fires
        v1 = traffic(1200, T0, HOUR, seed=31, model="churn")
        v1 += traffic(1200, T0 + HOUR, HOUR, seed=32, shift=1.0, model="churn")
        _produce(kafka_bootstrap, kafka.predictions_topic, v1)
        _wait_stored(pg_engine, EventFilter("churn"), T0, T0 + 2 * HOUR, 2400)
        runs = [tick(pg_engine, settings, monitor, now=T0 + i * HOUR + timedelta(seconds=1))
                for i in (1, 2)]  # fmt: skip
        assert [o.dataset_drift for [o] in runs] == [False, True]
        drifted_run = runs[1][0]
        at = T0 + 2 * HOUR + timedelta(seconds=2)
        first = deliver_due(pg_engine, settings.alerting, now=at)  # answer lost: retried
        again = deliver_due(pg_engine, settings.alerting, now=at + timedelta(minutes=1))
        assert (first.delivered, again.delivered) == (0, 1)

        # 2. Airflow got one DAG run; the retry was refused with 409 and counted as delivered
        posts = [r for r in recv.requests if r.path == "/api/v2/dags/retrain_churn/dagRuns"]
        assert (len(posts) == 2 and posts[0].body == posts[1].body) or (
            posts[0].json()["dag_run_id"] == posts[1].json()["dag_run_id"]
        )
        assert len(airflow.runs) == 1
        [(dag_run_id, started)] = airflow.runs.items()
        conf = started["conf"]
        delivery = conf["delivery_id"]
        assert dag_run_id == f"monitor__{delivery}"
        assert (conf["monitor"], conf["model"], conf["model_version"]) == (
            "churn-prod",
            "churn",
            "1",
        )
        assert conf["window"] == {
            "start": (T0 + HOUR).isoformat(),
            "end": (T0 + 2 * HOUR).isoformat(),
        }
        assert set(conf["drifted_features"]) >= {"x", "c"} and conf["event"] == "drift.detected"
        assert conf["report_url"].startswith("https://monitor.test/r/")
        assert drifted_run.report_path is not None
        assert conf["report_url"].endswith("/" + Path(drifted_run.report_path).name)

        # 3. the retrained version goes live: the deployment names the trigger's delivery
        with TestClient(app) as api:
            r = api.post(
                "/api/v1/models/churn/deployments",
                headers={"Authorization": f"Bearer {admin}"},
                json={"version": "2", "reference": str(ref2), "trigger": delivery},
            )
            assert r.status_code == 201, r.text
            dep = r.json()
            assert dep["alert_id"] == conf["alert_id"] and dep["superseded"] == [conf["alert_id"]]

        # 4. version 2's traffic, clean against its new reference
        v2 = traffic(2400, T0 + 2 * HOUR, 2 * HOUR, seed=41, model="churn")
        v2 = [dataclasses.replace(p, model_version="2", event_id="v2-" + p.event_id) for p in v2]
        _produce(kafka_bootstrap, kafka.predictions_topic, v2)
        _wait_stored(pg_engine, EventFilter("churn", "2"), T0 + 2 * HOUR, T0 + 4 * HOUR, 2400)
    finally:
        stop.set()
        consumer.join(20)
        recv.stop()
    after = [tick(pg_engine, settings, monitor, now=T0 + i * HOUR + timedelta(seconds=1))
             for i in (3, 4)]  # fmt: skip
    assert [(o.dataset_drift, o.current_rows) for [o] in after] == [(False, 1200), (False, 1200)]
    assert deliver_due(pg_engine, settings.alerting, now=T0 + 4 * HOUR).delivered == 0

    # 5. the episode in the API ...
    with TestClient(app) as api:
        r = api.get("/api/v1/models/churn/episodes", headers={"Authorization": f"Bearer {read}"})
        assert r.status_code == 200
        [ep] = r.json()["items"]
        assert ep["trigger"]["delivery_id"] == delivery
        assert ep["trigger"]["answer"]["run_id"] == dag_run_id
        assert ep["alert"]["id"] == conf["alert_id"] and ep["alert"]["state"] == "resolved"
        assert [x["id"] for x in ep["runs"]] == [o.run_id for [o] in after]
        assert [x["dataset_drift"] for x in ep["before"][-1:]] == [True]
        # ... and on the monitor page
        page = _page(api, read, "/monitors/churn-prod")
    card = page[page.index('id="episodes"') : page.index("</section>", page.index('id="episodes"'))]
    assert f"target run {dag_run_id}" in card
    assert f'href="{recv.url}/dags/retrain_churn/runs/{dag_run_id}"' in card
    assert "version <b>2</b>" in card and ">helped<" in card
    assert "dataset drift on 0 of 2 windows" in card
    _chromium(app, read, dag_run_id, tmp_path)


def _page(client: TestClient, token: str, path: str) -> str:
    import re

    form = client.get("/login", params={"next": path})
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    r = client.post("/login", data={"csrf": csrf, "token": token, "next": path})
    assert r.status_code in (200, 303)
    page = client.get(path)
    assert page.status_code == 200
    return page.text


def _chromium(app, token: str, dag_run_id: str, tmp_path: Path) -> None:
    from tab import Tab, find_chromium

    chromium = find_chromium()
    if chromium is None:  # `make test` installs Debian's chromium; missing fails, never skips
        pytest.fail("chromium is not installed: run `make test` (it apt-installs chromium)")
    from cdp import Browser

    server = ServerThread(app, "127.0.0.1", 0, name="loop-web").start()
    browser = Browser(chromium, tmp_path / "chromium")
    try:
        tab = Tab(browser)
        tab.goto(f"{server.url}/monitors/churn-prod")
        tab.evaluate(f"document.getElementById('token').value = {json.dumps(token)}")
        tab.click("form[action='/login'] button[type=submit]")
        tab.settle(0.5)
        assert tab.problems() == []
        text = tab.evaluate("document.getElementById('episodes').innerText")
        for step in ("Alert fired", "Trigger sent", "Deployed", "Did it help?", "helped"):
            assert step in text
        assert f"target run {dag_run_id}" in text
        tab.evaluate("document.getElementById('episodes').scrollIntoView()")
        SCREENSHOTS.mkdir(exist_ok=True)
        tab.screenshot(SCREENSHOTS / "web-retraining-episode.png")
    finally:
        browser.close()
        server.stop()
