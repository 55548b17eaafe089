"""DLE: direct loss estimation for regression models.

Fit: a gradient-boosted model (`trees.py`) per loss learns the model's absolute error and
squared error from the features and the prediction, on every labelled reference row. How far
the learnt losses are off is measured by cross-fitting: the reference is split into `FOLDS`
seeded folds, one GBM per fold learns from the other folds and predicts its own fold, so
every reference row (not a 20% holdout) has an out-of-fold prediction. The fold models learn
from fewer rows than the stored one, so their errors are, if anything, too large. A reference
over 2 × FIT_ROWS rows: the GBM learns from FIT_ROWS seeded rows (a loss surface of 30 trees
of 31 leaves gains little from more; the fit cost grows with rows) and another FIT_ROWS
seeded rows, out of sample for it, measure it. A window's rows are predicted through both
losses' trees at once by leaf bitmasks (`forest.py`), equal to scikit-learn's predictions.
Estimate: MAE = mean predicted |error|, MSE = mean predicted squared error, RMSE = sqrt(MSE).

Band (sampling_error): the realised metric's sd for this window plus the reference's part.
- window part: a row's loss varies around its prediction; the out-of-fold rows give the ratio
  kappa = mean((loss - predicted)²) / mean(predicted²), so Var(loss_i) ≈ kappa·predicted_i²
  and the metric's sd is sqrt(sum kappa·predicted_i²) / n.
- reference_error: of the out-of-fold mean (loss - predicted) over the whole reference,
  sqrt(bias² + se²) estimated without double counting as max(|mean|, se): what the learnt
  loss may be off by. With every row out of fold, se is √5 smaller than a 20% holdout's,
  and the bias is not one fold's chance deviation.
RMSE's band is MSE's by the delta method (sd / (2·RMSE)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from monitor.errors import EstimationError
from monitor.jsonsafe import json_safe
from monitor.performance.estimation.result import DEFAULT_Z, WindowEstimate, metric
from monitor.performance.estimation.trees import fit_gbm, predict, predict_many

SEED = 0
FOLDS = 2  # cross-fitting: every reference row gets an out-of-fold loss prediction
FIT_ROWS = 50_000  # larger references: the GBMs learn from this many rows, as many measure
MIN_ROWS = 50


@dataclass(frozen=True)
class RegressionData:
    """`features` (n, d) float (categories as codes, NaN = missing), the prediction, the
    target (NaN = unlabelled; None = no target column)."""

    features: np.ndarray
    prediction: np.ndarray
    target: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.prediction.shape[0])

    def inputs(self) -> np.ndarray:
        return np.column_stack([self.features, self.prediction])


def regression_data(
    features: np.ndarray, prediction: Sequence[float], target: Sequence[float] | None = None
) -> RegressionData:
    x = np.asarray(features, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    pred = np.asarray(prediction, dtype=float)
    if pred.ndim != 1 or pred.size == 0 or x.shape[0] != pred.size:
        raise EstimationError("need one prediction per row and at least one row")
    if not np.isfinite(pred).all():
        raise EstimationError("every row needs a numeric prediction")
    y = None if target is None else np.asarray(target, dtype=float)
    return RegressionData(x, pred, y)


def _folds(n: int, seed: int) -> np.ndarray:
    """Seeded fold of each row (0 .. FOLDS-1), as balanced as the row count allows."""
    return np.random.default_rng(seed).permutation(n) % FOLDS


def _loss_stats(loss: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """kappa and reference_error from out-of-fold residuals of every reference row."""
    resid = loss - predicted
    mean_sq = float(np.mean(predicted**2))
    return {
        "kappa": float(np.mean(resid**2) / mean_sq) if mean_sq > 0 else 0.0,
        # E[bias_hat²] = bias² + se², so bias² + se² is estimated by max(bias_hat², se²)
        "reference_error": max(
            abs(float(resid.mean())), float(resid.std(ddof=1)) / np.sqrt(loss.size)
        ),
    }


def holdout_fit(data: RegressionData, rows: np.ndarray, seed: int) -> dict[str, Any]:
    """A large reference (`rows`: its labelled rows): the GBMs learn from FIT_ROWS seeded rows
    and another FIT_ROWS seeded rows, out of sample for them, measure kappa and
    reference_error (no cross-fitting needed: the se of their mean residual is already
    ~1/200 of a row's spread). Only these rows' inputs are built; both losses' held
    predictions share one binning of the held rows."""
    order = np.random.default_rng(seed).permutation(rows.size)
    train, hold = rows[np.sort(order[:FIT_ROWS])], rows[np.sort(order[FIT_ROWS : 2 * FIT_ROWS])]
    losses = {part: _losses(data, idx) for part, idx in (("train", train), ("hold", hold))}
    models = {
        name: fit_gbm(_inputs(data, train), loss, seed) for name, loss in losses["train"].items()
    }
    held = predict_many(tuple(models.values()), _inputs(data, hold))
    return {
        name: {"model": model, "fit_rows": FIT_ROWS,
               **_loss_stats(losses["hold"][name], np.maximum(h, 0.0))}
        for (name, model), h in zip(models.items(), held, strict=True)
    }  # fmt: skip


def cross_fit(x: np.ndarray, loss: np.ndarray, seed: int) -> dict[str, Any]:
    """The GBM of `loss` on every row, with kappa and reference_error from out-of-fold
    predictions (one GBM per fold, fitted on the other folds)."""
    fold = _folds(x.shape[0], seed)
    held = np.empty(loss.size)
    for f in range(FOLDS):
        model = fit_gbm(x[fold != f], loss[fold != f], seed)
        held[fold == f] = np.maximum(predict(model, x[fold == f]), 0.0)
    return {"model": fit_gbm(x, loss, seed), **_loss_stats(loss, held)}


def _inputs(data: RegressionData, rows: np.ndarray) -> np.ndarray:
    return np.column_stack([data.features[rows], data.prediction[rows]])


def _losses(data: RegressionData, rows: np.ndarray) -> dict[str, np.ndarray]:
    err = cast(np.ndarray, data.target)[rows] - data.prediction[rows]  # fit checked the target
    return {"abs": np.abs(err), "sq": err**2}


def fit(data: RegressionData, *, z: float = DEFAULT_Z, seed: int = SEED) -> dict[str, Any]:
    if data.target is None:
        raise EstimationError("the reference needs the target column to fit DLE")
    rows = np.flatnonzero(np.isfinite(data.target))
    if rows.size < MIN_ROWS:
        raise EstimationError(f"DLE needs at least {MIN_ROWS} labelled reference rows")
    state: dict[str, Any] = {"method": "dle", "version": 2, "z": z, "seed": seed}
    state["features"] = int(data.features.shape[1])
    state["reference_rows"] = int(rows.size)
    if rows.size > 2 * FIT_ROWS:
        state.update(holdout_fit(data, rows, seed))
    else:
        x = _inputs(data, rows)
        for name, loss in _losses(data, rows).items():
            state[name] = cross_fit(x, loss, seed)
    return json_safe(state)


def _window_part(state: dict[str, Any], predicted: np.ndarray) -> float:
    return float(np.sqrt(state["kappa"] * np.sum(predicted**2)) / predicted.size)


def estimate(state: dict[str, Any], data: RegressionData) -> WindowEstimate:
    if data.features.shape[1] != int(state["features"]):
        raise EstimationError(
            f"window has {data.features.shape[1]} features, the reference {state['features']}"
        )
    x, z = data.inputs(), float(state["z"])
    abs_raw, sq_raw = predict_many((state["abs"]["model"], state["sq"]["model"]), x)
    abs_hat, sq_hat = np.maximum(abs_raw, 0.0), np.maximum(sq_raw, 0.0)
    mae, mse = float(abs_hat.mean()), float(sq_hat.mean())
    sd: dict[str, tuple[float, float]] = {}
    for name, hat in (("abs", abs_hat), ("sq", sq_hat)):
        ref = float(state[name]["reference_error"])
        sd[name] = (float(np.hypot(_window_part(state[name], hat), ref)), ref)
    realised: dict[str, float | None] = {}
    if data.target is not None and np.isfinite(data.target).any():
        ok = np.isfinite(data.target)
        e = data.target[ok] - data.prediction[ok]
        mse_real = float((e**2).mean())
        realised = {"mae": float(np.abs(e).mean()), "mse": mse_real, "rmse": math.sqrt(mse_real)}
    rmse = float(np.sqrt(mse))
    half = 1 / (2 * rmse) if rmse > 0 else None  # delta method: d sqrt(MSE) = d MSE / 2 RMSE
    rmse_sd = (None, None) if half is None else (sd["sq"][0] * half, sd["sq"][1] * half)
    none = (0.0, None)
    bands: dict[str, tuple[float, float | None, float | None]] = {
        "mae": (mae, *sd["abs"]),
        "mse": (mse, *sd["sq"]),
        "rmse": (rmse, *rmse_sd),
    }
    metrics = {
        name: metric(name, v, total, ref, z, bounds=none, realised=realised.get(name))
        for name, (v, total, ref) in bands.items()
    }
    return WindowEstimate("dle", "regression", data.rows, metrics)
