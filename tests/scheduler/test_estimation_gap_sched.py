"""The estimate's error over time through the real scheduler path on Postgres, on real data
(scikit-learn's digits, a logistic regression telling odd from even digits): windows without
labels get estimates; when their labels arrive late the realised value lands beside each
estimate (API document, HTML report); `estimation_gap` fires when the labels of a segment are
flipped (concept shift: P(label | inputs) changed) and stays quiet under covariate shift (the
windows over-sample a region of the inputs, labels true)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from scheduler_support import T0, settings_for
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sqlalchemy import select

from monitor.events import Label, Prediction
from monitor.performance.estimation.gap import metric_gap
from monitor.reference import materialise
from monitor.scheduler.report import estimates_html
from monitor.scheduler.ticks import tick
from monitor.storage.estimators import estimate_history
from monitor.storage.tables import notifications
from monitor.storage.writes import store_batch
from monitor.window import Window

HOUR = timedelta(hours=1)
WINDOWS, ROWS = 5, 300
FEATURES = ("ink", "top", "left")


class Digits:
    """Odd vs even digits: a model on 500 rows, the reference (labelled) on the next 600,
    the windows drawn from the other 697 (seeded, without replacement within a window)."""

    def __init__(self) -> None:
        x, digit = load_digits(return_X_y=True)
        order = np.random.default_rng(0).permutation(len(x))
        x, y = x[order], (digit[order] % 2).astype(int)
        model = LogisticRegression(max_iter=2000, C=0.05).fit(x[:500], y[:500])
        self.score = model.predict_proba(x)[:, 1]
        self.x, self.y = x, y
        img = x.reshape(-1, 8, 8)
        self.features = {
            "ink": x.sum(axis=1),
            "top": img[:, :4, :].sum(axis=(1, 2)),
            "left": img[:, :, :4].sum(axis=(1, 2)),
        }
        self.reference = np.arange(500, 1100)
        self.pool = np.arange(1100, len(x))

    def reference_file(self, path) -> None:
        idx = self.reference
        frame = pd.DataFrame({k: v[idx] for k, v in self.features.items()})
        frame["prediction"] = self.score[idx]
        frame["label"] = self.y[idx]
        frame.to_parquet(path)

    def window_rows(self, w: int, *, covariate: bool) -> np.ndarray:
        """ROWS rows of the pool; covariate shift: 2/3 of them from the top third of `ink`
        (the pool's ink-heaviest 232 rows), a third from the rest."""
        rng = np.random.default_rng(100 + w)
        if not covariate:
            return rng.choice(self.pool, ROWS, replace=False)
        ink = self.features["ink"][self.pool]
        cut = np.quantile(ink, 2 / 3)
        high, low = self.pool[ink >= cut], self.pool[ink < cut]
        n_high = 2 * ROWS // 3
        return np.concatenate(
            [rng.choice(high, n_high, replace=False), rng.choice(low, ROWS - n_high, replace=False)]
        )

    def events(self, w: int, idx: np.ndarray) -> list[Prediction]:
        start, step = T0 + w * HOUR, HOUR / len(idx)
        return [
            Prediction(
                event_id=f"d{w}-{i}",
                model="m",
                model_version="1",
                ts=start + step * i,
                features={k: float(self.features[k][j]) for k in FEATURES},
                prediction=int(self.score[j] >= 0.5),
                prediction_proba=float(self.score[j]),
            )
            for i, j in enumerate(idx.tolist())
        ]

    def labels(self, w: int, idx: np.ndarray, *, flip_segment: bool) -> list[int]:
        """The true labels; concept shift: flipped where `top` is above its pool median."""
        y = self.y[idx].copy()
        if flip_segment:
            top = self.features["top"]
            seg = top[idx] > np.median(top[self.pool])
            y[seg] = 1 - y[seg]
        return y.tolist()


@pytest.fixture(scope="module")
def digits() -> Digits:
    return Digits()


RULE = {
    "name": "concept-shift",
    "condition": "estimation_gap",
    "metric": "accuracy",
    "severity": "critical",
}  # defaults: outside the band on 3 of the last 5 labelled windows, >= 50 labelled rows


def _run(engine, tmp_path, digits: Digits, *, covariate: bool, flip: bool):
    """Five windows without labels (each estimated), then all their labels at once."""
    digits.reference_file(tmp_path / "ref.parquet")
    settings = settings_for(
        engine.url.render_as_string(hide_password=False),
        tmp_path / "ref.parquet",
        performance={"estimator": "cbpe", "min_rows": 50, "label_horizon": "2d"},
        rules=[RULE],
    )
    routes = {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s"}}
    alerting = settings.alerting.model_validate({"routes": routes})
    settings = settings.model_copy(update={"alerting": alerting})
    monitor = settings.monitors[0]
    materialise(engine, monitor)
    rows, truth = [], []
    for w in range(WINDOWS):
        idx = digits.window_rows(w, covariate=covariate)
        events = digits.events(w, idx)
        store_batch(engine, events, [], [])
        tick(engine, settings, monitor, now=T0 + (w + 1) * HOUR + timedelta(seconds=1))
        rows.append(events)
        truth.append(digits.labels(w, idx, flip_segment=flip))
    late = T0 + WINDOWS * HOUR + timedelta(minutes=5)
    assert all(
        r.estimate["metrics"]["accuracy"]["realised"] is None
        for r in estimate_history(engine, "mon", "cbpe")
    ), "estimated before any label"
    labels = [
        Label(e.event_id, "m", y, late)
        for events, ys in zip(rows, truth, strict=True)
        for e, y in zip(events, ys, strict=True)
    ]
    store_batch(engine, [], labels, [])
    tick(engine, settings, monitor, now=late + timedelta(seconds=1))
    with engine.connect() as conn:
        sent = conn.execute(select(notifications.c.event, notifications.c.payload)).all()
    return settings, monitor, rows, truth, sent


def test_late_labels_put_the_realised_value_and_gap_beside_each_estimate(
    pg_engine, tmp_path, digits
) -> None:
    settings, monitor, rows, truth, sent = _run(
        pg_engine, tmp_path, digits, covariate=True, flip=False
    )
    history = estimate_history(pg_engine, "mon", "cbpe")
    assert [r.window_start for r in history] == [T0 + w * HOUR for w in range(WINDOWS)]
    for r, events, ys in zip(history, rows, truth, strict=True):
        acc = r.estimate["metrics"]["accuracy"]
        pred = [e.prediction for e in events]
        assert acc["realised"] == pytest.approx(accuracy_score(ys, pred), rel=1e-12)
        assert r.estimate["labelled"] == ROWS
        g = metric_gap(r.estimate, "accuracy")
        assert g is not None and g.gap == pytest.approx(acc["realised"] - acc["value"])
        assert (g.lower, g.upper) == (acc["lower"], acc["upper"])  # fully labelled
    # covariate shift: the estimate follows the shift, the band holds the realised value
    assert sum(bool(metric_gap(r.estimate, "accuracy").covered) for r in history) >= 4
    assert [s.event for s in sent] == []  # estimation_gap judged (5 windows), did not fire

    html = estimates_html(pg_engine, settings, monitor, Window(T0, T0 + WINDOWS * HOUR))
    assert '<section id="estimates">' in html and 'id="estimate-windows"' in html
    newest = history[-1].estimate["metrics"]["accuracy"]
    assert f"{newest['realised']:.4g}" in html
    assert f"{newest['realised'] - newest['value']:+.4f}" in html
    assert html.count('data-figure="est-') >= 3  # accuracy, f1, roc_auc charts


def test_a_flipped_segment_fires_estimation_gap_with_gap_band_and_windows(
    pg_engine, tmp_path, digits
) -> None:
    *_, sent = _run(pg_engine, tmp_path, digits, covariate=False, flip=True)
    assert [s.event for s in sent] == ["performance.detected"]
    payload = sent[0].payload
    assert payload["condition"] == "estimation_gap" and payload["rule"] == "concept-shift"
    perf = payload["performance"]
    assert (perf["outside"], perf["needed"], perf["of"], perf["method"]) == (5, 3, 5, "cbpe")
    assert len(perf["windows"]) == WINDOWS
    newest = perf["windows"][-1]
    assert newest["window_start"] == (T0 + 4 * HOUR).isoformat()
    assert newest["covered"] is False and newest["realised"] < newest["lower"]
    assert perf["gap"] == pytest.approx(newest["realised"] - newest["estimate"])
    assert perf["band"] == {"lower": newest["lower"], "upper": newest["upper"]}
    assert perf["gap"] < -0.15  # a third of the rows now mislabelled for the model
    assert perf["mean_abs_gap"] == pytest.approx(
        np.mean([abs(w["realised"] - w["estimate"]) for w in perf["windows"]])
    )
    assert payload["summary"].startswith("accuracy: realised outside the estimate's band on 5")
