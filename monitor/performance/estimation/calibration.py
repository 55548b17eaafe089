"""Class-wise isotonic calibration fitted on the reference, stored as plain numbers.

One calibrator per class (one-vs-rest; binary: the positive class only). The state is the
isotonic step function (`x`, `y`, applied with linear interpolation and clipping, exactly
scikit-learn's `IsotonicRegression(out_of_bounds="clip").predict`) plus the reference rows
behind each step (`values`, `counts`): a step learnt from few rows is noisy, and the band
draws that noise (binomial, variance v(1-v)/n with v moved two rows each way towards 1/2,
Agresti-Caffo's "plus four" centre: a step pure by chance, 0 of 130 rows, is not taken as
noise-free; its sd is that of 2 hits in 134, not of half a row in 131).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PSEUDO_ROWS = 4.0  # a step's proportion is (hits + 2) / (rows + 4) for its variance (module doc)


def fit_isotonic(scores: np.ndarray, hits: np.ndarray) -> dict[str, Any]:
    """Isotonic map score -> P(hit) and the reference rows per calibrated step."""
    from sklearn.isotonic import IsotonicRegression

    # tied scores pooled first (what IsotonicRegression does internally): the fit then runs
    # on the distinct scores, weighted by their rows. Two value sorts (all rows, the hits)
    # and binary searches instead of np.unique's argsort and inverse: ~2x cheaper on 1M rows
    ordered = np.sort(scores)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    distinct = ordered[starts]
    rows = np.diff(np.r_[starts, ordered.size])
    positive = np.sort(scores[hits.astype(bool)])
    found = np.searchsorted(positive, distinct, "right") - np.searchsorted(positive, distinct)
    rate = found / rows
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(distinct, rate, sample_weight=rows.astype(float))
    state = {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    values, step = np.unique(apply_isotonic(state, distinct), return_inverse=True)
    state["values"] = values.tolist()
    state["counts"] = np.bincount(step, weights=rows).astype(np.int64).tolist()
    return state


def apply_isotonic(state: dict[str, Any], scores: np.ndarray) -> np.ndarray:
    return np.interp(scores, np.asarray(state["x"]), np.asarray(state["y"]))


def step_sd(state: dict[str, Any], calibrated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(step index per row, sd per step) of the calibrated value: the reference's noise."""
    values = np.asarray(state["values"], dtype=float)
    counts = np.asarray(state["counts"], dtype=float)
    right = np.clip(np.searchsorted(values, calibrated), 0, values.size - 1)
    left = np.clip(right - 1, 0, values.size - 1)
    closer_left = np.abs(calibrated - values[left]) < np.abs(values[right] - calibrated)
    idx = np.where(closer_left, left, right)
    shrunk = (values * counts + PSEUDO_ROWS / 2) / (counts + PSEUDO_ROWS)
    return idx, np.sqrt(shrunk * (1.0 - shrunk) / counts)


def fit_calibrators(scores: np.ndarray, labels: np.ndarray, binary: bool) -> list[dict]:
    """Binary: one calibrator for the positive class (column 1); else one per class."""
    columns = [1] if binary else range(scores.shape[1])
    return [fit_isotonic(scores[:, t], labels == t) for t in columns]


def calibrate(calibrators: list[dict], scores: np.ndarray, binary: bool) -> np.ndarray:
    """Calibrated (n, k) probabilities; rows renormalised for multiclass."""
    cols = []
    for t, state in enumerate(calibrators):
        cols.append(apply_isotonic(state, scores[:, 1 if binary else t]))
    return combine(cols, binary)


def combine(cols: list[np.ndarray], binary: bool) -> np.ndarray:
    """Calibrated columns -> (..., n, k) probabilities (binary: 1 - p, p; else renormalised)."""
    if binary:
        return np.stack([1.0 - cols[0], cols[0]], axis=-1)
    p = np.stack(cols, axis=-1)
    total = p.sum(axis=-1, keepdims=True)
    uniform = np.full_like(p, 1.0 / p.shape[-1])
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), uniform)
