"""Domain-classifier drift: no alarm on exchangeable windows, alarms univariate tests miss."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from monitor.drift.multivariate import ClassifierOptions, domain_classifier_drift
from monitor.errors import DriftError

N = 5_000


def _normal_frame(rng: np.random.Generator, n: int, p: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(rng.normal(size=(n, p)) + shift, columns=[f"f{i}" for i in range(p)])


def test_independent_samples_from_one_distribution_score_near_chance():
    rng = np.random.default_rng(11)
    ref, cur = _normal_frame(rng, N, 10), _normal_frame(rng, N, 10)
    ref["c"] = rng.choice(["a", "b", "c"], size=N)
    cur["c"] = rng.choice(["a", "b", "c"], size=N)
    result = domain_classifier_drift(ref, cur)
    assert abs(result["score"] - 0.5) < 0.03
    assert result["drifted"] is False
    assert result["rows_used"] == {"reference": N, "current": N}
    assert len(result["fold_scores"]) == result["folds"] == 5


def test_correlation_change_with_unchanged_marginals_is_detected():
    rng = np.random.default_rng(12)
    ref = _normal_frame(rng, N, 4)
    cur = _normal_frame(rng, N, 4)
    common = rng.normal(size=N)
    rho = 0.8  # x0 and x1 stay N(0, 1) but become correlated
    cur["f0"] = np.sqrt(1 - rho**2) * cur["f0"] + rho * common
    cur["f1"] = np.sqrt(1 - rho**2) * cur["f1"] + rho * common
    # the univariate tests see nothing: every marginal KS p-value is above 0.05 / 4
    assert min(stats.ks_2samp(ref[c], cur[c]).pvalue for c in ref.columns) > 0.05 / 4
    result = domain_classifier_drift(ref, cur)
    assert result["drifted"] is True
    assert result["score"] > 0.6
    assert {f["name"] for f in result["top_features"][:2]} == {"f0", "f1"}


def test_thin_shift_over_many_features_is_detected_below_univariate_thresholds():
    rng = np.random.default_rng(13)
    n, p, shift = 10_000, 40, 0.06
    ref, cur = _normal_frame(rng, n, p), _normal_frame(rng, n, p, shift)
    # each feature's normed Wasserstein distance stays below the default 0.1 threshold
    normed = [stats.wasserstein_distance(ref[c], cur[c]) / np.std(ref[c]) for c in ref.columns]
    assert max(normed) < 0.1
    result = domain_classifier_drift(ref, cur, options=ClassifierOptions(max_rows_per_side=n))
    assert result["drifted"] is True
    assert result["z_vs_chance"] >= 3


def test_subsampling_caps_rows_and_is_reproducible():
    rng = np.random.default_rng(14)
    ref, cur = _normal_frame(rng, 3_000, 3), _normal_frame(rng, 2_000, 3, 1.0)
    options = ClassifierOptions(max_rows_per_side=500, folds=3, max_iter=20)
    first = domain_classifier_drift(ref, cur, options=options)
    assert first == domain_classifier_drift(ref, cur, options=options)
    assert first["rows_used"] == {"reference": 500, "current": 500}
    assert first["rows_total"] == {"reference": 3_000, "current": 2_000}
    assert first["drifted"] is True  # a 1-sigma shift: the AUC is about 0.76


def test_score_is_the_mean_of_fold_aucs_computed_by_sklearn():
    rng = np.random.default_rng(15)
    ref, cur = _normal_frame(rng, 400, 2), _normal_frame(rng, 400, 2, 0.5)
    result = domain_classifier_drift(ref, cur, options=ClassifierOptions(folds=4, max_iter=10))
    assert result["score"] == pytest.approx(np.mean(result["fold_scores"]), rel=1e-12)
    # chance check: z = (AUC - 0.5) / sqrt((n_r + n_c + 1) / (12 n_r n_c))
    se = np.sqrt((400 + 400 + 1) / (12 * 400 * 400))
    assert result["z_vs_chance"] == pytest.approx((result["score"] - 0.5) / se, rel=1e-12)


def test_missing_values_infinities_and_categories_are_accepted():
    rng = np.random.default_rng(16)
    ref = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(["é", "b", None], size=600)})
    cur = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(["é", "b", None], size=600)})
    ref.loc[::7, "x"] = np.nan
    cur.loc[::11, "x"] = np.inf
    result = domain_classifier_drift(ref, cur, options=ClassifierOptions(folds=3, max_iter=20))
    assert 0.0 <= result["score"] <= 1.0


def test_too_few_rows_is_a_clear_error():
    rng = np.random.default_rng(17)
    with pytest.raises(DriftError, match="at least 5 rows per side"):
        domain_classifier_drift(_normal_frame(rng, 3, 2), _normal_frame(rng, 50, 2))
