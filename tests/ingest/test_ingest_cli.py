"""`monitor serve` and `monitor produce-sample` as subprocesses against the real broker and DB."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import orjson
import yaml
from ingest_support import wait_until
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from monitor.events import EventRejected, parse_label, parse_prediction


def _config(kit, tmp_path, **kafka) -> str:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "kafka": {
                    "bootstrap_servers": [kit.bootstrap],
                    "group_id": f"g-{kit.uid}",
                    "predictions_topic": kit.topics[0],
                    "labels_topic": kit.topics[1],
                    "session_timeout_ms": 6000,
                    "heartbeat_interval_ms": 1000,
                    **kafka,
                },
                "database": {"url": kit.db_url, "auto_upgrade": True},
                "monitors": [{"name": kit.model, "model": kit.model}],
            }
        )
    )
    return str(path)


def _monitor(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_sigterm_on_serve_commits_what_was_stored_and_exits_0(kit, tmp_path):
    kit.create_topics(partitions=2)
    proc = _monitor("serve", "--config", _config(kit, tmp_path), "--role", "consumer")
    try:
        events = [
            orjson.dumps(
                {"event_id": f"e{i}", "model": kit.model, "timestamp": i, "features": {"x": i}}
            )
            for i in range(500)
        ]
        kit.produce(events)
        wait_until(lambda: kit.predictions() == 500, timeout=60, what="500 stored by serve")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    assert "event=shutdown_requested signal=SIGTERM" in err
    assert "event=serve_stopped" in err
    assert sum(kit.committed(partitions=2).values()) == 500


def test_serve_rejects_a_role_that_does_not_exist(tmp_path):
    proc = _monitor("serve", "--role", "janitor")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "Invalid value for '--role'" in err and "Traceback" not in err


def test_produce_sample_writes_parseable_events_labels_and_malformed_ones(kit, tmp_path):
    config = _config(kit, tmp_path)
    proc = _monitor(
        "produce-sample",
        "--bootstrap",
        kit.bootstrap,
        "--config",
        config,
        "--model",
        kit.model,
        "--count",
        "400",
        "--bad-share",
        "0.1",
        "--label-share",
        "0.5",
        "--seed",
        "7",
        "--create-topics",
        "2",
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    consumer = KafkaConsumer(bootstrap_servers=kit.bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(t, p) for t in kit.topics for p in range(2)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records = []
    deadline = time.monotonic() + 30
    while len(records) < int(out.split()[1]) and time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=500).values():
            records.extend(recs)
    consumer.close()
    assert len(records) == int(out.split()[1])
    known = frozenset({kit.model})
    good = bad = labels = 0
    for rec in records:
        if rec.topic == kit.topics[1]:
            parse_label(rec.value, max_bytes=1 << 20, known_models=known)
            labels += 1
            continue
        try:
            event = parse_prediction(rec.value, max_bytes=1 << 20, known_models=known)
            assert len(event.features) == 20
            good += 1
        except EventRejected:
            bad += 1
    assert good + bad == 400
    assert 20 <= bad <= 60  # 10% of 400, binomial spread
    assert 0.35 * good <= labels <= 0.65 * good
