"""Metrics against real Prometheus tools (Debian package `prometheus`; `make test` installs it):
promtool lints a real exposition and the shipped rules, and a real Prometheus scrapes the app
served by uvicorn (with a bearer token) and reports what the database holds."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
import yaml
from api_support import READ_TOKEN, free_port
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from monitor.api.prometheus import IngestObserver
from monitor.api.server import ServerThread
from monitor.app import create_app
from monitor.ingest.consumer import build_ingestor
from monitor.ingest.topics import create_topics
from monitor.settings import parse_settings
from monitor.storage.tables import alerts, drift_runs

RULES_DIR = Path(__file__).resolve().parents[2] / "config" / "prometheus"


def tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(
            f"{name} is not installed: install the Debian package `prometheus` "
            "(`make test` does: apt-get install -y prometheus)",
            pytrace=False,
        )
    return path


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def served(engine, facts):
    server = ServerThread(create_app(engine, facts.settings), "127.0.0.1", 0).start()
    yield server
    server.stop()


def scrape(url: str) -> str:
    r = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {READ_TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_exposition_passes_promtool_and_names_follow_the_rules(served):
    text = scrape(served.url)
    result = promtool("check", "metrics", stdin=text.encode())
    assert result.returncode == 0, result.stdout + result.stderr
    names = {f.name for f in text_string_to_metric_families(text)}
    ours = {n for n in names if n.startswith("monitor_")}
    assert {
        "monitor_build_info",
        "monitor_alerts_firing",
        "monitor_drift_share_ratio",
        "monitor_dataset_drift",
        "monitor_runs",  # exposed as monitor_runs_total
        "monitor_run_duration_seconds",
        "monitor_notifications",
        "monitor_dead_letters",
    } <= ours
    assert not any(":" in n for n in names)
    assert httpx.get(f"{served.url}/metrics", timeout=10).status_code == 401


def test_shipped_rules_and_config_pass_promtool(tmp_path):
    checked = promtool("check", "rules", str(RULES_DIR / "rules.yml"))
    assert checked.returncode == 0 and "SUCCESS: 7 rules found" in checked.stdout, checked.stdout
    tested = promtool("test", "rules", str(RULES_DIR / "rules_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
    config = yaml.safe_load((RULES_DIR / "prometheus.yml").read_text())
    token = tmp_path / "token"
    token.write_text("x" * 20)
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(token)
    config["rule_files"] = [str(RULES_DIR / "rules.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def _query(base: str, expr: str) -> list[dict]:
    r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert r["status"] == "success", r
    return r["data"]["result"]


@pytest.fixture(scope="module")
def prometheus(served, tmp_path_factory):
    work = tmp_path_factory.mktemp("prometheus")
    token = work / "token"
    token.write_text(READ_TOKEN)
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES_DIR / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": "monitor",
                "authorization": {"type": "Bearer", "credentials_file": str(token)},
                "static_configs": [{"targets": [f"127.0.0.1:{served.port}"]}],
            }
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = open(work / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (work / "prometheus.log").read_text()[-3000:]
            try:  # 503 with a text body until the TSDB is open; then empty until a scrape
                r = httpx.get(f"{base}/api/v1/query", params={"query": 'up{job="monitor"} == 1'})
                if r.status_code == 200 and r.json()["data"]["result"]:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (work / "prometheus.log").read_text()[-3000:]
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _value(base: str, expr: str) -> float:
    result = _query(base, expr)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def test_prometheus_scrapes_what_the_database_holds(prometheus, engine):
    r = drift_runs.c
    with engine.connect() as conn:
        firing = conn.execute(
            select(func.count()).where(
                alerts.c.monitor == "mon",
                alerts.c.state == "firing",
                alerts.c.severity == "critical",
            )
        ).scalar_one()
        share = conn.execute(
            select(r.drift_share)
            .where(r.monitor == "mon", r.status == "succeeded")
            .order_by(r.window_end.desc())
            .limit(1)
        ).scalar_one()
        succeeded = conn.execute(
            select(func.count()).where(r.monitor == "mon", r.status == "succeeded")
        ).scalar_one()
        last_end = conn.execute(
            select(func.max(r.window_end)).where(r.monitor == "mon")
        ).scalar_one()
    assert firing == 1 and succeeded == 3
    q = prometheus
    assert _value(q, 'monitor_alerts_firing{monitor="mon",severity="critical"}') == firing
    assert _value(q, 'sum(monitor_alerts_firing{monitor="mon"})') == firing
    assert _value(q, 'monitor_drift_share_ratio{monitor="mon"}') == pytest.approx(share)
    assert _value(q, 'monitor_dataset_drift{monitor="mon"}') == 1
    assert _value(q, 'monitor_runs_total{monitor="mon",status="succeeded"}') == succeeded
    assert _value(q, 'monitor_run_duration_seconds_count{monitor="mon"}') == succeeded + 1
    assert _value(q, 'monitor_run_last_status{monitor="mon",status="insufficient_data"}') == 1
    last = _value(q, 'monitor_run_last_window_end_timestamp_seconds{monitor="mon"}')
    assert datetime.fromtimestamp(last, UTC) == last_end.astimezone(UTC)
    assert _value(q, 'monitor_dead_letters{reason="invalid_json"}') == 2
    assert _value(q, 'monitor_build_info{version!=""}') == 1
    rules = httpx.get(f"{q}/api/v1/rules", timeout=5).json()["data"]["groups"][0]["rules"]
    assert len(rules) == 7 and all(rule["health"] == "ok" for rule in rules), rules


def test_ingest_counters_and_histograms_come_from_the_real_consumer(kafka_bootstrap, scratch):
    """The consumer's own IngestMetrics (and the two histograms fed through its public hooks)
    are exposed: counts equal what was produced, stored and rejected."""
    engine = scratch[0]  # not the shared database: this stores events and dead letters
    uid = uuid.uuid4().hex[:8]
    settings = parse_settings(
        {
            "kafka": {
                "bootstrap_servers": [kafka_bootstrap],
                "group_id": f"api-{uid}",
                "predictions_topic": f"p-{uid}",
                "labels_topic": f"l-{uid}",
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "poll_timeout_ms": 100,
            },
            "database": {"url": engine.url.render_as_string(hide_password=False)},
            "monitors": [{"name": "ingest", "model": f"m-{uid}"}],
            "api": {"read_tokens": [READ_TOKEN]},
        }
    )
    create_topics(
        settings.kafka, [settings.kafka.predictions_topic, settings.kafka.labels_topic], 1
    )
    ts = datetime.now(UTC) - timedelta(seconds=30)
    producer = KafkaProducer(bootstrap_servers=[kafka_bootstrap], linger_ms=5)
    for i in range(40):
        model = f"m-{uid}" if i % 4 else f"other-{uid}"  # a quarter: unknown model
        event = {"event_id": f"e{i}", "model": model, "timestamp": ts.isoformat(), "features": {}}
        producer.send(
            settings.kafka.predictions_topic, orjson.dumps(event | {"features": {"x": i}})
        )
    producer.send(settings.kafka.predictions_topic, b"{not json")
    producer.flush()
    producer.close()

    observer = IngestObserver()
    ingestor = build_ingestor(
        settings, engine, metrics=observer.metrics, before_commit=observer.committed
    )
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while sum(observer.snapshot().consumed.values()) < 41:
            assert time.monotonic() < deadline, observer.snapshot()
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(20)
    snap = observer.snapshot()
    server = ServerThread(create_app(engine, settings, ingest=observer), "127.0.0.1", 0).start()
    try:
        text = scrape(server.url)
    finally:
        server.stop()
    got = samples(text)
    topic = settings.kafka.predictions_topic
    assert got[("monitor_ingest_events_consumed_total", (("topic", topic),))] == 41
    assert (
        got[("monitor_ingest_events_stored_total", (("kind", "prediction"), ("model", f"m-{uid}")))]
        == 30
    )
    assert got[("monitor_ingest_events_rejected_total", (("reason", "unknown_model"),))] == 10
    assert got[("monitor_ingest_events_rejected_total", (("reason", "invalid_json"),))] == 1
    assert got[("monitor_ingest_batches_total", ())] == snap.batches >= 1
    assert got[("monitor_ingest_batch_duration_seconds_count", ())] == snap.batches
    delay_count = got[("monitor_ingest_event_delay_seconds_count", (("kind", "prediction"),))]
    assert delay_count == 30
    assert (
        got[("monitor_ingest_event_delay_seconds_bucket", (("kind", "prediction"), ("le", "10.0")))]
        == 0
    )
    assert (
        got[("monitor_ingest_event_delay_seconds_bucket", (("kind", "prediction"), ("le", "60.0")))]
        == 30
    )
    assert ("monitor_ingest_consumer_lag", (("topic", topic),)) in got
    assert not any(f"other-{uid}" in str(key) for key in got)  # unknown models: no label
    lint = promtool("check", "metrics", stdin=text.encode())
    assert lint.returncode == 0, lint.stdout + lint.stderr
