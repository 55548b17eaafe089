"""Seed a store the real way for the dashboard: stored traffic + labels -> scheduler ticks ->
drift runs, performance runs, alerts -> outbox deliveries to a recording Slack stand-in.

Two monitors of one model (versions 1 and 2) over four 1-hour windows from T0. Version 1's
windows 2 and 3 are shifted (x and the feature named like an HTML injection move by 1.5 σ,
category c tilts towards "a"), so the dataset rule fires at W2 and resolves at W4; version 2
stays normal. `y` is never shifted. A category value is hostile too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import update

from monitor.events import Label, Prediction
from monitor.notify.delivery import deliver_due
from monitor.reports import report_url, write_report
from monitor.scheduler.ticks import tick
from monitor.settings import Settings, parse_settings
from monitor.storage.tables import drift_runs
from monitor.storage.writes import store_batch

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
XSS = "<img src=x onerror=alert(1)>"
XSS_CATEGORY = '"><svg onload=alert(2)>'
MODEL = 'churn<b>&"'
SHIFTED = ("x", XSS, "c")
STEADY = ("y",)
CATEGORIES = ["a", "b", XSS_CATEGORY]
REPORT_HTML = "<!doctype html><title>report</title><h1>stored report</h1>"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"  # git-ignored


def training(path: Path, n: int = 3000, seed: int = 0, extra: str | None = None) -> Path:
    """The reference file, labelled (its metrics are the performance charts' reference line).
    `extra`: one more numeric feature of that name (a copy of y's distribution)."""
    rng = np.random.default_rng(seed)
    proba = rng.uniform(0, 1, n)
    frame = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            XSS: rng.normal(5, 1, n),
            "y": rng.lognormal(0, 0.5, n),
            "c": rng.choice(CATEGORIES, n, p=[0.5, 0.3, 0.2]),
            "prediction": proba,
            "label": ((proba >= 0.5) ^ (rng.uniform(0, 1, n) < 0.1)).astype(int),
        }
    )
    if extra is not None:
        frame[extra] = rng.lognormal(0, 0.5, n)
    frame.to_parquet(path)
    return path


def traffic(
    n: int,
    start: datetime,
    version: str,
    *,
    shift: float = 0.0,
    seed: int = 1,
    extra: str | None = None,
) -> tuple[list[Prediction], list[Label]]:
    """n predictions over one hour and a label for each (worse agreement when shifted)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    z = rng.normal(5 + shift, 1, n)
    y = rng.lognormal(0, 0.5, n)
    c = rng.choice(CATEGORIES, n, p=[0.8, 0.1, 0.1] if shift else [0.5, 0.3, 0.2])
    proba = rng.uniform(0, 1, n)
    flip = rng.uniform(0, 1, n) < (0.35 if shift else 0.1)
    truth = (proba >= 0.5) ^ flip
    step = HOUR / n
    preds, labels = [], []
    for i in range(n):
        event_id = f"v{version}-{seed}-{i}"
        ts = start + step * i
        features: dict[str, Any] = {"x": float(x[i]), XSS: float(z[i]), "y": float(y[i])}
        features["c"] = str(c[i])
        if extra is not None:
            features[extra] = float(y[i])
        preds.append(
            Prediction(
                event_id=event_id,
                model=MODEL,
                model_version=version,
                ts=ts,
                features=features,
                prediction=int(proba[i] >= 0.5),
                prediction_proba=float(proba[i]),
            )
        )
        labels.append(Label(event_id=event_id, model=MODEL, label=int(truth[i]), ts=ts))
    return preds, labels


def monitor_config(name: str, version: str, ref: Path | str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": MODEL,
        "model_version": version,
        "reference": str(ref),
        "window": {"size": "1h", "bucket": "5m", "min_events": 100},
        "drift": {"drift_share": 0.3},
        "performance": {"enabled": True, "task": "classification", "min_rows": 50},
        "rules": [{"name": "dataset", "condition": "dataset_drift", "severity": "critical"}],
        **extra,
    }


def make_settings(
    url: str,
    ref: Path,
    reports: Path,
    *,
    slack_url: str,
    read_token: str,
    admin_token: str,
    more: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Settings:
    return parse_settings(
        {
            "database": {"url": url},
            "reports": {"enabled": False, "directory": str(reports)},
            "monitors": [
                monitor_config("churn-v1", "1", ref),
                monitor_config("churn-v2", "2", ref),
                *more,
            ],
            "alerting": {"routes": {"slack": {"type": "slack", "webhook_url": slack_url}}},
            "api": {"read_tokens": [read_token], "admin_tokens": [admin_token]},
        }
    )


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    runs: dict[str, list[int]]  # monitor -> run ids, oldest window first


def seed(engine: Any, settings: Settings) -> Seeded:
    """churn-v1 and churn-v2 (any further monitors of `settings` are left alone)."""
    shifts = {"churn-v1": [0.0, 1.5, 1.5, 0.0], "churn-v2": [0.0, 0.0, 0.0, 0.0]}
    monitors = [m for m in settings.monitors if m.name in shifts]
    for m in monitors:
        for w, shift in enumerate(shifts[m.name]):
            seed_n = 10 * (1 + settings.monitors.index(m)) + w
            preds, labels = traffic(500, T0 + w * HOUR, m.model_version, shift=shift, seed=seed_n)
            store_batch(engine, preds, labels, [])
    runs: dict[str, list[int]] = {m.name: [] for m in monitors}
    for i in range(1, 5):
        at = T0 + i * HOUR + timedelta(seconds=1)
        for m in monitors:
            (outcome,) = tick(engine, settings, m, now=at)
            runs[m.name].append(outcome.run_id)
        deliver_due(engine, settings.alerting, now=at + timedelta(seconds=1))
    run_id = runs["churn-v1"][1]
    path = write_report(REPORT_HTML, settings.reports.directory, f"churn-v1-run{run_id}")
    with engine.begin() as conn:
        conn.execute(
            update(drift_runs)
            .where(drift_runs.c.id == run_id)
            .values(report_url=report_url(path, settings.reports.base_url))
        )
    return Seeded(settings, runs)


def login(client: Any, token: str, next_path: str = "/") -> Any:
    """Sign in through the form as a browser does: GET (cookie + CSRF field), then POST."""
    form = client.get("/login", params={"next": next_path})
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return client.post("/login", data={"csrf": csrf, "token": token, "next": next_path})
