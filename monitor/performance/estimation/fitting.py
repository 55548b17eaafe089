"""Fit an estimator on a monitor's labelled reference rows, apply it to one window.

The stored document (`fit_state`) wraps the estimator's own JSON state with what a replica
needs to apply it without the reference: the method, and for DLE the feature columns and
their categorical coding. Nothing here reads storage: the caller passes the rows (a labelled
reference file frame, or a stored-traffic reference as a `LabelledWindow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from monitor.errors import EstimationError
from monitor.performance.estimation.inputs import (
    PREDICTION,
    frame_classification,
    frame_regression,
    regression_columns,
    window_classification,
)
from monitor.performance.estimation.registry import get_estimator
from monitor.performance.estimation.result import WindowEstimate
from monitor.performance.labelled import LabelledWindow

DOC_VERSION = 1


def fit_state(
    method: str, rows: Any, features: Sequence[str], pos_label: Any = None, *, label: str
) -> dict[str, Any]:
    """The stored document of `method` fitted on `rows` (EstimationError: cannot fit): a
    `LabelledWindow`, or a reference frame with the prediction and the `label` column."""
    est = get_estimator(method)
    if rows is None:
        raise EstimationError("the reference has no labelled rows")
    doc: dict[str, Any] = {"version": DOC_VERSION, "method": method}
    if isinstance(rows, LabelledWindow):
        if est.task == "regression":
            raise EstimationError(
                "DLE needs the features beside the labels: give the reference as a file with "
                "the label column (a reference of stored traffic is not supported yet)"
            )
        data = window_classification(rows, pos_label=pos_label)
        if data is None:
            raise EstimationError("the reference's predictions carry no prediction_proba")
        return {**doc, "state": est.fit(data)}
    if PREDICTION not in rows.columns or label not in rows.columns:
        raise EstimationError("the reference file needs the prediction and the label columns")
    if est.task == "classification":
        data = frame_classification(rows[PREDICTION].tolist(), rows[label].tolist(),
                                    pos_label=pos_label)  # fmt: skip
        return {**doc, "state": est.fit(data)}
    names = list(features) or [c for c in rows.columns if c not in (PREDICTION, label)]
    cats = regression_columns(rows, names)
    reg = frame_regression(rows, names, cats, target=rows[label].tolist())
    if reg is None:
        raise EstimationError("the reference file has no numeric predictions")
    return {**doc, "state": est.fit(reg), "features": names, "categories": cats}


def needs_features(doc: dict[str, Any]) -> list[str] | None:
    """The feature columns the stored estimator reads from a window's events (None: only
    predictions and probabilities)."""
    features = doc.get("features")
    return None if features is None else list(features)


def estimate_window(
    doc: dict[str, Any],
    window: LabelledWindow | None,
    frame: Any = None,
    target: Sequence[Any] | None = None,
) -> WindowEstimate | None:
    """The stored estimator applied to one window (None: no row it can read). Classification
    reads the window's predictions and probabilities; DLE its event `frame` and, where known,
    each row's label (`target`, aligned with the frame; None where unlabelled)."""
    est = get_estimator(str(doc["method"]))
    state = doc["state"]
    if est.task == "regression":
        if frame is None:
            return None
        reg = frame_regression(frame, doc["features"], doc.get("categories") or {}, target)
        if reg is None:
            return None
        labelled = 0 if reg.target is None else int(np.isfinite(reg.target).sum())
        return replace(est.estimate(state, reg), labelled=labelled)
    if window is None:
        return None
    data = window_classification(window, classes=state["classes"])
    if data is None:
        return None
    labelled = 0 if data.labels is None else int((data.labels >= 0).sum())
    return replace(est.estimate(state, data), labelled=labelled)


__all__ = ["estimate_window", "fit_state", "needs_features"]
