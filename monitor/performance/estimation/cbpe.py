"""CBPE: confidence-based performance estimation for binary and multiclass classifiers.

Fit: class-wise isotonic calibration of the model's scores on the labelled reference.
Estimate: the window's expected confusion matrix from the calibrated probabilities and the
metrics of that matrix (`confusion.py`); ROC AUC as the expected AUC with the model's own
scores as the ranking. The band: the realised metric's analytic standard error around the
estimate, from the window's label noise under the calibrated probabilities and the
calibration steps' own reference noise (`sampling.py`, delta method).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from monitor.errors import EstimationError
from monitor.jsonsafe import json_safe
from monitor.performance.estimation.calibration import apply_isotonic, combine, fit_calibrators
from monitor.performance.estimation.confusion import (
    BINARY_METRICS,
    MULTICLASS_METRICS,
    confusion_metrics,
    drawn_auc,
    drawn_confusion,
    expected_auc,
    expected_confusion,
    midranks,
    per_class,
)
from monitor.performance.estimation.data import ClassificationData, labelled, labels_of
from monitor.performance.estimation.result import DEFAULT_Z, WindowEstimate, metric
from monitor.performance.estimation.sampling import SEED, band_errors

FEW_REFERENCE_ROWS = 50  # a class with fewer reference rows makes the reference noisy
NO_AUC = "fewer than one expected positive or negative row: ROC AUC is undefined"


def fit(data: ClassificationData, *, z: float = DEFAULT_Z) -> dict[str, Any]:
    """The JSON-safe fitted state: calibrators, class counts of the reference, band settings."""
    ref = labelled(data)
    labels = labels_of(ref)
    counts = np.bincount(labels, minlength=len(ref.classes))
    return json_safe(
        {
            "method": "cbpe",
            "version": 1,
            "classes": list(ref.classes),
            "binary": ref.binary,
            "calibrators": fit_calibrators(ref.scores, labels, ref.binary),
            "reference_rows": ref.rows,
            "reference_class_counts": counts.tolist(),
            "z": z,
            "seed": SEED,
        }
    )


def check_classes(state: dict[str, Any], data: ClassificationData) -> None:
    if [str(c) for c in state["classes"]] != [str(c) for c in data.classes]:
        raise EstimationError(
            f"window classes {list(data.classes)} differ from the reference's {state['classes']}"
        )


def point_auc(
    proba: np.ndarray, scores: np.ndarray, binary: bool, orders: dict[int, np.ndarray] | None = None
) -> float | None:
    """Binary: expected AUC of the positive class; multiclass: macro over defined classes.
    `orders`: class -> stable argsort of its scores, when the caller has them."""
    orders = orders or {}
    if binary:
        return expected_auc(scores[:, 1], proba[:, 1], orders.get(1))
    per = [expected_auc(scores[:, t], proba[:, t], orders.get(t)) for t in range(scores.shape[1])]
    defined = [v for v in per if v is not None]
    return float(np.mean(defined)) if defined else None


def realised_metrics(data: ClassificationData) -> dict[str, float | None]:
    """The metrics of the window's labelled rows (same definitions), when labels are present."""
    if data.labels is None or not (data.labels >= 0).any():
        return {}
    d = labelled(data)
    labels, k = labels_of(d), len(d.classes)
    values: dict[str, float | None] = {
        n: float(v)
        for n, v in confusion_metrics(drawn_confusion(labels[None], d.pred, k)[0], d.binary).items()
    }
    columns = [1] if d.binary else range(k)
    aucs = [float(drawn_auc((labels == t)[None], midranks(d.scores[:, t]))[0]) for t in columns]
    aucs = [a for a in aucs if not np.isnan(a)]
    values["roc_auc"] = float(np.mean(aucs)) if aucs else None
    return values


def _notes(state: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """A note when a class has few reference rows, with the reference's own sampling error of
    each metric for this window (what a different reference of that size could move it by)."""
    few = [
        f"{cls!s} ({count})"
        for cls, count in zip(state["classes"], state["reference_class_counts"], strict=True)
        if count < FEW_REFERENCE_ROWS
    ]
    if not few:
        return []
    own = ", ".join(
        f"{name} {m.reference_error:.3f}"
        for name, m in metrics.items()
        if m.reference_error is not None
    )
    return [
        f"few reference rows of class {', '.join(few)[:200]}: the reference's own sampling "
        f"error (reference_error: one standard error, part of every band) is {own or 'undefined'}"
    ]


def estimate(state: dict[str, Any], data: ClassificationData) -> WindowEstimate:
    """Expected metrics of one window with their bands (and realised ones if labelled)."""
    check_classes(state, data)
    binary, k = bool(state["binary"]), len(state["classes"])
    columns = [1] if binary else range(k)
    raw = [
        apply_isotonic(c, data.scores[:, t])
        for c, t in zip(state["calibrators"], columns, strict=True)
    ]
    proba = combine(raw, binary)  # `calibrate`, keeping the raw columns for the band
    cm = expected_confusion(proba, data.pred, k)
    values: dict[str, float | None] = {
        n: float(v) for n, v in confusion_metrics(cm, binary).items()
    }
    orders = {t: np.argsort(data.scores[:, t], kind="stable") for t in columns}  # sorted once
    values["roc_auc"] = point_auc(proba, data.scores, binary, orders)
    errors = band_errors(state, data, proba, values, orders, raw)
    realised = realised_metrics(data)
    z = float(state["z"])
    metrics = {
        name: metric(
            name,
            values[name],
            *errors.get(name, (None, None)),
            z,
            realised=realised.get(name),
            reason=NO_AUC if name == "roc_auc" and values[name] is None else None,
        )
        for name in (BINARY_METRICS if binary else MULTICLASS_METRICS)
    }
    pc = per_class(cm)
    table = [
        {
            "class": cls,
            "expected_support": float(pc["support"][t]),
            "precision": float(pc["precision"][t]),
            "recall": float(pc["recall"][t]),
            "f1": float(pc["f1"][t]),
        }
        for t, cls in enumerate(state["classes"])
    ]
    notes = _notes(state, metrics)
    return WindowEstimate("cbpe", "classification", data.rows, metrics, table, notes)
