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
from monitor.performance import latest_runs, run_history
from monitor.reference import materialise
from monitor.scheduler.ticks import tick
from monitor.storage.tables import notifications
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
