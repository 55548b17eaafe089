"""Null thresholds learned from the reference: stored, interpolated, and nominal on real data."""

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer

from monitor.drift.calibration import LEVELS, NullCalibration, calibrate, inflation
from monitor.drift.nullstats import binned_many, wasserstein_many
from monitor.errors import DriftError

CANCER = load_breast_cancer(as_frame=True).frame.drop(columns="target")


def test_json_round_trip_keeps_every_number():
    frame = CANCER.iloc[:, :3].assign(grade=pd.Series(list("abcab") * 113 + ["a"] * 4))
    cal = calibrate(frame, methods={"mean radius": ("wasserstein_normed", "ks", "psi")}, seed=1)
    back = NullCalibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back == cal
    assert set(cal.features) == {
        "mean radius:wasserstein_normed",
        "mean radius:ks",
        "mean radius:psi",
        "mean texture",
        "mean perimeter",
        "grade",
    }
    assert cal.features["grade"].method == "jensenshannon"


def test_grid_sizes_give_stored_quantiles_and_between_is_monotone():
    f = calibrate(CANCER[["mean area"]], seed=2).features["mean area"]
    i = f.sizes.index(200)
    stored = np.asarray(f.quantiles[i]) * inflation(200, f.reference_rows, "bootstrap")
    assert f.quantiles_at(200) == pytest.approx(np.maximum.accumulate(stored))
    q95 = [f.threshold(m, 0.95) for m in (50, 70, 100, 300, 1000, 5000)]
    assert all(a > b for a, b in itertools.pairwise(q95))  # shrinks with m
    for level in (0.5, 0.9, 0.99, 0.999, 0.99999):  # threshold and score are inverses
        assert f.z_score(f.threshold(300, level), 300) == pytest.approx(
            float(stats.norm.ppf(level)), abs=1e-9
        )
    assert math.isnan(f.p_value(math.nan, 300))


def test_vectorised_scores_equal_the_scalar_ones():
    """`z_scores` (many statistics at once) gives `z_score`'s numbers: inside the stored
    quantiles, on the tail line above them, NaN for NaN; numeric and a quadratic method."""
    cal = calibrate(CANCER[["mean area"]], methods={"mean area": ("wasserstein_normed", "psi")})
    for null in cal.features.values():
        top = null.threshold(700, 0.99999)
        stats_ = np.concatenate([np.linspace(0.0, top, 40), [math.nan]])
        got = null.z_scores(stats_, 700)
        want = [null.z_score(float(s), 700) for s in stats_]
        assert got[:-1] == pytest.approx(want[:-1], abs=1e-12)
        assert math.isnan(got[-1])
        assert got[-2] > stats.norm.isf(0.01)  # the tail line is exercised


def test_bad_input_is_a_clear_error():
    with pytest.raises(DriftError, match="cannot calibrate"):
        calibrate(CANCER[["mean area"]], methods={"mean area": ("tvd",)})
    with pytest.raises(DriftError, match="no non-missing"):
        calibrate(pd.DataFrame({"x": [np.nan, np.nan]}))
    with pytest.raises(DriftError, match="malformed"):
        NullCalibration.from_dict({"seed": 0, "features": {"x": {"name": "x"}}})


@pytest.mark.parametrize("m", [40, 150])
def test_false_positive_rate_is_near_nominal_on_real_data(m):
    """Reference and window are disjoint random rows of breast_cancer (30 features).

    Over random splits (the reference is part of the randomness, as the guarantee is
    stated), the share of (window, feature) pairs above the 0.95 / 0.99 null quantile is
    near 5% / 1%. Without the fresh-window inflation it is clearly above.
    """
    rng = np.random.default_rng(11)
    above = {0.95: [], 0.99: []}
    raw_above = []
    for split in range(12):
        order = rng.permutation(len(CANCER))
        ref, pool = CANCER.iloc[order[:250]], CANCER.iloc[order[250:]]
        cal = calibrate(ref, sizes=(20, 50, 100, 200), draws=400, seed=split)
        for col in CANCER.columns:
            r = np.sort(ref[col].to_numpy(float))
            windows = np.sort(
                np.stack(
                    [rng.choice(pool[col].to_numpy(float), m, replace=False) for _ in range(30)]
                ),
                axis=1,
            )
            w = wasserstein_many(r, windows)
            f = cal.features[col]
            for level in above:
                above[level].append(w >= f.threshold(m, level))
            raw = np.quantile(
                wasserstein_many(r, np.sort(rng.choice(r, (400, m)), axis=1)), 0.95
            )  # the bootstrap's own 0.95 quantile, not inflated
            raw_above.append(w >= raw)
    rate95, rate99 = np.mean(above[0.95]), np.mean(above[0.99])
    assert 0.035 <= rate95 <= 0.07, rate95
    assert 0.004 <= rate99 <= 0.02, rate99
    assert np.mean(raw_above) > rate95 + 0.02


def test_binned_methods_and_categoricals_calibrate():
    grade = pd.Series(np.random.default_rng(0).choice(["a", "b", "c"], 3000, p=[0.6, 0.3, 0.1]))
    cal = calibrate(pd.DataFrame({"g": grade}), sizes=(100, 1000), draws=300, seed=5)
    f = cal.features["g"]
    counts = grade.value_counts().to_numpy()
    rng = np.random.default_rng(9)
    js = binned_many(
        counts, rng.multinomial(100, counts / counts.sum(), size=4000), ("jensenshannon",)
    )
    share = np.mean(js["jensenshannon"] >= f.threshold(100, 0.95))
    assert 0.03 <= share <= 0.07, share
    assert len(f.levels) == len(LEVELS)
