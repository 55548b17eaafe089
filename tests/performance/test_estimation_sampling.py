"""CBPE's analytic band (delta method) pinned to finite differences, hand formulas and draws."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from monitor.performance.estimation import cbpe, classification_data
from monitor.performance.estimation.calibration import apply_isotonic, calibrate, step_sd
from monitor.performance.estimation.confusion import (
    confusion_metrics,
    drawn_auc,
    drawn_confusion,
    expected_auc,
    expected_confusion,
    midranks,
)
from monitor.performance.estimation.sampling import (
    auc_gradient,
    label_variance,
    metric_gradients,
    reference_variance,
    row_gradients,
)


def fitted(loader, seed=1):
    x, y = loader(return_X_y=True)
    perm = np.random.default_rng(seed).permutation(len(y))
    x, y = x[perm], y[perm]
    a, b = len(y) // 3, 2 * len(y) // 3
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
    model.fit(x[:a], y[:a])
    classes = list(model.classes_)

    def data(rows):
        return classification_data(
            model.predict_proba(x[rows]), classes, model.predict(x[rows]), y[rows]
        )

    ref, cur = data(slice(a, b)), data(slice(b, None))
    state = cbpe.fit(ref)
    proba = calibrate(state["calibrators"], cur.scores, len(classes) == 2)
    return state, cur, proba


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_metric_gradients_equal_finite_differences(loader):
    _, cur, proba = fitted(loader)
    k, binary = proba.shape[1], proba.shape[1] == 2
    cm = expected_confusion(proba, cur.pred, k)
    grads = metric_gradients(cm, binary)
    h = 1e-6
    for t in range(k):
        for j in range(k):
            up, down = cm.copy(), cm.copy()
            up[t, j] += h
            down[t, j] -= h
            hi, lo = confusion_metrics(up, binary), confusion_metrics(down, binary)
            for name, g in grads.items():
                assert g[t, j] == pytest.approx((hi[name] - lo[name]) / (2 * h), abs=1e-6)


def test_auc_gradient_equals_finite_differences_with_ties():
    _, cur, proba = fitted(load_breast_cancer)
    scores = cur.scores[:, 1].round(2)  # ties
    w = proba[:, 1]
    g = auc_gradient(scores, w)
    h = 1e-6
    for i in (0, 7, 50, 120):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        fd = (expected_auc(scores, up) - expected_auc(scores, down)) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=1e-5, abs=1e-9)
    assert auc_gradient(scores, np.zeros_like(w)) is None  # no expected positive: undefined


def test_accuracy_label_part_is_the_binomial_sum_by_hand():
    _, cur, proba = fitted(load_wine)
    g = row_gradients(proba, cur.scores, cur.pred, False)["accuracy"]
    right = proba[np.arange(cur.rows), cur.pred]  # P(row is right)
    hand = np.sqrt(np.sum(right * (1 - right))) / cur.rows
    assert np.sqrt(label_variance(proba, g)) == pytest.approx(hand, rel=1e-9)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_label_part_matches_drawn_labels(loader):
    """The linearised sd equals the sd of realised metrics over 4000 label draws (±10%)."""
    _, cur, proba = fitted(loader)
    k, binary = proba.shape[1], proba.shape[1] == 2
    rng = np.random.default_rng(0)
    u = rng.random((4000, cur.rows))
    labels = np.minimum((u[..., None] > np.cumsum(proba, -1)).sum(-1), k - 1)
    real = confusion_metrics(drawn_confusion(labels, cur.pred, k), binary)
    cols = [1] if binary else range(k)
    real["roc_auc"] = np.mean(
        [drawn_auc(labels == t, midranks(cur.scores[:, t])) for t in cols], axis=0
    )
    for name, g in row_gradients(proba, cur.scores, cur.pred, binary).items():
        assert np.sqrt(label_variance(proba, g)) == pytest.approx(np.std(real[name]), rel=0.1)


def test_reference_part_matches_drawn_calibration_steps():
    """Binary: sd of the estimate when every isotonic step moves by its binomial noise."""
    state, cur, proba = fitted(load_breast_cancer)
    (c,) = state["calibrators"]
    raw = apply_isotonic(c, cur.scores[:, 1])
    idx, sd = step_sd(c, raw)
    rng = np.random.default_rng(0)
    p1 = raw + (rng.standard_normal((4000, sd.size)) * sd)[:, idx]
    p = np.stack([1 - p1, p1], axis=-1)
    drawn = confusion_metrics(np.einsum("dmt,mj->dtj", p, np.eye(2)[cur.pred]), True)
    for name, g in row_gradients(proba, cur.scores, cur.pred, True).items():
        if name == "roc_auc":
            continue  # AUC's draws leave [0, 1] weights; its gradient is pinned above
        analytic = np.sqrt(reference_variance(state, [raw], proba, g))
        assert analytic == pytest.approx(np.std(drawn[name]), rel=0.1)


def test_isotonic_fit_on_pooled_ties_equals_sklearn_on_every_row():
    from sklearn.isotonic import IsotonicRegression

    from monitor.performance.estimation.calibration import fit_isotonic

    rng = np.random.default_rng(0)
    scores = rng.choice(rng.random(300), 20_000)  # many ties, as a GBM's scores have
    hits = rng.random(20_000) < scores
    state = fit_isotonic(scores, hits)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, hits)
    probe = np.r_[scores[:500], rng.random(500), -1.0, 2.0]
    np.testing.assert_allclose(apply_isotonic(state, probe), iso.predict(probe), atol=1e-12)
    values, counts = np.unique(iso.predict(scores), return_counts=True)
    np.testing.assert_allclose(state["values"], values, atol=1e-12)
    assert state["counts"] == counts.tolist()


def test_step_sd_is_the_plus_four_binomial_sd_of_each_isotonic_step():
    """Each step's sd is sqrt(p(1 - p) / n) with p = (hits + 2) / (n + 4) (Agresti-Caffo's
    centre): a step pure by chance (0 hits in 130 rows) is not taken as noise-free. Hits and
    rows counted by hand from the scores scikit-learn's isotonic fit pooled into each step."""
    from sklearn.isotonic import IsotonicRegression

    from monitor.performance.estimation.calibration import fit_isotonic

    scores = np.r_[np.linspace(0.0, 0.3, 130), np.linspace(0.4, 0.6, 50), np.linspace(0.7, 1, 40)]
    hits = np.r_[np.zeros(130), np.arange(50) % 5 == 0, np.arange(40) % 4 != 0].astype(float)
    state = fit_isotonic(scores, hits)
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0).fit(scores, hits).predict(scores)
    idx, sd = step_sd(state, fitted)
    for step in np.unique(idx):
        rows = idx == step
        n, k = rows.sum(), hits[rows].sum()
        p = (k + 2) / (n + 4)
        assert sd[step] == pytest.approx(np.sqrt(p * (1 - p) / n), rel=1e-12)
    assert sd[idx[0]] == pytest.approx(np.sqrt((2 / 134) * (1 - 2 / 134) / 130), rel=1e-12)
