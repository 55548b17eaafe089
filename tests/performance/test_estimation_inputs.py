"""A monitor's rows as estimator inputs: stored windows, reference frames, stored documents."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from monitor.errors import EstimationError
from monitor.performance.estimation.fitting import estimate_window, fit_state, needs_features
from monitor.performance.estimation.inputs import binary_classes, window_classification
from monitor.performance.labelled import LabelledWindow, proba_arrays

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def _window(proba, y_pred, y_true) -> LabelledWindow:
    n = len(y_pred)
    p, keys = proba_arrays(list(proba))

    def obj(values):
        out = np.empty(n, dtype=object)
        out[:] = list(values)
        return out

    return LabelledWindow(
        "m", T0, T0, obj(y_pred), p, keys, obj(y_true), obj([None] * n), (None,) * n,
        np.zeros(n, np.int64), np.zeros(n, np.int64),
        np.array([v is not None for v in y_true]), None,
    )  # fmt: skip


def test_binary_classes_put_the_positive_class_second() -> None:
    assert binary_classes([1, 0, 1, None]) == [0, 1]
    assert binary_classes(["yes", "no"], pos_label="no") == ["yes", "no"]
    assert [str(c) for c in binary_classes([1, "1", 0])] == ["0", "1"]  # one class "1"
    with pytest.raises(EstimationError, match="exactly two classes"):
        binary_classes(["a", "b", "c"])
    with pytest.raises(EstimationError, match="positive class 'z'"):
        binary_classes(["a", "b"], pos_label="z")


def test_rows_without_probabilities_or_prediction_are_left_out() -> None:
    w = _window([0.9, None, 0.2, 0.4], [1, 1, None, 0], [1, None, 0, None])
    data = window_classification(w)
    assert data is not None and data.rows == 2 and data.classes == (0, 1)
    assert data.labels is not None and data.labels.tolist() == [1, -1]
    assert window_classification(_window([None, None], [1, 0], [None, None])) is None
    multi = _window([{"a": 0.7, "b": 0.3}, {"a": 0.1, "b": 0.9}], ["a", "b"], [None, None])
    got = window_classification(multi)
    assert got is not None and got.classes == ("a", "b") and got.scores.shape == (2, 2)


def test_fit_state_is_json_and_a_window_is_read_in_the_reference_class_order() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 400)
    frame = pd.DataFrame(
        {"__prediction__": p, "__label__": (rng.uniform(0, 1, 400) < p).astype(int)}
    )
    doc = fit_state("atc", frame, [], label="__label__")
    assert doc["method"] == "atc" and doc["state"]["classes"] == [0, 1]
    assert needs_features(doc) is None
    w = _window(p[:50].tolist(), (p[:50] >= 0.5).astype(int).tolist(), [None] * 50)
    est = estimate_window(doc, w)
    assert est is not None and est.rows == 50 and est.metrics["accuracy"].value is not None
    with pytest.raises(EstimationError, match="holds classes, not scores"):
        fit_state("cbpe", frame.assign(__prediction__=["a", "b"] * 200), [], label="__label__")
    with pytest.raises(EstimationError, match="DLE needs the features"):
        fit_state("dle", w, [], label="__label__")


def test_multiclass_window_columns_follow_the_reference_classes() -> None:
    w = _window([{"c": 0.6, "a": 0.4}, {"a": 0.1, "c": 0.9}], ["c", "c"], [None, None])
    data = window_classification(w, classes=["a", "b", "c"])
    assert data is not None and data.classes == ("a", "b", "c")
    assert data.scores.tolist() == [[0.4, 0.0, 0.6], [0.1, 0.0, 0.9]]
    with pytest.raises(EstimationError, match=r"did not have: \['z'\]"):
        window_classification(_window([{"z": 1.0}], ["z"], [None]), classes=["a", "b"])
