"""The vectorised null statistics equal the engine's, draw by draw, on real data."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_digits

from monitor.drift import DriftOptions, FeatureOptions, bin_counts, compare, quantile_edges
from monitor.drift import count_stats as count_stats
from monitor.drift.nullstats import binned_many, ks_many, tie_bounds, wasserstein_many

rng = np.random.default_rng(3)
DIABETES = load_diabetes(as_frame=True).frame
DIGITS = load_digits(as_frame=True).frame  # integer pixels 0..16: heavy ties


@pytest.mark.parametrize(
    ("frame", "column"), [(DIABETES, "bmi"), (DIABETES, "sex"), (DIGITS, "pixel_2_3")]
)
@pytest.mark.parametrize("from_reference", [True, False])
def test_ks_and_wasserstein_equal_engine(frame, column, from_reference):
    ref = np.sort(frame[column].to_numpy(float))
    if from_reference:  # positions in the reference (the bootstrap path)
        idx = np.sort(rng.integers(0, ref.size, size=(6, 120)), axis=1)
        draws, pos = ref[idx], (idx, tie_bounds(ref))
    else:
        draws, pos = (
            np.sort(rng.choice(ref, size=(6, 90)) + rng.normal(0, 0.01, (6, 1)), axis=1),
            None,
        )
    w, d = wasserstein_many(ref, draws, pos), ks_many(ref, draws, pos)
    options = DriftOptions(workers=1, per_feature={"x": FeatureOptions(kind="numeric")})
    for i in range(draws.shape[0]):
        report = compare(pd.DataFrame({"x": ref}), pd.DataFrame({"x": draws[i]}), options)
        stats = report.features[0].stats
        assert w[i] == pytest.approx(stats["wasserstein_normed"], rel=1e-9, abs=1e-12)
        assert d[i] == pytest.approx(stats["ks"]["statistic"], rel=1e-12, abs=1e-15)


def test_tie_bounds_are_searchsorted():
    ref = np.sort(DIGITS["pixel_2_3"].to_numpy(float))
    start, end = tie_bounds(ref)
    assert np.array_equal(start, np.searchsorted(ref, ref, side="left"))
    assert np.array_equal(end, np.searchsorted(ref, ref, side="right"))


def test_binned_equal_public_functions():
    values = DIABETES["s5"].to_numpy(float)
    edges = quantile_edges(values, 10)
    r = bin_counts(values, edges)
    draws = np.array([bin_counts(rng.choice(values, 80), edges) for _ in range(5)])
    draws[0, 3] = 0  # an empty bin: the floor matters
    got = binned_many(r, draws, ("psi", "jensenshannon", "hellinger", "kl"))
    for name, values_ in got.items():
        want = [getattr(count_stats, name)(r, c) for c in draws]
        assert values_ == pytest.approx(want, rel=1e-10, abs=1e-14)
    cats = np.array([50, 30, 15, 5])
    tv = binned_many(cats, np.array([[10, 10, 0, 1]]), ("tvd",))["tvd"]
    assert tv[0] == pytest.approx(count_stats.tvd(cats, np.array([10, 10, 0, 1])))
