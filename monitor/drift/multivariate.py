"""Domain-classifier drift: can a model tell reference rows from current rows?

Univariate tests miss drift spread thinly over many features or carried by their
correlations. A gradient-boosted classifier trained to separate the two windows sees both:
its cross-validated ROC AUC is 0.5 when the windows are exchangeable and grows with any
difference in the joint distribution.

Verdict: drifted when the mean out-of-fold AUC is at least `threshold` (default 0.55) AND
above chance by `min_z` standard errors. The standard error is the Mann-Whitney null one,
sqrt((n_r + n_c + 1) / (12 n_r n_c)) over the rows used; the chance check stops small
windows from alerting on noise, the threshold stops huge windows from alerting on trivia.
Each side is subsampled to `max_rows_per_side` (stated in the result) so a 1M-row window
costs the same as a 10k-row one (about a second on 2 cores for 25 columns).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor.errors import DriftError

__all__ = ["ClassifierOptions", "domain_classifier_drift"]

_MAX_CATEGORIES = 254  # HistGradientBoosting: categorical codes must be < max_bins (255)
_FINITE_CAP = 1e300  # the classifier rejects ±inf; keep their order without overflow


@dataclass(frozen=True)
class ClassifierOptions:
    """Knobs of the domain classifier; the defaults keep a 1M-row window under a few seconds."""

    threshold: float = 0.55
    min_z: float = 3.0
    max_rows_per_side: int = 5_000
    folds: int = 5
    max_iter: int = 50
    random_state: int = 0
    top_features: int = 5

    def __post_init__(self) -> None:
        if not 0.5 <= self.threshold < 1.0:
            raise DriftError(f"classifier threshold must be in [0.5, 1), got {self.threshold}")
        if self.folds < 2:
            raise DriftError(f"classifier folds must be >= 2, got {self.folds}")
        if self.max_rows_per_side < self.folds:
            raise DriftError("classifier max_rows_per_side must be at least the number of folds")


def domain_classifier_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    options: ClassifierOptions | None = None,
) -> dict:
    """Score how well a classifier separates the two frames; the dict for DriftReport.multivariate.

    `kinds` maps column -> "numeric" | "categorical" (the engine's inference); columns it does
    not name are inferred from the dtype (numbers are numeric, everything else categorical).
    """
    options = options or ClassifierOptions()
    columns = list(columns if columns is not None else reference.columns)
    if not columns:
        raise DriftError("domain classifier needs at least one column")
    ref = _subsample(reference, columns, options.max_rows_per_side, options.random_state)
    cur = _subsample(current, columns, options.max_rows_per_side, options.random_state + 1)
    n_ref, n_cur = len(ref), len(cur)
    if min(n_ref, n_cur) < options.folds:
        raise DriftError(
            f"domain classifier needs at least {options.folds} rows per side, "
            f"got {n_ref} reference and {n_cur} current"
        )
    features, is_categorical = _encode(ref, cur, columns, kinds or {})
    labels = np.concatenate([np.zeros(n_ref, dtype=np.int8), np.ones(n_cur, dtype=np.int8)])
    aucs, importances = _cross_validate(features, labels, is_categorical, options)
    score = float(np.mean(aucs))
    std_error = math.sqrt((n_ref + n_cur + 1) / (12.0 * n_ref * n_cur))
    z = (score - 0.5) / std_error
    return {
        "method": "domain_classifier",
        "score": score,
        "threshold": options.threshold,
        "drifted": bool(score >= options.threshold and z >= options.min_z),
        "z_vs_chance": z,
        "min_z": options.min_z,
        "fold_scores": [float(a) for a in aucs],
        "folds": options.folds,
        "rows_used": {"reference": n_ref, "current": n_cur},
        "max_rows_per_side": options.max_rows_per_side,
        "rows_total": {"reference": len(reference), "current": len(current)},
        "top_features": _top(columns, importances, options.top_features),
    }


def _subsample(frame: pd.DataFrame, columns: list[str], cap: int, seed: int) -> pd.DataFrame:
    """A fixed-seed sample without replacement, so the score is reproducible."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DriftError(f"domain classifier: columns missing from a frame: {missing!r}")
    frame = frame[columns]
    if len(frame) <= cap:
        return frame.reset_index(drop=True)
    rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=cap, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def _encode(
    ref: pd.DataFrame, cur: pd.DataFrame, columns: list[str], kinds: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """One float matrix (NaN = missing) and a mask of categorical columns coded 0..K-1."""
    out = np.empty((len(ref) + len(cur), len(columns)), dtype=np.float64)
    is_categorical = np.zeros(len(columns), dtype=bool)
    for j, name in enumerate(columns):
        both = pd.concat([ref[name], cur[name]], ignore_index=True)
        kind = kinds.get(name) or _infer_kind(both)
        if kind == "numeric":
            values = pd.to_numeric(both, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            out[:, j] = np.clip(values, -_FINITE_CAP, _FINITE_CAP)
        else:
            out[:, j] = _category_codes(both)
            is_categorical[j] = True
    return out, is_categorical


def _infer_kind(values: pd.Series) -> str:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    return "numeric" if numeric else "categorical"


def _category_codes(values: pd.Series) -> np.ndarray:
    """Codes by frequency; categories past the first 254 share one code (they are rare)."""
    present = values.notna()
    keys = values[present].astype(str)
    order = keys.value_counts(sort=True).index
    code_of = {k: min(i, _MAX_CATEGORIES - 1) for i, k in enumerate(order)}
    codes = np.full(len(values), np.nan)
    codes[present.to_numpy()] = keys.map(code_of).to_numpy(dtype=np.float64)
    return codes


def _cross_validate(
    features: np.ndarray, labels: np.ndarray, is_categorical: np.ndarray, options: ClassifierOptions
) -> tuple[list[float], np.ndarray]:
    """Out-of-fold AUC per fold; permutation importances on the last fold (one repeat: cheap)."""
    import sklearn.ensemble  # noqa: F401 - loads its OpenMP runtime before the limit is set

    from monitor.threads import native_limits

    with native_limits():  # OpenMP sized by the thread budget, not to the whole machine
        return _folds(features, labels, is_categorical, options)


def _folds(
    features: np.ndarray, labels: np.ndarray, is_categorical: np.ndarray, options: ClassifierOptions
) -> tuple[list[float], np.ndarray]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=options.folds, shuffle=True, random_state=options.random_state)
    aucs: list[float] = []
    model, test = None, None
    for train, test in folds.split(features, labels):
        model = HistGradientBoostingClassifier(
            max_iter=options.max_iter,
            categorical_features=is_categorical if is_categorical.any() else None,
            early_stopping=False,
            random_state=options.random_state,
        )
        model.fit(features[train], labels[train])
        aucs.append(float(roc_auc_score(labels[test], model.predict_proba(features[test])[:, 1])))
    importances = _permutation_drop(model, features[test], labels[test], aucs[-1], options)
    return aucs, importances


def _permutation_drop(model, features, labels, auc, options: ClassifierOptions) -> np.ndarray:
    """AUC lost when one column is shuffled: which features carry the separation."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(options.random_state)
    drops = np.zeros(features.shape[1])
    for j in range(features.shape[1]):
        shuffled = features.copy()
        shuffled[:, j] = rng.permutation(shuffled[:, j])
        drops[j] = auc - roc_auc_score(labels, model.predict_proba(shuffled)[:, 1])
    return drops


def _top(columns: list[str], importances: np.ndarray, k: int) -> list[dict]:
    order = np.argsort(-importances, kind="stable")[:k]
    return [
        {"name": columns[i], "auc_drop": float(importances[i])} for i in order if importances[i] > 0
    ]
