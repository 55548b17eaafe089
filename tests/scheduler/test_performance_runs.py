"""Performance in the scheduler: reference metrics from the training file, late labels revise
the right window, a drop below the reference fires a performance alert with its payload."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from scheduler_support import T0, put, settings_for, traffic
from sklearn.metrics import accuracy_score, roc_auc_score
from sqlalchemy import select

from monitor.events import Label
from monitor.reference import materialise
from monitor.scheduler.ticks import tick
from monitor.storage.performance_runs import latest_runs, run_history
from monitor.storage.tables import alerts, notifications
from monitor.storage.writes import store_batch

HOUR = timedelta(hours=1)


def _labelled_training(path, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    proba = rng.uniform(0, 1, n)
    frame = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.lognormal(0, 0.5, n),
            "c": rng.choice(["a", "b", "c"], n),
            "prediction": proba,
            "label": (rng.uniform(0, 1, n) < proba).astype(int),
        }
    )
    frame.to_parquet(path)
    return frame


def _labels(batch, *, good: bool, seed: int, at) -> list[Label]:
    rng = np.random.default_rng(seed)
    out = []
    for p in batch:
        truth = int(rng.uniform() < p.prediction_proba) if good else int(rng.uniform() < 0.5)
        out.append(Label(p.event_id, p.model, truth, at))
    return out


def test_late_labels_revise_windows_and_a_drop_fires_a_performance_alert(
    pg_engine, tmp_path
) -> None:
    train = _labelled_training(tmp_path / "ref.parquet")
    settings = settings_for(
        pg_engine.url.render_as_string(hide_password=False),
        tmp_path / "ref.parquet",
        performance={"min_rows": 100, "label_horizon": "2d"},
        rules=[
            {
                "name": "auc-drop",
                "condition": "performance",
                "metric": "roc_auc",
                "max_drop": 0.1,
                "min_rows": 200,
                "severity": "critical",
            }
        ],
    )
    settings = settings.model_copy(
        update={
            "alerting": settings.alerting.model_validate(
                {
                    "routes": {
                        "hook": {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s"}
                    }
                }
            )
        }
    )
    monitor = settings.monitors[0]
    ref = materialise(pg_engine, monitor)
    want = roc_auc_score(train["label"], train["prediction"])
    assert ref.performance["roc_auc"] == pytest.approx(want, rel=1e-12)

    w1 = traffic(600, T0, HOUR, seed=51)
    w2 = traffic(600, T0 + HOUR, HOUR, seed=52)
    put(pg_engine, w1)
    put(pg_engine, w2)
    tick(pg_engine, settings, monitor, now=T0 + HOUR + timedelta(seconds=1))
    first = latest_runs(pg_engine, "mon")
    assert [(r.window_start, r.status, r.labelled) for r in first] == [
        (T0, "insufficient_labels", 0)
    ]

    # labels for window 1 arrive (good model), window 2 closes without labels
    lab1 = _labels(w1, good=True, seed=1, at=T0 + 3 * HOUR)
    store_batch(pg_engine, [], lab1, [])
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(seconds=1))
    hist = run_history(pg_engine, "mon", T0, T0 + HOUR)
    assert [(h.revision, h.status, h.labelled) for h in hist] == [
        (1, "insufficient_labels", 0),
        (2, "succeeded", 600),
    ]
    y = [label.label for label in lab1]
    proba = [p.prediction_proba for p in w1]
    overall = hist[-1].metrics["overall"]
    assert overall["metrics"]["roc_auc"] == pytest.approx(roc_auc_score(y, proba), rel=1e-9)
    pred = [int(p >= 0.5) for p in proba]
    assert overall["metrics"]["accuracy"] == pytest.approx(accuracy_score(y, pred), rel=1e-12)

    # window 2's labels say the model got worse: AUC ~0.5, far below the reference's
    store_batch(pg_engine, [], _labels(w2, good=False, seed=2, at=T0 + 4 * HOUR), [])
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(minutes=1))
    newest = latest_runs(pg_engine, "mon")[0]
    assert (newest.window_start, newest.status, newest.revision) == (T0 + HOUR, "succeeded", 2)
    with pg_engine.connect() as conn:
        rows = conn.execute(select(notifications.c.event, notifications.c.payload)).all()
    assert [r.event for r in rows] == ["performance.detected"]
    perf = rows[0].payload["performance"]
    assert perf["metric"] == "roc_auc" and perf["reference"] == pytest.approx(want)
    assert perf["value"] < perf["threshold"] == pytest.approx(want - 0.1)

    # nothing new: no new revision, no new notification
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(minutes=2))
    assert len(run_history(pg_engine, "mon", T0 + HOUR, T0 + 2 * HOUR)) == 2
    with pg_engine.connect() as conn:
        assert len(conn.execute(select(notifications.c.id)).all()) == 1


def _inverted(batch, *, seed: int, at) -> list[Label]:
    """Labels a bad model would get: the truth is the opposite of what it predicts."""
    return [
        Label(lab.event_id, lab.model, 1 - int(lab.label), at)
        for lab in _labels(batch, good=True, seed=seed, at=at)
    ]


def _events(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(notifications.c.event, notifications.c.payload).order_by(notifications.c.id)
        ).all()
    return [(r.event, r.payload["window"]["start"], r.payload["subject"]) for r in rows]


def test_late_labels_revealing_a_drop_in_an_older_window_raise_and_resolve_its_alert(
    pg_engine, tmp_path
) -> None:
    _labelled_training(tmp_path / "ref.parquet")
    settings = settings_for(
        pg_engine.url.render_as_string(hide_password=False),
        tmp_path / "ref.parquet",
        performance={"min_rows": 100, "label_horizon": "2d"},
        rules=[
            {
                "name": "auc-drop",
                "condition": "performance",
                "metric": "roc_auc",
                "max_drop": 0.1,
                "min_rows": 200,
                "for": 2,  # a late window's alert does not wait for a second window
            }
        ],
    )
    hook = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s"}}
    alerting = settings.alerting.model_validate({"routes": hook})
    settings = settings.model_copy(update={"alerting": alerting})
    monitor = settings.monitors[0]
    w1 = traffic(2400, T0, HOUR, seed=61)
    w2 = traffic(600, T0 + HOUR, HOUR, seed=62)
    put(pg_engine, w1)
    put(pg_engine, w2)
    # window 2 is labelled first (a good model) and is the newest judged window
    store_batch(pg_engine, [], _labels(w2, good=True, seed=3, at=T0 + 2 * HOUR), [])
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(seconds=1))
    assert next((r.window_start, r.status) for r in latest_runs(pg_engine, "mon")) == (
        T0 + HOUR,
        "succeeded",
    )
    assert _events(pg_engine) == []

    # late labels for window 1 reveal a bad model there: its alert fires, once
    store_batch(pg_engine, [], _inverted(w1[:250], seed=4, at=T0 + 3 * HOUR), [])
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(minutes=1))
    [h1] = run_history(pg_engine, "mon", T0, T0 + HOUR)
    assert (h1.status, h1.labelled) == ("succeeded", 250)
    assert h1.metrics["overall"]["metrics"]["roc_auc"] < 0.5
    [(event, start, subject)] = _events(pg_engine)
    assert (event, start) == ("performance.detected", T0.isoformat())
    assert subject == "window 2026-11-02T12:00:00+00:00/2026-11-02T13:00:00+00:00"
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(minutes=2))
    assert len(_events(pg_engine)) == 1

    # the rest of window 1's labels: the model was fine after all, the alert resolves
    store_batch(pg_engine, [], _labels(w1[250:], good=True, seed=5, at=T0 + 4 * HOUR), [])
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(minutes=3))
    assert [h.labelled for h in run_history(pg_engine, "mon", T0, T0 + HOUR)] == [250, 2400]
    assert [e[:2] for e in _events(pg_engine)] == [
        ("performance.detected", T0.isoformat()),
        ("performance.resolved", T0.isoformat()),
    ]
    with pg_engine.connect() as conn:
        states = conn.execute(select(alerts.c.subject, alerts.c.state)).all()
    assert [tuple(s) for s in states] == [(subject, "resolved")]
