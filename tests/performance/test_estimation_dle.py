"""DLE: exported trees predict exactly as scikit-learn; estimates, bands, JSON state."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge

from monitor.errors import EstimationError
from monitor.performance.estimation import dle, forest, regression_data
from monitor.performance.estimation.trees import export, predict, predict_many


def diabetes(seed=0):
    x, y = load_diabetes(return_X_y=True)
    perm = np.random.default_rng(seed).permutation(len(y))
    return x[perm], y[perm]


def test_exported_trees_predict_like_sklearn_with_missing_values():
    x, y = diabetes()
    x = x.copy()
    x[np.random.default_rng(1).random(x.shape) < 0.1] = np.nan  # learn NaN directions
    model = HistGradientBoostingRegressor(random_state=0, early_stopping=False).fit(
        x[:300], y[:300]
    )
    state = json.loads(json.dumps(export(model), allow_nan=False))
    for how in ("bitmask", "sklearn", "walk"):  # leaf bitmasks, the compiled walk, numpy
        got = predict(state, x[300:], how=how)
        np.testing.assert_allclose(got, model.predict(x[300:]), rtol=1e-12)


def test_leaf_bitmasks_equal_sklearn_bit_for_bit_for_several_models_at_once():
    """Both losses' ensembles binned once: every value equals scikit-learn's compiled
    predictor exactly (same comparisons, leaves summed tree by tree), NaN rows included;
    a tree of more than 32 leaves falls back to the compiled predictor."""
    x, y = diabetes()
    x = x.copy()
    x[np.random.default_rng(2).random(x.shape) < 0.1] = np.nan
    x[:5, 0] = [np.inf, -np.inf, 0.0, np.nan, 1e300]  # extremes go the way sklearn sends them
    models = []
    for target, leaves in ((np.abs(y - y.mean()), 31), ((y - y.mean()) ** 2, 7)):
        gbm = HistGradientBoostingRegressor(
            random_state=0, early_stopping=False, max_leaf_nodes=leaves, min_samples_leaf=3
        ).fit(x[:300], target[:300])
        models.append((gbm, json.loads(json.dumps(export(gbm), allow_nan=False))))
        assert max(sum(t["leaf"]) for t in models[-1][1]["trees"]) == leaves  # all 32 bits used
    got = predict_many(tuple(state for _, state in models), x)
    built = forest.build([state for _, state in models], x.shape[1])
    assert built is not None and any((s > 0).sum() > 1 for s, _ in built.groups)  # shared tables
    for (gbm, state), values in zip(models, got, strict=True):
        np.testing.assert_array_equal(values, predict(state, x, how="sklearn"))
        np.testing.assert_allclose(values, gbm.predict(x), rtol=1e-12)
    wide = HistGradientBoostingRegressor(
        random_state=0, early_stopping=False, max_leaf_nodes=40, min_samples_leaf=2, max_iter=5
    ).fit(x[:300], y[:300])
    assert max(sum(t["leaf"]) for t in export(wide)["trees"]) > 32
    (values,) = predict_many((export(wide),), x)
    np.testing.assert_allclose(values, wide.predict(x), rtol=1e-12)


def fitted(seed=0):
    x, y = diabetes(seed)
    model = Ridge().fit(x[:150], y[:150])
    ref = regression_data(x[150:300], model.predict(x[150:300]), y[150:300])
    return model, x, y, dle.fit(ref)


def test_estimate_is_mean_of_learnt_losses_and_realised_is_exact():
    model, x, y, state = fitted()
    window = regression_data(x[300:], model.predict(x[300:]), y[300:])
    est = dle.estimate(state, window)
    inputs = np.column_stack([x[300:], model.predict(x[300:])])
    abs_hat = np.maximum(predict(state["abs"]["model"], inputs), 0)
    sq_hat = np.maximum(predict(state["sq"]["model"], inputs), 0)
    assert est.metrics["mae"].value == pytest.approx(abs_hat.mean(), rel=1e-12)
    assert est.metrics["mse"].value == pytest.approx(sq_hat.mean(), rel=1e-12)
    assert est.metrics["rmse"].value == pytest.approx(np.sqrt(sq_hat.mean()), rel=1e-12)
    err = y[300:] - model.predict(x[300:])
    assert est.metrics["mae"].realised == pytest.approx(np.abs(err).mean(), rel=1e-12)
    assert est.metrics["rmse"].realised == pytest.approx(np.sqrt((err**2).mean()), rel=1e-12)


def test_fit_is_deterministic_and_json():
    _, _, _, state = fitted()
    _, _, _, again = fitted()
    assert json.dumps(state, allow_nan=False) == json.dumps(again, allow_nan=False)


def test_band_covers_realised_mae_and_shrinks_with_window_size():
    model, x, y, state = fitted()
    rest = np.arange(300, len(y))
    rng = np.random.default_rng(2)
    hits, width = {20: [], 120: []}, {20: [], 120: []}
    for size in hits:
        for _ in range(40):
            rows = rng.choice(rest, size, replace=False)
            m = dle.estimate(state, regression_data(x[rows], model.predict(x[rows]), y[rows]))
            mae = m.metrics["mae"]
            hits[size].append(mae.lower <= mae.realised <= mae.upper)
            width[size].append(mae.upper - mae.lower)
    assert np.mean(hits[20]) >= 0.9 and np.mean(hits[120]) >= 0.9
    assert np.median(width[120]) < np.median(width[20])


def test_needs_labels_and_matching_features():
    x, y = diabetes()
    with pytest.raises(EstimationError, match="target"):
        dle.fit(regression_data(x[:100], y[:100]))
    _, _, _, state = fitted()
    with pytest.raises(EstimationError, match="features"):
        dle.estimate(state, regression_data(x[:10, :3], y[:10]))


def test_reference_error_comes_from_out_of_fold_predictions_of_every_row():
    """Cross-fitting by hand: each fold predicted by a GBM fitted on the other folds."""
    from monitor.performance.estimation.trees import fit_gbm

    x, y = diabetes()
    model = Ridge().fit(x[:150], y[:150])
    ref = regression_data(x[150:], model.predict(x[150:]), y[150:])
    state = dle.fit(ref)
    inputs, loss = ref.inputs(), np.abs(ref.target - ref.prediction)
    fold = np.random.default_rng(dle.SEED).permutation(ref.rows) % dle.FOLDS
    held = np.empty(ref.rows)
    for f in range(dle.FOLDS):
        gbm = fit_gbm(inputs[fold != f], loss[fold != f], dle.SEED)
        held[fold == f] = np.maximum(predict(gbm, inputs[fold == f]), 0)
    resid = loss - held
    se = resid.std(ddof=1) / np.sqrt(ref.rows)
    assert state["abs"]["reference_error"] == pytest.approx(max(abs(resid.mean()), se))
    kappa = np.mean(resid**2) / np.mean(held**2)
    assert state["abs"]["kappa"] == pytest.approx(kappa)
    # the stored model learnt from every reference row
    np.testing.assert_allclose(
        predict(state["abs"]["model"], inputs), predict(fit_gbm(inputs, loss, dle.SEED), inputs)
    )


def test_large_reference_fits_on_a_sample_and_measures_on_the_other_rows(monkeypatch):
    from monitor.performance.estimation.trees import fit_gbm

    monkeypatch.setattr(dle, "FIT_ROWS", 100)
    x, y = diabetes()
    model = Ridge().fit(x[:100], y[:100])
    ref = regression_data(x[100:], model.predict(x[100:]), y[100:])  # 342 > 2 × 100 rows
    state = dle.fit(ref)
    inputs, loss = ref.inputs(), (ref.target - ref.prediction) ** 2
    rows = np.random.default_rng(dle.SEED).permutation(ref.rows)
    train, hold = np.sort(rows[:100]), np.sort(rows[100:200])  # 142 rows are in neither
    gbm = fit_gbm(inputs[train], loss[train], dle.SEED)
    resid = loss[hold] - np.maximum(predict(gbm, inputs[hold]), 0)
    se = resid.std(ddof=1) / np.sqrt(resid.size)
    assert state["sq"]["fit_rows"] == 100
    assert state["sq"]["reference_error"] == pytest.approx(max(abs(resid.mean()), se))
    np.testing.assert_allclose(predict(state["sq"]["model"], inputs), predict(gbm, inputs))
