"""Regression metrics of one labelled window, pinned to scikit-learn / numpy.

Rows evaluated: a finite numeric label and a finite numeric prediction (others are counted in
`excluded`). Definitions (tests pin each at rtol 1e-9):
- mae: `mean_absolute_error`; rmse: `root_mean_squared_error`; r2: `r2_score`, except that
  constant labels (or one row) give null + reason where scikit-learn's default
  `force_finite=True` would report 0.0 or 1.0;
- mape: mean of |pred - y| / |y| over the rows with |y| >= `mape_eps` (default 1e-9), as a
  fraction (0.1 = 10%), equal to `mean_absolute_percentage_error` on those rows. Rows with
  |y| < eps are excluded and counted in `mape_excluded` (scikit-learn instead divides by
  max(|y|, machine eps), which turns a zero label into an error of ~1e15); null when every
  label is below eps;
- mean_error (bias): mean(pred - y), positive = over-prediction;
- abs_error_quantiles: `numpy.quantile` (linear) of |pred - y| at 0.5, 0.9, 0.95, 0.99;
- error_histogram: `numpy.histogram` of pred - y, 20 equal-width bins (for the report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from monitor.errors import InputError
from monitor.performance.columns import json_safe, to_column

MAPE_EPS = 1e-9
QUANTILES = (0.5, 0.9, 0.95, 0.99)
HISTOGRAM_BINS = 20
NO_ROWS = "no labelled rows with a numeric prediction"

SCALARS = ("mae", "rmse", "mape", "r2", "mean_error", "mean_label", "mean_prediction")


@dataclass(frozen=True)
class RegressionMetrics:
    n: int
    mae: float | None = None
    rmse: float | None = None
    mape: float | None = None
    mape_excluded: int = 0  # rows with |label| < mape_eps, not in the MAPE
    mape_eps: float = MAPE_EPS
    r2: float | None = None
    mean_error: float | None = None
    mean_label: float | None = None
    mean_prediction: float | None = None
    abs_error_quantiles: dict[str, float] = field(default_factory=dict)  # "p50" -> value
    error_histogram: dict[str, list[Any]] = field(default_factory=dict)  # edges, counts
    excluded: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    task: Literal["regression"] = "regression"

    def scalars(self) -> dict[str, float | None]:
        q = {f"abs_error_{k}": v for k, v in self.abs_error_quantiles.items()}
        return json_safe({name: getattr(self, name) for name in SCALARS} | q)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n": self.n,
            **self.scalars(),
            "mape_excluded": self.mape_excluded,
            "mape_eps": self.mape_eps,
            "abs_error_quantiles": json_safe(self.abs_error_quantiles),
            "error_histogram": json_safe(self.error_histogram),
            "excluded": dict(self.excluded),
            "reasons": dict(self.reasons),
        }


def regression_metrics(
    y_true: Any, y_pred: Any, *, mape_eps: float = MAPE_EPS
) -> RegressionMetrics:
    """Every regression metric of the rows (module docstring). Edge cases give null + reason."""
    t, p = to_column(y_true), to_column(y_pred)
    if len(t) != len(p):
        raise InputError(f"y_pred has {len(p)} rows, y_true has {len(t)}")
    reasons: dict[str, str] = {}
    excluded = {
        "unlabelled": int((~t.valid).sum()),
        "missing_prediction": int((t.valid & ~p.valid).sum()),
    }
    if t.kind == "str" or p.kind == "str":
        why = "labels or predictions are not numeric"
        labelled = int(t.valid.sum())
        return RegressionMetrics(
            n=0, excluded=excluded | {"not_numeric": labelled}, reasons={"all": why}
        )
    rows = t.valid & p.valid
    n = int(rows.sum())
    if n == 0:
        return RegressionMetrics(n=0, excluded=excluded, reasons={"all": NO_ROWS})
    y = t.values[rows].astype(np.float64)
    yhat = p.values[rows].astype(np.float64)
    err = yhat - y
    abs_err = np.abs(err)
    mse = float(np.mean(err * err))

    r2 = _r2(y, err, reasons)
    mape, mape_excluded = _mape(y, abs_err, mape_eps, reasons)
    qs = np.quantile(abs_err, QUANTILES)
    counts, edges = np.histogram(err, bins=HISTOGRAM_BINS)
    return RegressionMetrics(
        n=n,
        mae=float(np.mean(abs_err)),
        rmse=float(np.sqrt(mse)),
        mape=mape,
        mape_excluded=mape_excluded,
        mape_eps=mape_eps,
        r2=r2,
        mean_error=float(np.mean(err)),
        mean_label=float(np.mean(y)),
        mean_prediction=float(np.mean(yhat)),
        abs_error_quantiles={
            f"p{round(q * 100)}": float(v) for q, v in zip(QUANTILES, qs, strict=True)
        },
        error_histogram={"edges": edges.tolist(), "counts": counts.tolist()},
        excluded=excluded,
        reasons=reasons,
    )


def _r2(y: np.ndarray, err: np.ndarray, reasons: dict[str, str]) -> float | None:
    """R² (`r2_score`); None with a reason below two rows or with constant labels."""
    ss_tot = float(np.sum((y - np.mean(y)) ** 2))
    if len(y) < 2:
        reasons["r2"] = "R² needs at least two rows"
    elif ss_tot == 0.0:
        reasons["r2"] = "labels are constant: R² is undefined"
    else:
        return 1.0 - float(np.sum(err * err)) / ss_tot
    return None


def _mape(
    y: np.ndarray, abs_err: np.ndarray, mape_eps: float, reasons: dict[str, str]
) -> tuple[float | None, int]:
    """(MAPE over rows with |label| >= mape_eps, how many rows it left out)."""
    keep = np.abs(y) >= mape_eps
    mape_excluded = int(len(y) - keep.sum())
    if not keep.any():
        reasons["mape"] = f"every label has |label| < {mape_eps:g}: MAPE is undefined"
        return None, mape_excluded
    if mape_excluded:
        reasons["mape"] = f"{mape_excluded} rows with |label| < {mape_eps:g} excluded"
    return float(np.mean(abs_err[keep] / np.abs(y[keep]))), mape_excluded
