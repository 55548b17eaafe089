"""Performance metrics of one labelled window by task: task inference and the one entry point.

Pure numpy (no I/O). Classification definitions are in `classification.py`, regression ones
in `regression.py`; each is pinned to scikit-learn by the tests.

Task inference (when the caller does not say): classification when probabilities are given,
or when labels or predictions hold strings or bools, or when every label and prediction is an
integer and there are at most `MAX_INFERRED_CLASSES` (20) distinct values; regression
otherwise (any non-integral number, or many distinct integers). A regression target with few
integer values (e.g. counts 0-5) is inferred as classification: give `task` for those.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from monitor.performance.classification import (
    DEFAULT_BINS,
    ClassificationMetrics,
    classification_metrics,
)
from monitor.performance.columns import to_column, unify, unique_classes
from monitor.performance.regression import MAPE_EPS, RegressionMetrics, regression_metrics

TaskKind = Literal["classification", "regression"]
Metrics = ClassificationMetrics | RegressionMetrics
MAX_INFERRED_CLASSES = 20


def infer_task(y_true: Any, y_pred: Any = None, proba: Any = None) -> TaskKind:
    """Classification or regression from the data (module docstring)."""
    if proba is not None and np.isfinite(np.asarray(proba, dtype=np.float64)).any():
        return "classification"
    cols = [to_column(y_true)] + ([to_column(y_pred)] if y_pred is not None else [])
    if any(c.kind == "str" or c.had_bool for c in cols):
        return "classification"
    cols = list(unify(*cols))
    if any(c.kind == "float" for c in cols):
        return "regression"
    distinct = unique_classes(*(c.values[c.valid] for c in cols))
    return "classification" if len(distinct) <= MAX_INFERRED_CLASSES else "regression"


def compute_metrics(
    y_true: Any,
    y_pred: Any = None,
    proba: Any = None,
    *,
    proba_classes: Any = None,
    task: TaskKind | None = None,
    classes: Any = None,
    pos_label: Any = None,
    n_bins: int = DEFAULT_BINS,
    mape_eps: float = MAPE_EPS,
) -> Metrics:
    """All metrics of one window's rows; `task` inferred from the data when None."""
    task = task or infer_task(y_true, y_pred, proba)
    if task == "regression":
        if y_pred is None:
            y_pred = np.full(len(to_column(y_true)), np.nan)
        return regression_metrics(y_true, y_pred, mape_eps=mape_eps)
    return classification_metrics(
        y_true,
        y_pred,
        proba,
        proba_classes=proba_classes,
        classes=classes,
        pos_label=pos_label,
        n_bins=n_bins,
    )


__all__ = [
    "ClassificationMetrics",
    "Metrics",
    "RegressionMetrics",
    "TaskKind",
    "classification_metrics",
    "compute_metrics",
    "infer_task",
    "regression_metrics",
]
