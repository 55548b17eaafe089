"""Regression metrics pinned to scikit-learn / numpy on the same random data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from monitor.performance.regression import regression_metrics

RTOL = 1e-9


def close(a, b) -> None:
    assert a == pytest.approx(b, rel=RTOL, abs=1e-12)


def test_regression_agrees_with_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.lognormal(3, 1, 5000)
    yhat = y * rng.normal(1.05, 0.2, 5000) + rng.normal(0, 2, 5000)
    m = regression_metrics(y, yhat)
    assert m.n == 5000 and m.mape_excluded == 0
    close(m.mae, skm.mean_absolute_error(y, yhat))
    close(m.rmse, skm.root_mean_squared_error(y, yhat))
    close(m.mape, skm.mean_absolute_percentage_error(y, yhat))
    close(m.r2, skm.r2_score(y, yhat))
    close(m.mean_error, np.mean(yhat - y))
    q = np.quantile(np.abs(yhat - y), [0.5, 0.9, 0.95, 0.99])
    assert list(m.abs_error_quantiles) == ["p50", "p90", "p95", "p99"]
    np.testing.assert_allclose(list(m.abs_error_quantiles.values()), q, rtol=RTOL)
    counts, edges = np.histogram(yhat - y, bins=20)
    assert m.error_histogram["counts"] == counts.tolist()
    np.testing.assert_allclose(m.error_histogram["edges"], edges)
    json.dumps(m.to_dict(), allow_nan=False)


def test_mape_excludes_zero_labels_and_says_how_many() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(0, 5, 1000)
    y[::10] = 0.0
    y[5] = 1e-12
    yhat = y + rng.normal(0, 1, 1000)
    m = regression_metrics(y, yhat)
    keep = np.abs(y) >= 1e-9
    assert m.mape_excluded == 101 and "101 rows" in m.reasons["mape"]
    close(m.mape, skm.mean_absolute_percentage_error(y[keep], yhat[keep]))
    close(m.mae, skm.mean_absolute_error(y, yhat))  # other metrics use every row

    zeros = regression_metrics([0.0, 0.0, 0.0], [0.1, 0.2, 0.0])
    assert zeros.mape is None and "undefined" in zeros.reasons["mape"]


def test_constant_labels_r2_null_with_reason() -> None:
    m = regression_metrics([2.0, 2.0, 2.0], [1.5, 2.5, 2.0])
    assert m.r2 is None and "constant" in m.reasons["r2"]
    one = regression_metrics([2.5], [3.0])
    assert one.r2 is None and one.mae == 0.5


def test_missing_values_are_excluded_and_counted() -> None:
    y = np.array([1.0, np.nan, 3.0, 4.0, None, 6.5], dtype=object)
    yhat = np.array([1.5, 2.0, np.nan, 4.0, 5.0, 6.0], dtype=object)
    m = regression_metrics(y, yhat)
    assert m.n == 3 and m.excluded == {"unlabelled": 2, "missing_prediction": 1}
    close(m.mae, skm.mean_absolute_error([1, 4, 6.5], [1.5, 4, 6]))


def test_no_rows_and_non_numeric() -> None:
    empty = regression_metrics([], [])
    assert empty.n == 0 and empty.mae is None and "all" in empty.reasons
    text = regression_metrics(["a", "b"], [1.0, 2.0])
    assert text.n == 0 and "not numeric" in text.reasons["all"]
    assert json.dumps(text.to_dict(), allow_nan=False)
