"""`monitor status`: the one-screen summary, on Postgres and SQLite, and consumer lag read
from a real broker."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cli_support import (
    closed_port,
    dead_letter,
    run,
    seed_drift_alert,
    store_dead_letters,
    write_config,
)
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy import select

from monitor.ingest.topics import create_topics
from monitor.settings import KafkaSettings
from monitor.storage.tables import drift_runs, notifications


def test_status_summarises_runs_alerts_outbox_and_dead_letters(db_url, tmp_path, capsys) -> None:
    config = write_config(tmp_path, db_url)
    _, engine, run_id = seed_drift_alert(config)
    now = datetime.now(UTC)
    store_dead_letters(
        engine,
        [
            dead_letter(1, b"{oops", reason="invalid_json", received_at=now - timedelta(minutes=5)),
            dead_letter(2, b"{}", reason="unknown_model", received_at=now - timedelta(minutes=1)),
            dead_letter(3, b"[]", reason="not_an_object", received_at=now - timedelta(hours=2)),
        ],
    )
    with engine.connect() as conn:
        [(share, n_drifted, n_features)] = conn.execute(
            select(drift_runs.c.drift_share, drift_runs.c.n_drifted, drift_runs.c.n_features)
        ).all()
        [(status, attempts)] = conn.execute(
            select(notifications.c.status, notifications.c.attempts)
        ).all()
    assert (status, attempts) == ("failed", 1)

    code, out, err = run(capsys, "status", "--config", config)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "monitor", "last", "window", "end", "(UTC)", "status", "drift", "share", "firing",
        "pending",
    ]  # fmt: skip
    assert lines[1].split() == [
        "mon", "2026-11-02", "13:00:00", "succeeded", "YES", f"{share:.2f}", "1", "0",
    ]  # fmt: skip
    assert lines[2].split() == ["quiet", "never", "-", "-", "-", "0", "0"]
    assert lines[4:] == [
        "outbox: 0 pending, 1 failed (0 delivered)",
        "dead letters: 2 in the last hour (invalid_json 1, unknown_model 1), 3 stored in total",
        "lag: use --lag",
    ]

    code, out, _ = run(capsys, "status", "--config", config, "--json")
    doc = json.loads(out)
    assert code == 0
    mon, quiet = doc["monitors"]
    assert mon["last_run"] == {
        "id": run_id,
        "window_end": "2026-11-02T13:00:00+00:00",
        "status": "succeeded",
        "dataset_drift": True,
        "drift_share": share,
        "n_drifted": n_drifted,
        "n_features": n_features,
    }
    assert n_drifted >= 1 and n_features == 3
    assert mon["alerts"] == {"firing": 1, "pending": 0}
    assert quiet == {
        "name": "quiet",
        "model": "q",
        "last_run": None,
        "alerts": {"firing": 0, "pending": 0},
    }
    assert doc["outbox"] == {"pending": 0, "failed": 1, "delivered": 0}
    assert doc["dead_letters"] == {
        "last_hour": {"invalid_json": 1, "unknown_model": 1},
        "last_hour_total": 2,
        "total": 3,
    }
    assert doc["lag"] is None


def test_status_of_an_empty_store(tmp_path, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path / 'e.db'}"}}))
    code, out, _ = run(capsys, "status", "--config", str(config))
    assert code == 0
    assert out.splitlines() == [
        "monitors: none configured",
        "",
        "outbox: 0 pending, 0 failed (0 delivered)",
        "dead letters: 0 in the last hour, 0 stored in total",
        "lag: use --lag",
    ]


def _kafka_config(tmp_path, bootstrap: str, group: str, topics: tuple[str, str]) -> str:
    doc = {
        "database": {"url": f"sqlite:///{tmp_path / 'lag.db'}"},
        "kafka": {
            "bootstrap_servers": [bootstrap],
            "group_id": group,
            "predictions_topic": topics[0],
            "labels_topic": topics[1],
        },
    }
    path = tmp_path / "lag.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_lag_is_highwater_minus_the_groups_committed_offsets(
    kafka_bootstrap, tmp_path, capsys
) -> None:
    uid = uuid.uuid4().hex[:8]
    topics, group = (f"pred-{uid}", f"lab-{uid}"), f"g-{uid}"
    create_topics(KafkaSettings(bootstrap_servers=[kafka_bootstrap]), topics, 2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    try:
        for i in range(30):  # N = 30 predictions: 20 on partition 0, 10 on partition 1
            producer.send(topics[0], value=b"{}", partition=0 if i < 20 else 1)
        for _ in range(5):  # 5 labels, never consumed by the group
            producer.send(topics[1], value=b"{}", partition=0)
        producer.flush()
    finally:
        producer.close()

    # the group consumes M = 19 (15 of partition 0, 4 of partition 1) and commits them
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    p0, p1 = TopicPartition(topics[0], 0), TopicPartition(topics[0], 1)
    try:
        consumer.assign([p0, p1])
        seen: dict[int, int] = {0: 0, 1: 0}
        deadline = time.monotonic() + 20
        while (seen[0] < 20 or seen[1] < 10) and time.monotonic() < deadline:
            for tp, recs in consumer.poll(timeout_ms=200).items():
                seen[tp.partition] += len(recs)
        assert seen == {0: 20, 1: 10}
        consumer.commit({p0: OffsetAndMetadata(15, "", -1), p1: OffsetAndMetadata(4, "", -1)})
    finally:
        consumer.close(autocommit=False)

    config = _kafka_config(tmp_path, kafka_bootstrap, group, topics)
    code, out, err = run(capsys, "status", "--config", config, "--lag")
    assert (code, err) == (0, ""), err
    assert out.splitlines()[-1] == (
        f"lag (group {group}): {topics[0]} 11 [p0=5 p1=6]; {topics[1]} 5 [p0=5 p1=0]"
    )
    code, out, _ = run(capsys, "status", "--config", config, "--lag", "--json")
    lag = json.loads(out)["lag"]
    assert lag["topics"][topics[0]] == {
        "total": 11,
        "partitions": {"0": 5, "1": 6},
        "missing": False,
    }
    assert lag["topics"][topics[1]]["total"] == 5

    # reading the lag committed nothing
    check = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    try:
        assert [check.committed(p0), check.committed(p1)] == [15, 4]
        assert check.committed(TopicPartition(topics[1], 0)) is None
    finally:
        check.close()


@pytest.mark.timeout(60)
def test_lag_with_kafka_unreachable_is_one_line(tmp_path, capsys) -> None:
    config = _kafka_config(tmp_path, f"127.0.0.1:{closed_port()}", "g", ("p", "l"))
    started = time.monotonic()
    code, out, err = run(capsys, "status", "--config", config, "--lag", "--lag-timeout", "1")
    assert code == 2 and out == ""
    assert err.startswith("monitor: lag: cannot reach Kafka") and err.count("\n") == 1
    assert time.monotonic() - started < 15


@pytest.mark.timeout(90)
def test_lag_is_printed_while_the_database_is_unreachable(kafka_bootstrap, tmp_path, capsys):
    uid = uuid.uuid4().hex[:8]
    topics, group = (f"pred-{uid}", f"lab-{uid}"), f"g-{uid}"
    create_topics(KafkaSettings(bootstrap_servers=[kafka_bootstrap]), topics, 1)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    try:
        for _ in range(12):
            producer.send(topics[0], value=b"{}", partition=0)
        producer.flush()
    finally:
        producer.close()
    tp = TopicPartition(topics[0], 0)
    committer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    try:
        committer.commit({tp: OffsetAndMetadata(5, "", -1)})
    finally:
        committer.close(autocommit=False)
    config = _kafka_config(tmp_path, kafka_bootstrap, group, topics)
    doc = yaml.safe_load(Path(config).read_text())
    doc["database"] = {"url": f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/gone"}
    Path(config).write_text(yaml.safe_dump(doc))

    code, out, err = run(capsys, "status", "--config", config, "--lag")
    assert code == 2
    assert out.splitlines()[0].startswith("database: unreachable (")
    assert (
        out.splitlines()[-1] == f"lag (group {group}): {topics[0]} 7 [p0=7]; {topics[1]} 0 [p0=0]"
    )
    assert err.startswith("monitor: ") and err.count("\n") == 1 and "Traceback" not in err

    code, out, _ = run(capsys, "status", "--config", config, "--lag", "--json")
    assert code == 2
    got = json.loads(out)
    assert got["database"]["reachable"] is False and got["monitors"] is None
    assert got["lag"]["topics"][topics[0]]["total"] == 7
