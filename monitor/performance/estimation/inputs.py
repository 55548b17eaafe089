"""A scheduled monitor's rows as estimator inputs: stored windows and reference frames.

Classification: the stored `prediction_proba` (a positive-class number, or an object per
class) and the stored prediction, labels where known. Rows without probabilities (or without
a prediction) are left out: the estimators need both. Binary classes come from the labels
and predictions, the positive class second (`performance.positive_class`, else the larger
class, as the realised metrics choose it); multiclass from the probability keys.
Regression (DLE): the monitor's feature columns and the prediction of an event frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from monitor.display import PREDICTION_FEATURE
from monitor.errors import EstimationError
from monitor.performance.estimation.data import ClassificationData, classification_data
from monitor.performance.estimation.dle import RegressionData, regression_data
from monitor.performance.estimation.frames import categories, matrix
from monitor.performance.labelled import LabelledWindow

PREDICTION = PREDICTION_FEATURE  # the prediction column of an event or reference frame


def _usable(proba: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    finite = np.isfinite(proba) if proba.ndim == 1 else np.isfinite(proba).all(axis=1)
    return finite & np.array([v is not None for v in y_pred], dtype=bool)


def binary_classes(values: Sequence[Any], pos_label: Any = None) -> list[Any]:
    """The two classes of `values` (labels and predictions), positive class second."""
    seen = {str(v): v for v in values if v is not None and v == v}
    if pos_label is not None:
        pos = str(pos_label)
        if pos not in seen or len(seen) != 2:
            raise EstimationError(
                f"binary estimation needs the positive class {pos_label!r} and one other class; "
                f"found {sorted(seen)}"
            )
        return [next(v for k, v in seen.items() if k != pos), seen[pos]]
    if len(seen) != 2:
        raise EstimationError(
            f"one probability per row needs exactly two classes, found {len(seen)}: "
            f"{sorted(seen)[:10]}"
        )
    try:
        return sorted(seen.values())
    except TypeError:
        return [seen[k] for k in sorted(seen)]


def window_classification(
    window: LabelledWindow, *, classes: Sequence[Any] | None = None, pos_label: Any = None
) -> ClassificationData | None:
    """The window's rows with probabilities and a prediction (None: no such row). `classes`:
    the fitted state's classes (a window is read in the reference's class order)."""
    if window.proba is None:
        return None
    keep = _usable(window.proba, window.y_pred)
    if not keep.any():
        return None
    proba, y_pred, y_true = window.proba[keep], window.y_pred[keep], window.y_true[keep]
    if classes is not None and proba.ndim == 2:
        proba = aligned(proba, window.proba_classes or (), classes)
    if classes is None:
        if proba.ndim == 2:
            classes = list(window.proba_classes or ())
        else:
            labelled = [v for v in y_true.tolist() if v is not None]
            classes = binary_classes(labelled + y_pred.tolist(), pos_label)
    return classification_data(proba, list(classes), y_pred.tolist(), y_true.tolist())


def aligned(proba: np.ndarray, keys: Sequence[Any], classes: Sequence[Any]) -> np.ndarray:
    """Probability columns named `keys` in the order of `classes` (a class no row of the
    window names has probability 0, as for a key missing from one row's object)."""
    where = {str(k): i for i, k in enumerate(keys)}
    extra = sorted(set(where) - {str(c) for c in classes})
    if extra:
        raise EstimationError(
            f"window probabilities name classes the reference did not have: {extra[:10]}"
        )
    out = np.zeros((proba.shape[0], len(classes)))
    for j, c in enumerate(classes):
        if str(c) in where:
            out[:, j] = proba[:, where[str(c)]]
    return out


def frame_classification(
    scores: Sequence[Any], labels: Sequence[Any], *, pos_label: Any = None
) -> ClassificationData:
    """A labelled reference file whose prediction column holds positive-class scores
    (predicted class: score >= 0.5)."""
    try:
        proba = np.asarray([np.nan if v is None else v for v in scores], dtype=float)
    except (TypeError, ValueError):
        raise EstimationError(
            "the reference's prediction column holds classes, not scores: the estimators "
            "need the positive class's probability"
        ) from None
    keep = np.isfinite(proba)
    y = [v for v, k in zip(labels, keep.tolist(), strict=True) if k]
    return classification_data(proba[keep], binary_classes(y, pos_label), None, y)


def regression_columns(frame: Any, features: Sequence[str]) -> dict[str, list[str]]:
    """DLE's categorical feature coding, learnt on the reference frame (stored with the state)."""
    return categories(frame, list(features))


def _number(value: Any) -> float:
    """A label as a float; NaN where missing or not a number (a stored label is JSON)."""
    if isinstance(value, bool) or value is None:
        return np.nan
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def frame_regression(
    frame: Any,
    features: Sequence[str],
    cats: dict[str, list[str]],
    target: Sequence[Any] | None = None,
) -> RegressionData | None:
    """The frame's rows with a numeric prediction as DLE input (None: no such row)."""
    if PREDICTION not in frame.columns:
        return None
    pred = np.asarray(
        [v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
         for v in frame[PREDICTION].tolist()],
        dtype=float,
    )  # fmt: skip
    keep = np.isfinite(pred)
    if not keep.any():
        return None
    x = matrix(frame, list(features), cats)[keep]
    y = None
    if target is not None:
        y = np.asarray([_number(v) for v in target], dtype=float)[keep]
    return regression_data(x, pred[keep], y)


__all__ = [
    "aligned",
    "binary_classes",
    "frame_classification",
    "frame_regression",
    "regression_columns",
    "window_classification",
]
