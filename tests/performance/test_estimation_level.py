"""The band's nominal level: estimate ± z·σ covers the realised value at LEVEL when the labels
follow the calibrated probabilities (docs/estimation.md, "The band")."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from monitor.performance.estimation import cbpe, classification_data
from monitor.performance.estimation.calibration import calibrate
from monitor.performance.estimation.confusion import (
    confusion_metrics,
    drawn_auc,
    drawn_confusion,
    expected_auc,
    expected_confusion,
    midranks,
)
from monitor.performance.estimation.result import DEFAULT_Z, LEVEL

DRAWS = 4000  # Monte Carlo sd of a coverage near 0.95: sqrt(0.95 · 0.05 / 4000) = 0.0034


def truth(s: np.ndarray) -> np.ndarray:
    """P(label = 1 | raw score): the raw scores are miscalibrated, the calibration learns it."""
    return s**1.5


def binary(s: np.ndarray, y: np.ndarray | None):
    return classification_data(np.column_stack([1 - s, s]), [0, 1], (s > 0.5).astype(int), y)


def test_z_is_the_normal_quantile_of_the_nominal_level():
    assert LEVEL == 0.95
    assert abs(DEFAULT_Z - NormalDist().inv_cdf(0.975)) < 1e-12
    assert abs(DEFAULT_Z - 1.959964) < 1e-6


def test_binary_band_covers_labels_drawn_from_the_calibration_at_the_nominal_rate():
    """A large reference (its own error ~8% of σ), a shifted 1,000-row window, 4,000 label
    sets drawn from the window's calibrated probabilities: each metric's band holds the
    realised value in LEVEL of the draws, within 4.4 Monte Carlo sd (0.015)."""
    rng = np.random.default_rng(0)
    s_ref = rng.random(200_000)
    state = cbpe.fit(binary(s_ref, (rng.random(s_ref.size) < truth(s_ref)).astype(int)))
    assert state["z"] == DEFAULT_Z
    window = binary(rng.beta(2, 1, 1000), None)
    result = cbpe.estimate(state, window)
    proba = calibrate(state["calibrators"], window.scores, True)
    labels = (rng.random((DRAWS, window.rows)) < proba[:, 1]).astype(int)
    real = confusion_metrics(drawn_confusion(labels, window.pred, 2), True)
    real["roc_auc"] = drawn_auc(labels == 1, midranks(window.scores[:, 1]))
    for name, m in result.metrics.items():
        assert m.upper - m.value == pytest.approx(DEFAULT_Z * m.sampling_error)  # not clipped
        covered = np.mean((real[name] >= m.lower) & (real[name] <= m.upper))
        assert covered == pytest.approx(LEVEL, abs=0.015), name


def test_multiclass_band_covers_labels_drawn_from_the_calibration_at_the_nominal_rate():
    rng = np.random.default_rng(1)

    def data(n: int, shift: float, labelled: bool):
        logits = rng.normal(size=(n, 3)) + np.array([shift, 0.0, -shift])
        raw = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        true = raw**1.3 / (raw**1.3).sum(axis=1, keepdims=True)  # miscalibrated raw scores
        y = (rng.random((n, 1)) > np.cumsum(true, axis=1)).sum(axis=1) if labelled else None
        return classification_data(raw, [0, 1, 2], raw.argmax(axis=1), y)

    state = cbpe.fit(data(200_000, 0.0, True))
    window = data(2000, 0.7, False)
    result = cbpe.estimate(state, window)
    proba = calibrate(state["calibrators"], window.scores, False)
    u = rng.random((DRAWS, window.rows, 1))
    labels = np.minimum((u > np.cumsum(proba, axis=1)).sum(axis=-1), 2)
    real = confusion_metrics(drawn_confusion(labels, window.pred, 3), False)
    for name in ("accuracy", "f1_macro", "precision_macro", "recall_macro", "f1_weighted"):
        m = result.metrics[name]
        covered = np.mean((real[name] >= m.lower) & (real[name] <= m.upper))
        assert covered == pytest.approx(LEVEL, abs=0.015), name


def test_reference_part_is_the_spread_over_redrawn_references():
    """The reference's own error (reference_error) equals the sd of the estimate around the
    window's true expected metric over 300 references drawn afresh (±15%). Measured with it:
    the in-sample isotonic map is optimistic by ~0.3–0.6 reference sd (a bias the band does
    not contain; docs/estimation.md)."""
    rng = np.random.default_rng(2)
    s_win = rng.beta(2, 1, 1000)
    pred = (s_win > 0.5).astype(int)
    true_p = np.column_stack([1 - truth(s_win), truth(s_win)])
    expected = confusion_metrics(expected_confusion(true_p, pred, 2), True)
    expected["roc_auc"] = expected_auc(s_win, true_p[:, 1])
    names = ("accuracy", "f1", "roc_auc")
    err: dict[str, list[float]] = {n: [] for n in names}
    sd: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(300):
        s_ref = rng.random(2000)
        state = cbpe.fit(binary(s_ref, (rng.random(s_ref.size) < truth(s_ref)).astype(int)))
        result = cbpe.estimate(state, binary(s_win, None))
        for n in names:
            err[n].append(expected[n] - result.metrics[n].value)
            sd[n].append(result.metrics[n].reference_error)
    for n in names:
        analytic = float(np.sqrt(np.mean(np.square(sd[n]))))
        assert float(np.std(err[n])) == pytest.approx(analytic, rel=0.15), n
        assert abs(float(np.mean(err[n]))) < 0.8 * analytic, n  # the optimism, bounded
