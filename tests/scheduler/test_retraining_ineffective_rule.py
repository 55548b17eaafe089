"""Rule `retraining_ineffective` through the scheduler on Postgres: drift fires the dataset
rule, its notification's delivery id is passed to the deployment of version 2, and the
version's first windows decide: still drifting (fires, payload links the episode), clean
(no alert), clean but labels say accuracy is below the rule's threshold (fires)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
from notify.notify_support import Receiver
from scheduler_support import T0, put, traffic, training
from sklearn.metrics import accuracy_score

from monitor.deployments import deploy
from monitor.events import Label
from monitor.notify.delivery import deliver_due
from monitor.reference import materialise
from monitor.scheduler.ticks import tick
from monitor.settings import parse_settings
from monitor.storage.alerts import list_alerts
from monitor.storage.writes import store_batch

HOUR = timedelta(hours=1)
SECRET = "s" * 32


def _settings(url: str, ref, hook: str, **rule):
    ineffective = {"name": "ineffective", "condition": "retraining_ineffective",
                   "severity": "critical", "windows": 2, "min_drifted": 2, **rule}  # fmt: skip
    return parse_settings(
        {
            "database": {"url": url},
            "reports": {"enabled": False},
            "monitors": [
                {
                    "name": "mon",
                    "model": "m",
                    "model_version": "1",
                    "reference": str(ref),
                    "window": {"size": "1h", "bucket": "5m", "min_events": 100},
                    "performance": {"min_rows": 50},
                    "rules": [
                        {"name": "dataset", "condition": "dataset_drift", "severity": "critical"},
                        ineffective,
                    ],
                }
            ],
            "alerting": {"routes": {"hook": {"type": "webhook", "url": hook, "secret": SECRET}}},
        }
    )


def _v2(batch):
    return [dataclasses.replace(p, model_version="2", event_id="v2-" + p.event_id) for p in batch]


def _step(engine, settings, at):
    monitor = settings.monitors[0]
    outcomes = tick(engine, settings, monitor, now=at)
    deliver_due(engine, settings.alerting, now=at + timedelta(seconds=1))
    return outcomes


def _drift_then_deploy(engine, settings, recv: Receiver, ref2) -> tuple[str, int]:
    """Version 1: a clean hour, a drifted hour (the dataset alert fires, its webhook is
    delivered); then version 2 deployed at T0 + 2h naming that delivery."""
    materialise(engine, settings.monitors[0])
    put(
        engine,
        traffic(1200, T0, HOUR, seed=31) + traffic(1200, T0 + HOUR, HOUR, seed=32, shift=1.0),
    )
    _step(engine, settings, T0 + HOUR + timedelta(seconds=1))
    _step(engine, settings, T0 + 2 * HOUR + timedelta(seconds=1))
    [fired] = [r for r in recv.requests if r.json()["event"] == "drift.detected"]
    delivery = fired.headers["X-Monitor-Delivery"]
    out = deploy(engine, settings, model="m", version="2", reference=str(ref2),
                 trigger=delivery, now=T0 + 2 * HOUR)  # fmt: skip
    assert out.deployment.alert_id == fired.json()["alert_id"]
    return delivery, out.deployment.id


def _ineffective(engine):
    return [
        a for a in list_alerts(engine, monitor="mon", limit=50).alerts if a.rule == "ineffective"
    ]


def test_still_drifting_after_the_deployment_fires_with_the_episode(pg_engine, tmp_path) -> None:
    recv = Receiver()
    try:
        url = pg_engine.url.render_as_string(hide_password=False)
        ref1, ref2 = training(tmp_path / "v1.parquet"), training(tmp_path / "v2.parquet", seed=2)
        settings = _settings(url, ref1, recv.url)
        delivery, dep_id = _drift_then_deploy(pg_engine, settings, recv, ref2)
        put(pg_engine, _v2(traffic(1200, T0 + 2 * HOUR, 2 * HOUR, seed=41, shift=1.0)))

        first = _step(pg_engine, settings, T0 + 3 * HOUR + timedelta(seconds=1))
        assert [o.dataset_drift for o in first] == [True]
        assert _ineffective(pg_engine) == []  # one window of two: too early
        second = _step(pg_engine, settings, T0 + 4 * HOUR + timedelta(seconds=1))
        assert [o.dataset_drift for o in second] == [True]
    finally:
        recv.stop()

    [alert] = _ineffective(pg_engine)
    assert (alert.state, alert.subject) == ("firing", f"deployment {dep_id}")
    [note] = [r.json() for r in recv.requests if r.json()["event"] == "retraining.detected"]
    assert note["model_version"] == "2" and note["condition"] == "retraining_ineffective"
    ep = note["retraining"]
    assert ep["deployment_id"] == dep_id and ep["version"] == "2"
    assert ep["delivery_id"] == delivery and ep["alert_id"] is not None
    assert (ep["windows"], ep["min_drifted"], ep["drifted"]) == (2, 2, 2)
    assert ep["runs"] == [first[0].run_id, second[0].run_id]
    assert "dataset drift on 2 of its first 2 windows" in note["summary"]


def test_clean_windows_after_the_deployment_do_not_fire(pg_engine, tmp_path) -> None:
    recv = Receiver()
    try:
        url = pg_engine.url.render_as_string(hide_password=False)
        ref1, ref2 = training(tmp_path / "v1.parquet"), training(tmp_path / "v2.parquet", seed=2)
        settings = _settings(url, ref1, recv.url)
        _drift_then_deploy(pg_engine, settings, recv, ref2)
        put(pg_engine, _v2(traffic(2400, T0 + 2 * HOUR, 2 * HOUR, seed=51)))
        runs = [
            _step(pg_engine, settings, T0 + k * HOUR + timedelta(seconds=1))[0] for k in (3, 4, 5)
        ]
    finally:
        recv.stop()
    assert [o.dataset_drift for o in runs] == [False, False, None]  # the third: no events
    assert _ineffective(pg_engine) == []
    assert not [r for r in recv.requests if r.json()["event"].startswith("retraining.")]


def _labels(batch, accuracy: float, seed: int) -> list[Label]:
    """A label per prediction, equal to it with probability `accuracy`."""
    rng = np.random.default_rng(seed)
    right = rng.uniform(size=len(batch)) < accuracy
    return [
        Label(p.event_id, p.model, p.prediction if ok else 1 - int(p.prediction), p.ts)
        for p, ok in zip(batch, right, strict=True)
    ]


def test_clean_drift_but_accuracy_below_the_threshold_fires(pg_engine, tmp_path) -> None:
    recv = Receiver()
    try:
        url = pg_engine.url.render_as_string(hide_password=False)
        ref1, ref2 = training(tmp_path / "v1.parquet"), training(tmp_path / "v2.parquet", seed=2)
        settings = _settings(url, ref1, recv.url, metric="accuracy", threshold=0.8)
        _drift_then_deploy(pg_engine, settings, recv, ref2)
        batch = _v2(traffic(3600, T0 + 2 * HOUR, 3 * HOUR, seed=61))
        put(pg_engine, batch)
        labels = _labels(batch, 0.6, seed=7)
        store_batch(pg_engine, [], labels, [])
        runs = [
            _step(pg_engine, settings, T0 + k * HOUR + timedelta(seconds=1))[0] for k in (3, 4, 5)
        ]
    finally:
        recv.stop()
    assert [o.dataset_drift for o in runs] == [False, False, False]
    [alert] = _ineffective(pg_engine)
    assert alert.state == "firing"
    # fired at the second run, on the labels of the first window (its performance run is
    # computed after its drift run); the third run judged both windows' labels
    [note] = [r.json() for r in recv.requests if r.json()["event"] == "retraining.detected"]
    perf = note["performance"]
    assert perf["metric"] == "accuracy" and perf["threshold"] == 0.8
    first = [(p.prediction, y.label) for p, y in zip(batch, labels, strict=True)
             if p.ts < T0 + 3 * HOUR]  # fmt: skip
    assert perf["labelled_rows"] == len(first) == 1200
    assert perf["value"] == accuracy_score([y for _, y in first], [p for p, _ in first])
    assert alert.details["performance"]["labelled_rows"] == 2400
    assert note["retraining"]["drifted"] == 0
    assert "accuracy" in note["summary"] and "worse than 0.8" in note["summary"]
