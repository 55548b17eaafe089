"""Seed a database the real way for API tests: stored traffic -> scheduler ticks -> alerts ->
outbox deliveries (one to a recording Slack stand-in, one to a closed port), plus dead letters.

Windows of monitor `mon` (1 h tumbling, from T0): W1 normal, W2 and W3 drifted (the dataset
rule fires at W2 and stays firing), W4 with too few events (insufficient_data; the `no-data`
rule, for: 2, goes pending). One feature is named like an HTML injection.

Reports are off while ticking (rendering imports Evidently: ~20 s on a loaded 2-core box);
run 2 gets a report file through the real writer (`write_report` + `report_url`) instead,
since what the API does with a report is serve the stored file.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import update

from monitor.events import DeadLetter, Prediction
from monitor.notify.delivery import deliver_due
from monitor.reports import report_url, write_report
from monitor.scheduler.ticks import tick
from monitor.settings import Settings, parse_settings
from monitor.storage.tables import drift_runs
from monitor.storage.writes import store_batch

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
XSS = "<img src=x onerror=alert(1)>"
READ_TOKEN = "read-" + uuid.uuid4().hex
ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
REPORT_HTML = "<!doctype html><title>report</title><script>fetch('/api/v1/monitors')</script>"
BAD_RAW = b'{"model": "m", "features": <script>alert(1)</script>}\xff\xfe\x00'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def training(path: Path, n: int = 3000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            XSS: rng.normal(5, 1, n),
            "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "prediction": rng.uniform(0, 1, n),
        }
    ).to_parquet(path)
    return path


def traffic(n: int, start: datetime, *, shift: float = 0.0, seed: int = 1) -> list[Prediction]:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    z = rng.normal(5 + shift, 1, n)
    c = rng.choice(["a", "b", "c"], n, p=[0.8, 0.1, 0.1] if shift else [0.5, 0.3, 0.2])
    step = HOUR / n
    return [
        Prediction(
            event_id=f"{seed}-{i}",
            model="m",
            model_version="1",
            ts=start + step * i,
            features={"x": float(x[i]), XSS: float(z[i]), "c": str(c[i])},
            prediction=float(rng.uniform()),
        )
        for i in range(n)
    ]


def make_settings(
    url: str,
    ref: Path,
    reports: Path,
    *,
    slack_url: str,
    webhook_url: str,
    tokens: bool = True,
    **api: Any,
) -> Settings:
    monitor = {
        "model": "m",
        "reference": str(ref),
        "window": {"size": "1h", "bucket": "5m", "min_events": 100},
        "rules": [
            {"name": "dataset", "condition": "dataset_drift", "severity": "critical"},
            {"name": "no-data", "condition": "insufficient_data", "for": 2},
        ],
    }
    doc: dict[str, Any] = {
        "database": {"url": url},
        "reports": {"enabled": False, "directory": str(reports)},
        "monitors": [{"name": "mon", **monitor}, {"name": "mon2", **monitor, "rules": []}],
        "alerting": {
            "routes": {
                "slack": {"type": "slack", "webhook_url": slack_url},
                "retrain": {"type": "webhook", "url": webhook_url, "secret": "s" * 32},
            }
        },
        "api": {
            "read_tokens": [READ_TOKEN] if tokens else [],
            "admin_tokens": [ADMIN_TOKEN] if tokens else [],
            "feature_metrics": ["mon"],
            **api,
        },
    }
    return parse_settings(doc)


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    runs: list[int]  # run ids of mon, oldest window first
    statuses: list[str]


def seed(engine: Any, settings: Settings) -> Seeded:
    monitor = settings.monitor("mon")
    batches = [
        traffic(600, T0, seed=11),
        traffic(600, T0 + HOUR, shift=1.5, seed=12),
        traffic(600, T0 + 2 * HOUR, shift=1.5, seed=13),
        traffic(40, T0 + 3 * HOUR, seed=14),
    ]
    for batch in batches:
        store_batch(engine, batch, [], [])
    runs, statuses = [], []
    for i in range(1, 5):
        at = T0 + i * HOUR + timedelta(seconds=1)
        (outcome,) = tick(engine, settings, monitor, now=at)
        runs.append(outcome.run_id)
        statuses.append(outcome.status)
        deliver_due(engine, settings.alerting, now=at + timedelta(seconds=1))
    dead = [
        DeadLetter("predictions", 0, 7, "invalid_json", "not JSON", BAD_RAW, T0),
        DeadLetter("predictions", 0, 8, "unknown_model", "model 'zz' is not monitored", b"{}", T0),
        DeadLetter("labels", 1, 3, "invalid_json", "not JSON", b"\x00\x01", T0),
    ]
    store_batch(engine, [], [], dead)
    path = write_report(REPORT_HTML, settings.reports.directory, f"mon-run{runs[1]}")
    url = report_url(path, settings.reports.base_url)
    with engine.begin() as conn:
        conn.execute(update(drift_runs).where(drift_runs.c.id == runs[1]).values(report_url=url))
    return Seeded(settings, runs, statuses)
