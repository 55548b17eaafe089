"""Classification metrics from predicted probabilities: ROC / PR curves, log loss, calibration.

Pure numpy, pinned to scikit-learn by the tests through `classification.classification_metrics`
(definitions in that module's docstring): `binary_curve` is scikit-learn's
`_binary_clf_curve`, `calibration` bins like `calibration_curve(strategy="uniform")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from monitor.performance.columns import json_safe, python_value

EPS = float(np.finfo(np.float64).eps)


CalibrationMethod = Literal["positive_class", "top_label"]


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float | None  # None: empty bin
    observed_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return json_safe(self.__dict__)


@dataclass(frozen=True)
class Calibration:
    method: CalibrationMethod
    ece: float
    bins: tuple[CalibrationBin, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "ece": json_safe(self.ece),
            "bins": [b.to_dict() for b in self.bins],
        }


def binary_curve(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true / false positives at each distinct threshold, highest score first
    (scikit-learn's `_binary_clf_curve`). Ties are one threshold, so sort stability is moot."""
    order = np.argsort(score)[::-1]
    s = score[order]
    distinct = np.flatnonzero(np.diff(s))
    idx = np.append(distinct, len(s) - 1)
    tps = np.cumsum(positive[order], dtype=np.float64)[idx]
    fps = 1.0 + idx - tps
    return tps, fps


def roc_auc_from_curve(tps: np.ndarray, fps: np.ndarray) -> float:
    tpr = np.concatenate(([0.0], tps / tps[-1]))
    fpr = np.concatenate(([0.0], fps / fps[-1]))
    return float(np.trapezoid(tpr, fpr))


def average_precision_from_curve(tps: np.ndarray, fps: np.ndarray) -> float:
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(max(0.0, np.sum(np.diff(recall, prepend=0.0) * precision)))


def calibration(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int, method: CalibrationMethod
) -> Calibration:
    """Equal-width bins over [0, 1]: count, mean confidence and observed rate; ECE."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = bin_ids(confidence, edges)
    counts = np.bincount(ids, minlength=n_bins)
    sum_conf = np.bincount(ids, weights=confidence, minlength=n_bins)
    sum_true = np.bincount(ids, weights=correct.astype(np.float64), minlength=n_bins)
    ece = float(np.sum(np.abs(sum_true - sum_conf)) / len(confidence))
    bins = tuple(
        CalibrationBin(
            float(edges[i]),
            float(edges[i + 1]),
            int(counts[i]),
            float(sum_conf[i] / counts[i]) if counts[i] else None,
            float(sum_true[i] / counts[i]) if counts[i] else None,
        )
        for i in range(n_bins)
    )
    return Calibration(method, ece, bins)


def bin_ids(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """`np.searchsorted(edges[1:-1], values)` (side left) for equal-width edges over [0, 1],
    without a binary search per value: a guess from the arithmetic, then corrected against
    the exact edges so values on an edge land where searchsorted puts them."""
    n_bins = len(edges) - 1
    ids = np.clip(np.ceil(values * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    ids += (ids < n_bins - 1) & (values > edges[ids + 1])
    ids -= (ids > 0) & (values <= edges[ids])
    return ids


def log_loss_from_true(p_true: np.ndarray) -> float:
    """Mean negative log of each row's probability of its label, clipped to [eps, 1 - eps]."""
    return float(-np.mean(np.log(np.clip(p_true, EPS, 1 - EPS))))


def binary_proba_metrics(
    score: np.ndarray, positive: np.ndarray, n_bins: int, reasons: dict[str, str]
) -> dict[str, Any]:
    """ROC AUC, PR AUC, log loss and calibration of positive-class scores; why a metric is
    undefined goes to `reasons`."""
    out: dict[str, Any] = {}
    n_pos = int(positive.sum())
    tps, fps = binary_curve(positive, score)
    if n_pos == 0 or n_pos == len(positive):
        reasons["roc_auc"] = "only one class in the labels: ROC AUC is undefined"
    else:
        out["roc_auc"] = roc_auc_from_curve(tps, fps)
    if n_pos == 0:
        reasons["pr_auc"] = "no positive label: average precision is undefined"
    else:
        out["pr_auc"] = average_precision_from_curve(tps, fps)
    out["log_loss"] = log_loss_from_true(np.where(positive, score, 1.0 - score))
    out["calibration"] = calibration(score, positive, n_bins, "positive_class")
    return out


def multiclass_proba_metrics(
    matrix: np.ndarray,
    ti: np.ndarray,
    space: np.ndarray,
    n_bins: int,
    reasons: dict[str, str],
    per_auc: dict[int, tuple[float | None, float | None]],
) -> dict[str, Any]:
    """One-vs-rest macro ROC / PR AUC over the classes present in the labels (each class's
    pair into `per_auc`), log loss and top-label calibration of an (n, k) matrix."""
    out: dict[str, Any] = {}
    counts = np.bincount(ti, minlength=len(space))
    rocs, aps, skipped = [], [], []
    for c in range(len(space)):
        if counts[c] == 0 or counts[c] == len(ti):
            skipped.append(python_value(space[c]))
            continue
        tps, fps = binary_curve(ti == c, matrix[:, c])
        roc, ap = roc_auc_from_curve(tps, fps), average_precision_from_curve(tps, fps)
        per_auc[c] = (roc, ap)
        rocs.append(roc)
        aps.append(ap)
    if len(rocs) == 0:
        reasons["roc_auc"] = "fewer than two classes in the labels: ROC AUC is undefined"
        reasons["pr_auc"] = "fewer than two classes in the labels: PR AUC is undefined"
    else:
        out["roc_auc"] = float(np.mean(rocs))
        out["pr_auc"] = float(np.mean(aps))
        if skipped:
            note = (
                f"one-vs-rest macro over {len(rocs)} classes; not in the labels: {skipped[:10]!r}"
            )
            reasons["roc_auc"] = reasons["pr_auc"] = note
    out["log_loss"] = log_loss_from_true(matrix[np.arange(len(ti)), ti])
    top = np.argmax(matrix, axis=1)
    out["calibration"] = calibration(
        matrix[np.arange(len(ti)), top], top == ti, n_bins, "top_label"
    )
    return out


__all__ = [
    "EPS",
    "Calibration",
    "CalibrationBin",
    "CalibrationMethod",
    "average_precision_from_curve",
    "bin_ids",
    "binary_curve",
    "binary_proba_metrics",
    "calibration",
    "log_loss_from_true",
    "multiclass_proba_metrics",
    "roc_auc_from_curve",
]
