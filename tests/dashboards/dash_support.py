"""A database filled the real way for the dashboard tests, and Grafana's macro expansion.

Seed: predictions and labels are produced to Kafka (the tansu broker), consumed by the real
ingestor (feeding an IngestObserver, as `serve` does) into Postgres; then the scheduler ticks
each window and the outbox delivers. Windows of monitor `mon` (1 h, from T0): W1 and W2
normal with good labels, W3 shifted (x moves by 1.5 sd, a new category "d" appears, 10% of
x is missing, a feature named with a quote moves too) with labels that say the model got
worse: dataset drift and a performance alert fire. Two model versions and two segments.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from kafka import KafkaProducer

from monitor.api.prometheus import IngestObserver
from monitor.ingest.consumer import build_ingestor
from monitor.ingest.topics import create_topics
from monitor.notify.delivery import deliver_due
from monitor.scheduler.ticks import tick
from monitor.settings import Settings, parse_settings

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
QUOTED = "o'clock"  # a feature name that must not break the SQL literal it is put in
N = 500  # predictions per window


def training(path: Path, n: int = 3000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    proba = rng.uniform(0, 1, n)
    pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            QUOTED: rng.normal(5, 1, n),
            "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "prediction": proba,
            "label": (rng.uniform(0, 1, n) < proba).astype(int),
        }
    ).to_parquet(path)
    return path


def window_events(
    start: datetime, *, shifted: bool, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(predictions, labels) of one window as event-contract documents."""
    rng = np.random.default_rng(seed)
    shift = 1.5 if shifted else 0.0
    x = rng.normal(shift, 1, N)
    q = rng.normal(5 + shift, 1, N)
    cats = ["a", "b", "c", "d"]
    c = rng.choice(cats, N, p=[0.6, 0.1, 0.1, 0.2] if shifted else [0.5, 0.3, 0.2, 0.0])
    proba = rng.uniform(0, 1, N)
    truth = rng.uniform(0, 1, N) < (0.5 if shifted else proba)
    step = HOUR / N
    preds, labels = [], []
    for i in range(N):
        at = start + step * i
        eid = f"{seed}-{i}"
        preds.append(
            {
                "event_id": eid,
                "model": "m",
                "model_version": "2" if i % 3 == 0 else "1",
                "timestamp": at.isoformat(),
                "features": {
                    "x": None if shifted and i % 10 == 0 else float(x[i]),
                    QUOTED: float(q[i]),
                    "c": str(c[i]),
                },
                "prediction": int(proba[i] >= 0.5),
                "prediction_proba": float(proba[i]),
                "segment": {"region": "eu" if i % 2 else "us"},
            }
        )
        labels.append(
            {
                "event_id": eid,
                "model": "m",
                "label": int(truth[i]),
                "timestamp": (at + timedelta(minutes=10)).isoformat(),
            }
        )
    return preds, labels


def make_settings(
    url: str, ref: Path, kafka_bootstrap: str, *, slack_url: str, webhook_url: str
) -> Settings:
    uid = uuid.uuid4().hex[:8]
    return parse_settings(
        {
            "database": {"url": url},
            "kafka": {
                "bootstrap_servers": [kafka_bootstrap],
                "group_id": f"dash-{uid}",
                "predictions_topic": f"dash-p-{uid}",
                "labels_topic": f"dash-l-{uid}",
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "poll_timeout_ms": 100,
            },
            "reports": {"enabled": False},
            "monitors": [
                {
                    "name": "mon",
                    "model": "m",
                    "reference": str(ref),
                    "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                    "performance": {"min_rows": 100, "label_horizon": "2d"},
                    "rules": [
                        {"name": "dataset", "condition": "dataset_drift", "severity": "critical"},
                        {
                            "name": "auc-drop",
                            "condition": "performance",
                            "metric": "roc_auc",
                            "max_drop": 0.1,
                            "min_rows": 100,
                            "severity": "warning",
                        },
                    ],
                }
            ],
            "alerting": {
                "routes": {
                    "slack": {"type": "slack", "webhook_url": slack_url},
                    "retrain": {"type": "webhook", "url": webhook_url, "secret": "s" * 32},
                }
            },
            "api": {"feature_metrics": ["mon"]},
        }
    )


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    observer: IngestObserver
    start: datetime
    end: datetime


def seed(engine: Any, settings: Settings) -> Seeded:
    """Kafka -> real consumer -> Postgres -> scheduler ticks -> outbox deliveries."""
    kafka = settings.kafka
    create_topics(kafka, [kafka.predictions_topic, kafka.labels_topic], 1)
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap_servers, linger_ms=5)
    sent = 0
    for w in range(3):
        preds, labels = window_events(T0 + w * HOUR, shifted=w == 2, seed=20 + w)
        for doc in preds:
            producer.send(kafka.predictions_topic, orjson.dumps(doc))
        for doc in labels:
            producer.send(kafka.labels_topic, orjson.dumps(doc))
        sent += len(preds) + len(labels)
    producer.send(kafka.predictions_topic, b"{not json")  # one dead letter
    producer.flush()
    producer.close()
    sent += 1

    observer = IngestObserver()
    ingestor = build_ingestor(
        settings, engine, metrics=observer.metrics, before_commit=observer.committed
    )
    stop = threading.Event()
    thread = threading.Thread(target=ingestor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 90
        while sum(observer.snapshot().consumed.values()) < sent:
            if time.monotonic() > deadline:
                raise AssertionError(f"consumed {observer.snapshot().consumed} of {sent}")
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(20)

    monitor = settings.monitor("mon")
    for w in range(1, 4):
        at = T0 + w * HOUR + timedelta(seconds=1)
        tick(engine, settings, monitor, now=at)
        deliver_due(engine, settings.alerting, now=at + timedelta(seconds=1))
    return Seeded(settings, observer, T0 - HOUR, T0 + 4 * HOUR)


# --- Grafana's macro and variable expansion (PostgreSQL datasource) -------------------------

TIME_GROUP_ALIAS = re.compile(r"\$__timeGroupAlias\(\s*([^,()]+?)\s*,\s*([0-9]+)([smhd])\s*\)")
TIME_FILTER = re.compile(r"\$__timeFilter\(\s*([^()]+?)\s*\)")
VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sqlstring(values: list[str]) -> str:
    """Grafana's `sqlstring` format: each value quoted, single quotes doubled, comma-joined."""
    return ",".join("'" + v.replace("'", "''") + "'" for v in values)


def expand(sql: str, start: datetime, end: datetime, variables: dict[str, list[str]]) -> str:
    """The query Grafana sends to Postgres for this time range and these variable values."""

    def group(m: re.Match[str]) -> str:
        seconds = int(m.group(2)) * UNIT_SECONDS[m.group(3)]
        return f'floor(extract(epoch from {m.group(1)})/{seconds})*{seconds} AS "time"'

    def time_filter(m: re.Match[str]) -> str:
        return f"{m.group(1)} BETWEEN '{rfc3339(start)}' AND '{rfc3339(end)}'"

    def variable(m: re.Match[str]) -> str:
        name, fmt = m.group(1) or m.group(3), m.group(2)
        if name not in variables:
            raise KeyError(f"no test value for variable {name!r} in {sql!r}")
        values = variables[name]
        if fmt == "sqlstring":
            return sqlstring(values)
        if fmt is not None:
            raise KeyError(f"format {fmt!r} not emulated")
        return ",".join(values)

    out = TIME_GROUP_ALIAS.sub(group, sql)
    out = TIME_FILTER.sub(time_filter, out)
    if "$__" in out:
        raise KeyError(f"unexpanded macro in {out!r}")
    return VARIABLE.sub(variable, out)
