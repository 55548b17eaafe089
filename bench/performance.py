"""Performance-metrics benchmark: every metric of one 1M-row labelled window, ours vs sklearn.

    .venv/bin/python bench/performance.py --rows 1000000 --repeats 5

Cases (deterministic data, generated once, outside the timings):
- binary: int labels, predicted class and positive-class probability (3 decimals: many ties);
  ours = `classification_metrics` (accuracy, P/R/F1 per class, macro, weighted, confusion
  matrix, ROC AUC, PR AUC, log loss, ECE with 10 bins, positive rates); sklearn = the plain
  calls giving the same numbers (accuracy_score, precision_recall_fscore_support x3,
  confusion_matrix, roc_auc_score, average_precision_score, log_loss, calibration_curve).
- multiclass: 4 string classes with a probability matrix (same metrics, OvR macro AUC).
- regression: MAE, RMSE, MAPE, R², bias, |error| quantiles, error histogram; sklearn =
  the four sklearn regression calls + numpy quantiles.
- window: `evaluate_window` on an in-memory 1M-row binary window with 2 model versions and
  one segment key of 5 values (8 metric computations plus grouping), no database.
Each timing is the median of `--repeats` runs after one warm-up, in this process. The
"max |diff|" column is the largest difference between our numbers and sklearn's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from monitor.performance.classification import classification_metrics
from monitor.performance.evaluate import evaluate_window
from monitor.performance.labelled import LabelledWindow
from monitor.performance.regression import regression_metrics


def timed(fn, repeats: int) -> tuple[float, object]:
    out = fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def binary_data(n: int):
    rng = np.random.default_rng(2026)
    y = (rng.random(n) < 0.3).astype(np.int64)
    p = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1).round(3)
    return y, (p >= 0.5).astype(np.int64), p


def sk_binary(y, yhat, p) -> dict[str, float]:
    prf = skm.precision_recall_fscore_support(y, yhat, zero_division=0)
    macro = skm.precision_recall_fscore_support(y, yhat, average="macro", zero_division=0)
    weighted = skm.precision_recall_fscore_support(y, yhat, average="weighted", zero_division=0)
    skm.confusion_matrix(y, yhat)
    calibration_curve(y, p, n_bins=10)
    return {
        "accuracy": skm.accuracy_score(y, yhat),
        "f1": prf[2][1],
        "f1_macro": macro[2],
        "f1_weighted": weighted[2],
        "roc_auc": skm.roc_auc_score(y, p),
        "pr_auc": skm.average_precision_score(y, p),
        "log_loss": skm.log_loss(y, p),
    }


def multiclass_data(n: int):
    rng = np.random.default_rng(7)
    classes = np.array(["bird", "cat", "dog", "fish"])
    y = rng.choice(classes, n, p=[0.1, 0.4, 0.3, 0.2])
    logits = rng.normal(size=(n, 4)) + 1.5 * (y[:, None] == classes[None, :])
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, classes[proba.argmax(axis=1)], proba, classes


def sk_multiclass(y, yhat, proba, classes) -> dict[str, float]:
    skm.precision_recall_fscore_support(y, yhat, zero_division=0)
    macro = skm.precision_recall_fscore_support(y, yhat, average="macro", zero_division=0)
    weighted = skm.precision_recall_fscore_support(y, yhat, average="weighted", zero_division=0)
    skm.confusion_matrix(y, yhat, labels=classes)
    top = proba.argmax(axis=1)
    calibration_curve(classes[top] == y, proba.max(axis=1), n_bins=10)
    return {
        "accuracy": skm.accuracy_score(y, yhat),
        "f1_macro": macro[2],
        "f1_weighted": weighted[2],
        "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr"),
        "pr_auc": skm.average_precision_score(y, proba),
        "log_loss": skm.log_loss(y, proba, labels=classes),
    }


def regression_data(n: int):
    rng = np.random.default_rng(3)
    y = rng.lognormal(3, 1, n)
    return y, y * rng.normal(1.05, 0.2, n) + rng.normal(0, 2, n)


def sk_regression(y, yhat) -> dict[str, float]:
    np.quantile(np.abs(yhat - y), [0.5, 0.9, 0.95, 0.99])
    return {
        "mae": skm.mean_absolute_error(y, yhat),
        "rmse": skm.root_mean_squared_error(y, yhat),
        "mape": skm.mean_absolute_percentage_error(y, yhat),
        "r2": skm.r2_score(y, yhat),
    }


def window(n: int) -> LabelledWindow:
    y, yhat, p = binary_data(n)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    versions = np.empty(n, dtype=object)
    versions[:] = np.where(np.arange(n) % 3 == 0, "v2", "v1").tolist()
    countries = ["FR", "DE", "ES", "IT", "PL"]
    segments = tuple({"country": countries[i % 5]} for i in range(n))
    start_us = (t0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    ts = start_us + np.arange(n, dtype=np.int64) * 3600
    return LabelledWindow(
        model="m",
        start=t0,
        end=t0 + timedelta(hours=1),
        y_pred=yhat.astype(object),
        proba=p,
        proba_classes=None,
        y_true=y.astype(object),
        model_version=versions,
        segments=segments,
        ts_us=ts,
        label_ts_us=ts + 60_000_000,
        labelled=np.ones(n, bool),
        labels_received_max=t0,
    )


def max_diff(ours: dict, theirs: dict) -> float:
    return max(abs(ours[k] - v) for k, v in theirs.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n, r = args.rows, args.repeats
    warnings.simplefilter("ignore")
    rows = []

    y, yhat, p = binary_data(n)
    ours_t, m = timed(lambda: classification_metrics(y, yhat, p), r)
    sk_t, sk = timed(lambda: sk_binary(y, yhat, p), r)
    rows.append(("binary + proba", ours_t, sk_t, max_diff(m.scalars(), sk)))

    y, yhat, proba, classes = multiclass_data(n)
    args_mc = (y, yhat, proba)
    ours_t, m = timed(lambda: classification_metrics(*args_mc, proba_classes=classes), r)
    sk_t, sk = timed(lambda: sk_multiclass(y, yhat, proba, classes), r)
    rows.append(("multiclass (4 str classes) + proba", ours_t, sk_t, max_diff(m.scalars(), sk)))

    y, yhat = regression_data(n)
    ours_t, m = timed(lambda: regression_metrics(y, yhat), r)
    sk_t, sk = timed(lambda: sk_regression(y, yhat), r)
    rows.append(("regression", ours_t, sk_t, max_diff(m.scalars(), sk)))

    w = window(n)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    ours_t, res = timed(lambda: evaluate_window(w, monitor="bench", now=now), max(1, r // 2))
    assert res.overall.status == "ok" and len(res.segments) == 5 and len(res.versions) == 2
    rows.append(("evaluate_window: overall + 2 versions + 5 segments", ours_t, None, None))

    print(f"rows per window: {n:,}; median of {r} runs after a warm-up\n")
    print("| case | ours (s) | sklearn calls (s) | sklearn / ours | max abs diff |")
    print("|---|---:|---:|---:|---:|")
    for name, ours, theirs, diff in rows:
        ratio = f"{theirs / ours:.1f}x" if theirs else "-"
        sk_s = f"{theirs:.3f}" if theirs else "-"
        d = f"{diff:.1e}" if diff is not None else "-"
        print(f"| {name} | {ours:.3f} | {sk_s} | {ratio} | {d} |")


if __name__ == "__main__":
    main()
