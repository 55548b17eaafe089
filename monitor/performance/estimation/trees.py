"""scikit-learn's histogram gradient boosting, exported as numbers and predicted in numpy.

The fitted regressor's trees are plain arrays (feature, threshold, NaN direction, children,
leaf value), so a fitted DLE is stored as JSON and applied without pickles. `predict` follows
scikit-learn's numeric split rule (NaN -> the learnt side, else x <= threshold -> left) and
is pinned to `HistGradientBoostingRegressor.predict` by a test. Categorical splits are not
exported: the estimators feed categories as ordinal codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

THREADS = 1  # OpenMP threads while fitting: the GBM crawls under CPU oversubscription


def fit_gbm(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Fit a squared-error HistGradientBoostingRegressor and export it."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingRegressor(random_state=seed, early_stopping=False, max_iter=100)
    with threadpool_limits(limits=THREADS):
        model.fit(x, y)
    return export(model)


def export(model: Any) -> dict[str, Any]:
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        trees.append(
            {
                "feature": nodes["feature_idx"].tolist(),
                "threshold": [_number(t) for t in np.where(leaf, 0.0, nodes["num_threshold"])],
                "missing_left": nodes["missing_go_to_left"].astype(int).tolist(),
                "left": nodes["left"].astype(int).tolist(),
                "right": nodes["right"].astype(int).tolist(),
                "leaf": leaf.astype(int).tolist(),
                "value": nodes["value"].tolist(),
            }
        )
    return {"baseline": float(np.ravel(model._baseline_prediction)[0]), "trees": trees}


def _number(value: float) -> float | str:
    """JSON has no infinity: a split sending every number left (NaN right) has +inf."""
    return float(value) if np.isfinite(value) else str(float(value))


def _tree_predict(tree: dict[str, Any], x: np.ndarray) -> np.ndarray:
    feature = np.asarray(tree["feature"], dtype=np.int64)
    threshold = np.array([float(t) for t in tree["threshold"]])
    missing_left = np.asarray(tree["missing_left"], dtype=bool)
    left = np.asarray(tree["left"], dtype=np.int64)
    right = np.asarray(tree["right"], dtype=np.int64)
    leaf = np.asarray(tree["leaf"], dtype=bool)
    rows = np.arange(x.shape[0])
    node = np.zeros(x.shape[0], dtype=np.int64)
    for _ in range(leaf.size):
        inner = ~leaf[node]
        if not inner.any():
            break
        values = x[rows, feature[node]]
        go_left = np.where(np.isnan(values), missing_left[node], values <= threshold[node])
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)
    return np.asarray(tree["value"], dtype=float)[node]


def predict(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape[0], float(model["baseline"]))
    for tree in model["trees"]:
        out += _tree_predict(tree, x)
    return out
