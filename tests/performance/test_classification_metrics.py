"""Classification metrics pinned to scikit-learn on the same random data (rtol 1e-9)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from monitor.errors import InputError
from monitor.performance.classification import bin_ids, classification_metrics
from monitor.performance.compute import compute_metrics, infer_task

RTOL = 1e-9


def close(a, b) -> None:
    assert a == pytest.approx(b, rel=RTOL, abs=1e-12)


def binary_data(n: int, seed: int, labels=(0, 1)):
    rng = np.random.default_rng(seed)
    pos = rng.random(n) < 0.35
    score = np.clip(0.25 * pos + rng.random(n) * 0.75, 0, 1).round(3)  # rounding: many ties
    y_pred = np.where(rng.random(n) < 0.8, score >= 0.5, rng.random(n) < 0.5)
    neg_l, pos_l = labels
    y_true = np.where(pos, pos_l, neg_l)
    y_hat = np.where(y_pred, pos_l, neg_l)
    return y_true, y_hat, score


def check_ece(m, y_is_pos, conf, n_bins=10) -> None:
    """ECE and bins against calibration_curve and an independent pandas binning."""
    prob_true, prob_pred = calibration_curve(y_is_pos, conf, n_bins=n_bins)
    bins = [b for b in m.calibration.bins if b.count]
    np.testing.assert_allclose([b.observed_rate for b in bins], prob_true, rtol=RTOL)
    np.testing.assert_allclose([b.mean_predicted for b in bins], prob_pred, rtol=RTOL)
    edges = np.linspace(0, 1, n_bins + 1)
    cut = pd.cut(conf, edges, right=True, include_lowest=True)
    counts = pd.Series(conf).groupby(cut, observed=False).size().to_numpy()
    assert [b.count for b in m.calibration.bins] == counts.tolist()
    ece = np.sum(counts[counts > 0] / len(conf) * np.abs(prob_true - prob_pred))
    close(m.ece, ece)


@pytest.mark.parametrize(
    "labels", [(0, 1), (False, True), ("no", "yes")], ids=["int", "bool", "str"]
)
def test_binary_agrees_with_sklearn(labels) -> None:
    y, yhat, p = binary_data(5000, 1, labels)
    m = classification_metrics(y, yhat, p)
    pos = labels[1]
    yb = (y == pos).astype(int)
    assert m.binary and m.n == 5000 and m.n_proba == 5000
    assert m.positive_class == (1 if isinstance(pos, bool) else pos)
    close(m.accuracy, skm.accuracy_score(y, yhat))
    close(m.precision, skm.precision_score(y, yhat, pos_label=pos))
    close(m.recall, skm.recall_score(y, yhat, pos_label=pos))
    close(m.f1, skm.f1_score(y, yhat, pos_label=pos))
    for avg in ("macro", "weighted"):
        p_, r_, f_, _ = skm.precision_recall_fscore_support(y, yhat, average=avg)
        close(getattr(m, f"precision_{avg}"), p_)
        close(getattr(m, f"recall_{avg}"), r_)
        close(getattr(m, f"f1_{avg}"), f_)
    p_, r_, f_, s_ = skm.precision_recall_fscore_support(y, yhat)
    np.testing.assert_allclose([c.precision for c in m.per_class], p_, rtol=RTOL)
    np.testing.assert_allclose([c.recall for c in m.per_class], r_, rtol=RTOL)
    np.testing.assert_allclose([c.f1 for c in m.per_class], f_, rtol=RTOL)
    assert [c.support for c in m.per_class] == s_.tolist()
    assert np.array_equal(m.confusion_matrix, skm.confusion_matrix(y, yhat))
    close(m.roc_auc, skm.roc_auc_score(yb, p))
    close(m.pr_auc, skm.average_precision_score(yb, p))
    close(m.log_loss, skm.log_loss(yb, p))
    close(m.positive_rate_pred, np.mean(yhat == pos))
    close(m.positive_rate_label, np.mean(y == pos))
    check_ece(m, yb, p)
    json.dumps(m.to_dict(), allow_nan=False)


def test_multiclass_string_classes_agree_with_sklearn() -> None:
    rng = np.random.default_rng(7)
    classes = np.array(["bird", "cat", "dog", "fish"])
    n = 4000
    y = rng.choice(classes, n, p=[0.1, 0.4, 0.3, 0.2])
    logits = rng.normal(size=(n, 4)) + 1.5 * (y[:, None] == classes[None, :])
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    yhat = classes[np.argmax(proba + rng.normal(scale=0.3, size=proba.shape), axis=1)]
    order = [2, 0, 3, 1]  # probability columns need not be in class order
    m = classification_metrics(y, yhat, proba[:, order], proba_classes=classes[order].tolist())
    assert not m.binary and m.classes == tuple(classes)
    close(m.accuracy, skm.accuracy_score(y, yhat))
    for avg in ("macro", "weighted"):
        p_, r_, f_, _ = skm.precision_recall_fscore_support(y, yhat, average=avg)
        close(getattr(m, f"precision_{avg}"), p_)
        close(getattr(m, f"recall_{avg}"), r_)
        close(getattr(m, f"f1_{avg}"), f_)
    close(m.f1, skm.f1_score(y, yhat, average="macro"))
    assert np.array_equal(m.confusion_matrix, skm.confusion_matrix(y, yhat, labels=classes))
    close(m.roc_auc, skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    close(m.pr_auc, skm.average_precision_score(y, proba, average="macro"))
    per_auc = skm.roc_auc_score(y, proba, multi_class="ovr", average=None)
    np.testing.assert_allclose([c.roc_auc for c in m.per_class], per_auc, rtol=RTOL)
    close(m.log_loss, skm.log_loss(y, proba, labels=classes))
    top = proba.argmax(axis=1)
    check_ece(m, classes[top] == y, proba.max(axis=1))
    assert m.calibration.method == "top_label"
    assert m.positive_rate_pred is None and "positive_rate_pred" in m.reasons


def test_predictions_derived_from_probabilities() -> None:
    y, _, p = binary_data(2000, 3)
    m = classification_metrics(y, None, p)
    yhat = (p >= 0.5).astype(int)
    close(m.accuracy, skm.accuracy_score(y, yhat))
    close(m.f1, skm.f1_score(y, yhat))
    assert m.excluded == {"unlabelled": 0, "missing_prediction": 0}


def test_integer_labels_with_probability_objects() -> None:
    """Label 2 and probability key "2" are one class; a missing key is probability 0."""
    rng = np.random.default_rng(5)
    n = 1500
    y = rng.integers(0, 3, n)
    proba = rng.dirichlet([1, 1, 1], n)
    proba[y == 2, 2] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    m = classification_metrics(y, None, proba, proba_classes=["0", "1", "2"])
    close(m.roc_auc, skm.roc_auc_score(y, proba, multi_class="ovr"))
    close(m.accuracy, skm.accuracy_score(y, proba.argmax(axis=1)))
    close(m.log_loss, skm.log_loss(y, proba))


def test_unlabelled_and_unpredicted_rows_are_excluded_and_counted() -> None:
    y, yhat, p = binary_data(1000, 9)
    y_obj = y.astype(object)
    y_obj[:100] = None
    y_obj[100:110] = float("nan")
    yhat_obj = yhat.astype(object)
    yhat_obj[200:250] = None
    p2 = p.copy()
    p2[200:230] = np.nan  # 200..229: neither a class nor probabilities
    m = classification_metrics(y_obj, yhat_obj, p2)
    assert m.excluded == {"unlabelled": 110, "missing_prediction": 30}
    keep = np.ones(1000, bool)
    keep[:110] = keep[200:230] = False
    derived = yhat.copy()
    derived[230:250] = p[230:250] >= 0.5  # no class: derived from the probability
    close(m.accuracy, skm.accuracy_score(y[keep], derived[keep]))
    assert m.n_proba == keep.sum()
    close(m.roc_auc, skm.roc_auc_score(y[keep], p[keep]))


def test_one_class_window_auc_is_null_with_reason() -> None:
    rng = np.random.default_rng(2)
    p = rng.random(300)
    y = np.ones(300, int)
    yhat = (p >= 0.5).astype(int)
    m = classification_metrics(y, yhat, p)
    assert m.binary and m.classes == (0, 1) and m.positive_class == 1
    assert m.roc_auc is None and "one class" in m.reasons["roc_auc"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(skm.roc_auc_score(y, p))  # scikit-learn: NaN plus a warning
    close(m.pr_auc, skm.average_precision_score(y, p))  # all positive: AP defined (1.0)
    close(m.log_loss, skm.log_loss(y, p, labels=[0, 1]))
    close(m.f1, skm.f1_score(y, yhat))
    close(m.f1_macro, skm.f1_score(y, yhat, average="macro", labels=[0, 1], zero_division=0))
    assert np.array_equal(m.confusion_matrix, skm.confusion_matrix(y, yhat, labels=[0, 1]))
    d = m.to_dict()
    assert d["roc_auc"] is None and json.dumps(d, allow_nan=False)

    negative = classification_metrics(np.zeros(300, int), yhat, p)
    assert negative.roc_auc is None and negative.pr_auc is None
    assert "no positive label" in negative.reasons["pr_auc"]
    assert negative.recall == 0.0 and "never labelled" in negative.reasons["recall"]


def test_class_never_predicted_follows_zero_division_zero() -> None:
    y = np.array(["a", "b", "c", "c", "a", "b", "c", "a"])
    yhat = np.array(["a", "a", "c", "c", "a", "a", "c", "a"])  # "b" never predicted
    m = classification_metrics(y, yhat)
    b = next(c for c in m.per_class if c.label == "b")
    assert b.precision == 0.0 and b.recall == 0.0 and b.f1 == 0.0 and b.predicted == 0
    assert "never predicted: ['b']" in m.reasons["precision"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(m.precision_macro, skm.precision_score(y, yhat, average="macro", zero_division=0))
    close(m.f1_macro, skm.f1_score(y, yhat, average="macro", zero_division=0))
    assert m.roc_auc is None and m.reasons["roc_auc"] == "no probabilities"


def test_multiclass_auc_skips_classes_absent_from_labels() -> None:
    rng = np.random.default_rng(11)
    n = 600
    y = rng.choice(["x", "y"], n)
    proba = rng.dirichlet([1, 1, 1], n)
    m = classification_metrics(y, None, proba, proba_classes=["x", "y", "z"])
    expected = np.mean([skm.roc_auc_score(y == c, proba[:, i]) for i, c in enumerate("xy")])
    close(m.roc_auc, expected)
    assert "'z'" in m.reasons["roc_auc"]
    close(m.log_loss, skm.log_loss(y, proba, labels=["x", "y", "z"]))


@pytest.mark.parametrize(
    "y_true",
    [[], [None, None, None], [float("nan")] * 4],
    ids=["no_rows", "all_missing", "all_nan"],
)
def test_no_labels_gives_empty_metrics_with_reason(y_true) -> None:
    m = classification_metrics(y_true, [1] * len(y_true), [0.5] * len(y_true))
    assert m.n == 0 and m.accuracy is None and m.roc_auc is None
    assert m.reasons["all"] == "no labelled rows with a prediction"
    assert m.excluded["unlabelled"] == len(y_true)
    assert json.dumps(m.to_dict(), allow_nan=False)


def test_bad_shapes_raise_input_error() -> None:
    with pytest.raises(InputError):
        classification_metrics([0, 1], [0])
    with pytest.raises(InputError):
        classification_metrics([0, 1], None, np.ones((2, 2)))


@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=200),
    st.integers(2, 40),
)
@settings(max_examples=200, deadline=None)
def test_bin_ids_match_searchsorted(values, n_bins) -> None:
    edges = np.linspace(0, 1, n_bins + 1)
    x = np.concatenate([np.asarray(values), edges])  # every edge exactly
    assert np.array_equal(bin_ids(x, edges), np.searchsorted(edges[1:-1], x))


def test_task_inference() -> None:
    assert infer_task(["a", "b"]) == "classification"
    assert infer_task([True, False]) == "classification"
    assert infer_task([0, 1, 2, 1], [1, 1, 2, 0]) == "classification"
    assert infer_task([0.0, 1.0]) == "classification"
    assert infer_task([1, 2], None, [0.2, 0.9]) == "classification"
    assert infer_task([0.5, 1.25, 3.0]) == "regression"
    assert infer_task([1, 2, 3], [1.5, 2.0, 2.5]) == "regression"
    assert infer_task(list(range(100))) == "regression"
    assert compute_metrics([0.5, 1.5], [0.4, 1.7]).task == "regression"
    assert compute_metrics([1, 2, 3], [1, 2, 2], task="regression").task == "regression"


def test_bool_labels_match_integer_predictions() -> None:
    m = classification_metrics([True, False, True, True], [1, 0, 0, 1])
    assert m.classes == (0, 1) and m.accuracy == 0.75
