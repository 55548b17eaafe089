"""Estimated performance through the real scheduler path on Postgres: the estimator is
fitted once at reference materialisation and loaded by later ticks, a window without labels
gets a stored estimate with its band, an estimated drop fires an alert saying so, and late
labels put the realised value beside the estimate."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from scheduler_support import T0, put, settings_for, traffic
from sklearn.metrics import accuracy_score, mean_absolute_error
from sqlalchemy import func, select

from monitor.errors import ConfigError
from monitor.events import Label
from monitor.reference import materialise
from monitor.scheduler.ticks import tick
from monitor.settings import parse_settings
from monitor.storage.estimators import load_estimator, window_estimate_rows
from monitor.storage.performance_runs import latest_runs
from monitor.storage.tables import notifications, reference_estimators
from monitor.storage.writes import store_batch

HOUR = timedelta(hours=1)


def _calibrated_training(path, n=4000, seed=0) -> pd.DataFrame:
    """Scores that are calibrated probabilities: label ~ Bernoulli(score)."""
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


def _unsure(batch, seed: int):
    """The same events with scores near 0.5: the model is unsure, accuracy near a coin's."""
    rng = np.random.default_rng(seed)
    out = []
    for p in batch:
        proba = float(np.clip(0.5 + rng.normal(0, 0.03), 0, 1))
        out.append(dataclasses.replace(p, prediction=int(proba >= 0.5), prediction_proba=proba))
    return out


def _settings(engine, path, rules):
    settings = settings_for(
        engine.url.render_as_string(hide_password=False),
        path,
        performance={"estimator": "cbpe", "min_rows": 100, "label_horizon": "2d"},
        rules=rules,
    )
    routes = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s"}}
    alerting = settings.alerting.model_validate({"routes": routes})
    return settings.model_copy(update={"alerting": alerting})


def test_windows_without_labels_are_estimated_and_an_estimated_drop_fires(
    pg_engine, tmp_path
) -> None:
    train = _calibrated_training(tmp_path / "ref.parquet")
    rule = {
        "name": "est-accuracy",
        "condition": "estimated_performance",
        "metric": "accuracy",
        "max_drop": 0.1,
        "band": "outside",
        "severity": "critical",
    }
    settings = _settings(pg_engine, tmp_path / "ref.parquet", [rule])
    monitor = settings.monitors[0]
    ref = materialise(pg_engine, monitor)
    stored = load_estimator(pg_engine, ref.id, "cbpe")
    assert stored is not None and stored.state["method"] == "cbpe"
    assert stored.state["state"]["reference_rows"] == len(train)
    ref_acc = ref.performance["accuracy"]

    # window 1: scores like the reference's, no labels -> estimated accuracy near 0.75
    w1 = traffic(600, T0, HOUR, seed=51)
    put(pg_engine, w1)
    tick(pg_engine, settings, monitor, now=T0 + HOUR + timedelta(seconds=1))
    assert [(r.window_start, r.status, r.labelled) for r in latest_runs(pg_engine, "mon")] == [
        (T0, "insufficient_labels", 0)
    ]
    (est1,) = window_estimate_rows(pg_engine, "mon")
    acc = est1.estimate["metrics"]["accuracy"]
    assert (est1.window_start, est1.rows, est1.estimate["method"]) == (T0, 600, "cbpe")
    p = np.array([e.prediction_proba for e in w1])
    assert acc["value"] == pytest.approx(np.maximum(p, 1 - p).mean(), abs=0.03)
    assert acc["lower"] < acc["value"] < acc["upper"] and acc["realised"] is None
    assert set(est1.estimate["metrics"]) >= {"accuracy", "precision", "recall", "f1", "roc_auc"}

    # window 2: the model is unsure (scores near 0.5): estimated accuracy ~0.5, whole band
    # below reference - 0.1 -> the rule fires, the payload says "estimated" with the band
    put(pg_engine, _unsure(traffic(600, T0 + HOUR, HOUR, seed=52), seed=3))
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(seconds=1))
    est2 = window_estimate_rows(pg_engine, "mon")[0]
    assert est2.window_start == T0 + HOUR
    assert est2.estimate["metrics"]["accuracy"]["upper"] < ref_acc - 0.1
    with pg_engine.connect() as conn:
        rows = conn.execute(select(notifications.c.event, notifications.c.payload)).all()
        fitted = conn.execute(select(func.count()).select_from(reference_estimators)).scalar()
    assert [r.event for r in rows] == ["performance.detected"]
    payload = rows[0].payload
    assert payload["condition"] == "estimated_performance"
    assert payload["summary"].startswith("estimated accuracy")
    perf = payload["performance"]
    assert perf["estimated"] is True and perf["method"] == "cbpe"
    assert perf["reference"] == pytest.approx(ref_acc)
    assert perf["threshold"] == pytest.approx(ref_acc - 0.1)
    assert perf["band"]["upper"] < perf["threshold"] and perf["band"]["lower"] < perf["value"]
    # fitted once at materialisation; the ticks loaded it
    assert fitted == 1

    # nothing new: no new estimate, no new notification
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(minutes=1))
    assert len(window_estimate_rows(pg_engine, "mon")) == 2
    with pg_engine.connect() as conn:
        assert len(conn.execute(select(notifications.c.id)).all()) == 1

    # window 1's labels arrive late: the realised accuracy is stored beside its estimate
    rng = np.random.default_rng(7)
    labels = [Label(e.event_id, e.model, int(rng.uniform() < e.prediction_proba), T0) for e in w1]
    store_batch(pg_engine, [], labels, [])
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(minutes=2))
    by_start = {r.window_start: r for r in window_estimate_rows(pg_engine, "mon")}
    late = by_start[T0].estimate["metrics"]["accuracy"]
    pred = [int(e.prediction_proba >= 0.5) for e in w1]
    truth = [label.label for label in labels]
    assert late["realised"] == pytest.approx(accuracy_score(truth, pred), rel=1e-12)
    assert late["value"] == acc["value"] and late["upper"] == acc["upper"]
    run = next(r for r in latest_runs(pg_engine, "mon") if r.window_start == T0)
    assert run.metrics["overall"]["metrics"]["accuracy"] == pytest.approx(late["realised"])
    with pg_engine.connect() as conn:
        assert len(conn.execute(select(notifications.c.id)).all()) == 1  # not re-judged


def test_the_estimator_setting_is_validated_at_load(tmp_path) -> None:
    def load(performance):
        doc = {
            "database": {"url": "sqlite://"},
            "monitors": [
                {"name": "m", "model": "m", "reference": "r.csv", "performance": performance}
            ],
        }
        return parse_settings(doc)

    assert load({}).monitors[0].performance.estimator == "none"
    with pytest.raises(ConfigError, match="estimator"):
        load({"estimator": "nannyml"})
    with pytest.raises(ConfigError, match="estimator cbpe is not for regression"):
        load({"estimator": "cbpe", "task": "regression"})


def test_a_regression_window_without_labels_gets_a_dle_estimate(pg_engine, tmp_path) -> None:
    rng = np.random.default_rng(4)
    n = 1500
    x = rng.normal(0, 1, n)
    pred = 2.0 * x
    frame = pd.DataFrame(
        {
            "x": x,
            "y": rng.lognormal(0, 0.5, n),
            "c": rng.choice(["a", "b", "c"], n),
            "prediction": pred,
            "label": pred + rng.normal(0, 1, n) * (0.2 + np.abs(x)),  # error grows with |x|
        }
    )
    frame.to_parquet(tmp_path / "reg.parquet")
    settings = settings_for(
        pg_engine.url.render_as_string(hide_password=False),
        tmp_path / "reg.parquet",
        performance={"enabled": True, "task": "regression", "estimator": "dle"},
    )
    monitor = settings.monitors[0]
    ref = materialise(pg_engine, monitor)
    stored = load_estimator(pg_engine, ref.id, "dle")
    assert stored is not None and stored.state["features"] == ["x", "y", "c"]
    assert stored.state["categories"] == {"c": ["a", "b", "c"]}

    # the window's inputs sit far out in |x|: the estimated MAE is well above the reference's
    events = [
        dataclasses.replace(
            e,
            features={**e.features, "x": 2.5 + abs(e.features["x"])},
            prediction=2.0 * (2.5 + abs(e.features["x"])),
            prediction_proba=None,
        )
        for e in traffic(300, T0, HOUR, seed=61)
    ]
    put(pg_engine, events)
    tick(pg_engine, settings, monitor, now=T0 + HOUR + timedelta(seconds=1))
    (est,) = window_estimate_rows(pg_engine, "mon")
    mae = est.estimate["metrics"]["mae"]
    assert est.estimate["method"] == "dle" and est.rows == 300
    assert mae["value"] > 1.5 * ref.performance["mae"]
    assert mae["lower"] < mae["value"] < mae["upper"]
    assert mae["realised"] is None and est.estimate["labelled"] == 0

    # the labels of 200 of the 300 rows arrive: the realised MAE lands beside the estimate
    truth = {e.event_id: e.prediction + rng.normal(0, 1) for e in events[:200]}
    store_batch(pg_engine, [], [Label(k, "m", v, T0) for k, v in truth.items()], [])
    tick(pg_engine, settings, monitor, now=T0 + HOUR + timedelta(minutes=1))
    (late,) = window_estimate_rows(pg_engine, "mon")
    got = late.estimate["metrics"]
    want = mean_absolute_error(list(truth.values()), [e.prediction for e in events[:200]])
    assert got["mae"]["realised"] == pytest.approx(want, rel=1e-9)
    assert got["mae"]["value"] == mae["value"] and late.estimate["labelled"] == 200


def test_a_reference_without_a_stored_estimator_is_not_refitted_by_a_tick(
    pg_engine, tmp_path, caplog
) -> None:
    _calibrated_training(tmp_path / "ref.parquet")
    rule = {"name": "est", "condition": "estimated_performance", "metric": "f1", "threshold": 0.1}
    settings = _settings(pg_engine, tmp_path / "ref.parquet", [rule])
    monitor = settings.monitors[0]
    before = monitor.model_copy(
        update={"performance": monitor.performance.model_copy(update={"estimator": "none"})}
    )
    old = materialise(pg_engine, before)  # materialised before the estimator was configured
    assert load_estimator(pg_engine, old.id, "cbpe") is None
    put(pg_engine, traffic(300, T0, HOUR, seed=71))
    with caplog.at_level("WARNING", logger="monitor.performance"):
        tick(pg_engine, settings, monitor, now=T0 + HOUR + timedelta(seconds=1))
    assert window_estimate_rows(pg_engine, "mon") == []
    assert any(r.message == "estimator_missing" for r in caplog.records)

    new = materialise(pg_engine, monitor)  # `monitor reference refresh`
    assert load_estimator(pg_engine, new.id, "cbpe") is not None
    put(pg_engine, traffic(300, T0 + HOUR, HOUR, seed=72))
    tick(pg_engine, settings, monitor, now=T0 + 2 * HOUR + timedelta(seconds=1))
    assert [r.window_start for r in window_estimate_rows(pg_engine, "mon")] == [T0 + HOUR]


def test_a_reference_of_stored_traffic_fits_from_stored_probabilities_and_labels(
    pg_engine, tmp_path
) -> None:
    settings = _settings(pg_engine, tmp_path / "unused.parquet", [])
    monitor = settings.monitors[0].model_copy(
        update={"reference": settings.monitors[0].reference.model_validate({"first_events": 800})}
    )
    history = traffic(800, T0 - 24 * HOUR, HOUR, seed=81)
    put(pg_engine, history)
    rng = np.random.default_rng(8)
    labels = [
        Label(e.event_id, e.model, int(rng.uniform() < e.prediction_proba), T0) for e in history
    ]
    store_batch(pg_engine, [], labels, [])
    ref = materialise(pg_engine, monitor)
    stored = load_estimator(pg_engine, ref.id, "cbpe")
    assert stored is not None and stored.state["state"]["reference_rows"] == 800
    assert [str(c) for c in stored.state["state"]["classes"]] == ["0", "1"]

    put(pg_engine, traffic(300, T0, HOUR, seed=82))
    tick(pg_engine, settings, monitor, now=T0 + HOUR + timedelta(seconds=1))
    # the reference's own labelled hour is within the label horizon: estimated too
    by_start = {r.window_start: r for r in window_estimate_rows(pg_engine, "mon")}
    est = by_start[T0]
    assert est.rows == 300 and est.estimate["metrics"]["accuracy"]["value"] > 0.6
    assert est.estimate["metrics"]["accuracy"]["realised"] is None
