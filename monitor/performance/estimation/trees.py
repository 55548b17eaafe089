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

from monitor.performance.estimation import forest

THREADS = 1  # OpenMP threads while fitting: the GBM crawls under CPU oversubscription
TREES = 30  # boosting iterations ...
LEARNING_RATE = 0.3  # ... at 3 × scikit-learn's default rate: as accurate as 100 at 0.1 on
# the benchmark (bench/RESULTS.md, "DLE cost (b17-dle)"), and a window predicts 3.3× fewer trees
# Every HistGradientBoostingRegressor setting of the loss GBMs (bench/estimate_dle_grid.py swaps
# this dict to compare tree configurations on the same windows).
PARAMS: dict[str, Any] = {
    "max_iter": TREES,
    "learning_rate": LEARNING_RATE,
    "early_stopping": False,
}


def fit_gbm(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Fit a squared-error HistGradientBoostingRegressor and export it."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingRegressor(random_state=seed, **PARAMS)
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


CHUNK_CELLS = 4_000_000  # trees × rows walked at once (int64 node ids: 32 MB)


def compile_model(model: dict[str, Any]) -> dict[str, np.ndarray]:
    """The exported trees as one flat node table (child ids offset per tree) and the roots,
    so that `predict` walks every tree and row at once."""
    trees = model["trees"]
    sizes = np.array([len(t["leaf"]) for t in trees], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)

    def flat(key: str, dtype: Any) -> np.ndarray:
        parts = [np.asarray(t[key], dtype=dtype) for t in trees]
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    leaf = flat("leaf", bool)
    shift = np.repeat(offsets, sizes)
    out = {
        "feature": flat("feature", np.int64),
        "threshold": np.array([float(v) for t in trees for v in t["threshold"]]),
        "missing_left": flat("missing_left", bool),
        "left": np.where(leaf, 0, flat("left", np.int64) + shift),
        "right": np.where(leaf, 0, flat("right", np.int64) + shift),
        "leaf": leaf,
        "value": flat("value", float),
        "roots": offsets,
    }
    return out


def _walk(c: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Every (tree, row) cell descends one level per step; cells that reached a leaf drop out."""
    m, d = x.shape
    flat_x = np.ascontiguousarray(x, dtype=float).ravel()
    node = np.repeat(c["roots"], m)  # cell = tree * m + row
    base = np.tile(np.arange(m, dtype=np.int64) * d, c["roots"].size)
    active = np.flatnonzero(~c["leaf"][node])
    while active.size:
        n = node[active]
        values = flat_x[base[active] + c["feature"][n]]
        go_left = np.where(np.isnan(values), c["missing_left"][n], values <= c["threshold"][n])
        n = np.where(go_left, c["left"][n], c["right"][n])
        node[active] = n
        active = active[~c["leaf"][n]]
    return c["value"][node].reshape(c["roots"].size, m).sum(axis=0)


_CACHE: dict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = {}
MAX_CACHED = 16  # fitted states whose rebuilt predictors are kept (a replica's few monitors)


def _cached(kind: str, models: tuple[dict[str, Any], ...], build: Any) -> Any:
    """`build()`, once per tuple of model objects (every window of a monitor reuses its
    loaded state: rebuilding 100 trees cost ~25 ms per window). Keyed by identity; the entry
    holds the models, so their ids cannot be reused while cached."""
    key = (hash(kind), *(id(m) for m in models))
    found = _CACHE.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], models, strict=True)):
        return found[1]
    built = build()
    if len(_CACHE) >= MAX_CACHED:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (models, built)
    return built


def cached_predictors(model: dict[str, Any]) -> list[Any] | None:
    """`sklearn_predictors(model)`, rebuilt once per state object."""
    return _cached("sklearn", (model,), lambda: sklearn_predictors(model))


def cached_forest(models: tuple[dict[str, Any], ...], features: int) -> forest.Forest | None:
    """The models' bitmask tables (`forest.py`), built once per tuple of state objects."""
    return _cached(f"forest{features}", models, lambda: forest.build(list(models), features))


def sklearn_predictors(model: dict[str, Any]) -> list[Any] | None:
    """The exported trees rebuilt as scikit-learn's compiled `TreePredictor`s (numbers in,
    no pickles), ~10x faster than the numpy walk; None where this scikit-learn's private
    layout differs (then `predict` walks in numpy, which gives the same values)."""
    try:
        from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    except ImportError:  # pragma: no cover - depends on the installed scikit-learn
        return None
    out = []
    for tree in model["trees"]:
        nodes = np.zeros(len(tree["leaf"]), dtype=PREDICTOR_RECORD_DTYPE)
        nodes["value"] = tree["value"]
        nodes["feature_idx"] = tree["feature"]
        nodes["num_threshold"] = [float(t) for t in tree["threshold"]]
        nodes["missing_go_to_left"] = tree["missing_left"]
        nodes["left"] = tree["left"]
        nodes["right"] = tree["right"]
        nodes["is_leaf"] = tree["leaf"]
        no_cats = np.zeros((0, 8), dtype=np.uint32)
        out.append(TreePredictor(nodes, no_cats, no_cats))
    return out


def _predict_sklearn(predictors: list[Any], x: np.ndarray) -> np.ndarray | None:
    x = np.ascontiguousarray(x, dtype=np.float64)
    no_cats = np.zeros((0, 8), dtype=np.uint32)
    f_idx_map = np.zeros(x.shape[1], dtype=np.uint32)
    out = np.zeros(x.shape[0])
    try:
        for p in predictors:  # summed in place: one array of rows, not one per tree
            out += p.predict(x, no_cats, f_idx_map, THREADS)
    except (TypeError, ValueError):  # pragma: no cover - a scikit-learn with another signature
        return None
    return out


def predict_many(models: tuple[dict[str, Any], ...], x: np.ndarray) -> list[np.ndarray]:
    """Every model's `predict` for the rows of `x`, the features binned once for all (leaf
    bitmasks, `forest.py`); trees of more than 32 leaves go through `predict` one by one."""
    built = cached_forest(models, x.shape[1])
    if built is None:
        return [predict(m, x, how="sklearn") for m in models]
    return forest.predict_all(built, x)


def predict(model: dict[str, Any], x: np.ndarray, *, how: str = "bitmask") -> np.ndarray:
    """Sum of the trees' leaf values plus the baseline, for every row of `x`: by leaf bitmasks
    (`forest.py`), by scikit-learn's compiled predictor rebuilt from the numbers ("sklearn"),
    or by the numpy level walk ("walk"). Tests pin all three to scikit-learn."""
    if how == "bitmask":
        return predict_many((model,), x)[0]
    predictors = cached_predictors(model) if how == "sklearn" else None
    if predictors is not None:
        summed = _predict_sklearn(predictors, x)
        if summed is not None:
            return float(model["baseline"]) + summed
    c = compile_model(model)
    out = np.full(x.shape[0], float(model["baseline"]))
    if c["roots"].size == 0:
        return out
    step = max(1, CHUNK_CELLS // c["roots"].size)
    for start in range(0, x.shape[0], step):
        out[start : start + step] += _walk(c, x[start : start + step])
    return out
